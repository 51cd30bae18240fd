"""The control API: HTTP + JSON served on the daemon's Unix socket."""

from azsyncd.api.app import create_app

__all__ = ["create_app"]
