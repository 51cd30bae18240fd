"""``azsync-tui``: the admin's terminal UI, over SSH."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="azsync-tui", description="Manage azsyncd from the terminal."
    )
    parser.add_argument(
        "--socket", help="control socket (default: $AZSYNCD_SOCKET, then the service's)"
    )
    args = parser.parse_args(argv)
    try:
        from tui.app import AzsyncApp
    except ModuleNotFoundError as exc:
        if exc.name != "textual":
            raise
        print(
            "azsync-tui: the TUI's toolkit (textual) is not installed; install it with"
            " pip install --require-hashes -r requirements/tui.lock (or pip install"
            " 'azsync[tui]')",
            file=sys.stderr,
        )
        return 2

    AzsyncApp(socket=args.socket).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
