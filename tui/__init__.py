"""The azsync TUI: a Textual app that drives azsyncd through its control socket only."""
