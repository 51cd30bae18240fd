"""azsync: keep a help desk's contacts in step with Microsoft Entra ID.

The package is the core (configuration, state, sources, targets, the sync engine) and the
daemon built on it (scheduler, control API). Nothing here imports the TUI toolkit.
"""

import sys

__version__ = "0.1.0"

# httpx imports its command-line tool (click, rich, pygments: about 110 ms and 10 MB a
# process) whenever those happen to be installed, as they are beside the TUI; azsync never
# runs it. A None entry makes that one import fail, which httpx expects and handles.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
