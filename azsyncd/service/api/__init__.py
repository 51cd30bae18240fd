"""The control API: HTTP + JSON served on the daemon's Unix socket."""

from azsyncd.service.api.app import create_app

__all__ = ["create_app"]
