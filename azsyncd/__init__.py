"""azsync: keep a help desk's contacts in step with Microsoft Entra ID.

The package is the core (configuration, state, sources, targets, the sync engine) and the
daemon built on it (scheduler, control API). Nothing here imports the TUI toolkit.
"""

__version__ = "0.1.0"
