"""Runtime state in peewee: tenants' status, sync runs and their records, what was pushed."""

from azsyncd.state.database import open_database
from azsyncd.state.repository import State

__all__ = ["State", "open_database"]
