"""``azsyncd``: run the daemon, check a configuration, or start the demo."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import azsyncd.targets.registry  # declares the [target.<kind>] tables to the config
from azsyncd import __version__, logs, paths
from azsyncd.config import file as config_file
from azsyncd.errors import ConfigError, StateError, UserError

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azsyncd", description="Keep help desk contacts in step with Microsoft Entra ID."
    )
    parser.add_argument("--version", action="version", version=f"azsyncd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon in the foreground")
    run.add_argument(
        "--config",
        help="configuration file (default: $AZSYNCD_CONFIG, /etc/azsyncd/azsyncd.toml, "
        "$XDG_CONFIG_HOME/azsyncd/azsyncd.toml)",
    )
    run.add_argument(
        "--socket",
        help="control socket path (default: $AZSYNCD_SOCKET, [control] socket, "
        "/run/azsyncd/azsyncd.sock as a service)",
    )
    run.add_argument(
        "--state-dir",
        help="where the state database lives (default: $STATE_DIRECTORY or XDG data dir)",
    )
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])

    check = commands.add_parser(
        "check-config", help="validate a configuration file; exit 0, or 2 listing every problem"
    )
    check.add_argument("--config")

    demo = commands.add_parser(
        "demo", help="run a demo daemon on a simulated directory and the built-in store"
    )
    demo.add_argument(
        "--target",
        default="local",
        help="the help desk to write to: the built-in store (local, the default) or a "
        "simulated account of another (e.g. freshservice)",
    )
    demo.add_argument("--socket", help="control socket path (default: a temporary directory)")
    demo.add_argument(
        "--dir", help="keep the demo's config and state here (default: a temporary directory)"
    )
    demo.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def socket_for(explicit: str | None, configured: str) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get("AZSYNCD_SOCKET"):
        return Path(os.environ["AZSYNCD_SOCKET"])
    return Path(configured) if configured else paths.daemon_socket_path()


def _run(args: argparse.Namespace) -> int:
    from azsyncd.service.daemon import Daemon
    from azsyncd.service.socket.server import serve

    logs.setup(args.log_level)
    # The same permission checks as check-config; a secret file not written yet is no reason
    # not to start (its tenant shows why it cannot sync).
    loaded = config_file.load(
        config_file.find_config(args.config), check_files=True, missing_ok=True
    )
    daemon = Daemon(
        loaded, state_dir=Path(args.state_dir) if args.state_dir else None, sync_process=True
    )
    return serve(daemon, socket_for(args.socket, loaded.config.control.socket))


def _check(args: argparse.Namespace) -> int:
    path = config_file.find_config(args.config)
    loaded = config_file.load(path, check_files=True)
    tenants = len(loaded.config.tenants)
    print(
        f"{path}: OK ({tenants} tenant{'s' if tenants != 1 else ''}, target "
        f"{loaded.config.target.kind})"
    )
    scope = loaded.config.scope
    if scope.active:
        print(
            f"  scope: include {scope.include or 'everyone'}, exclude {scope.exclude or 'no one'}"
        )
    for tenant in loaded.config.tenants:
        if tenant.scope is not None and tenant.scope.active:
            print(
                f"  scope of {tenant.name}: include {tenant.scope.include},"
                f" exclude {tenant.scope.exclude}"
            )
    target = azsyncd.targets.registry.spec(loaded.config.target.kind)
    if target.limits is not None and loaded.config.target.settings is not None:
        budget = target.limits(loaded.config.target.settings).per_minute
        print(
            "  help desk calls a minute, at most: "
            + ", ".join(f"{v} {k}" for k, v in budget.items())
        )
    if target.describe is not None and loaded.config.target.settings is not None:
        for line in target.describe(loaded.config.target.settings):
            print(f"  target: {line}")
    thresholds = loaded.config.sync.thresholds
    if thresholds.active:
        limits = ", ".join(f"{k} {v}" for k, v in thresholds.model_dump().items() if v is not None)
        print(f"  runs are held past: {limits} (per tenant)")
    alerts = loaded.config.alerts
    if alerts.enabled:
        to = [
            *alerts.email_to,
            *([urlsplit(alerts.webhook_url).netloc] if alerts.webhook_url else []),
        ]
        print(
            f"  alerts go to: {', '.join(to)}"
            + (f"; stale after {alerts.stale_hours} h" if alerts.stale_hours else "")
        )
    if loaded.config.metrics.textfile:
        print(f"  metrics textfile: {loaded.config.metrics.textfile}")
    return _check_help_desk(loaded)


def _check_help_desk(loaded: config_file.LoadedConfig) -> int:
    """A target that writes a value of its own (HappyFox's custom-field mark) needs the help
    desk set up for it: read its fields once and say what is missing, with the fix."""
    from peewee import SqliteDatabase

    from azsyncd.errors import SecretError, TargetError
    from azsyncd.targets.base import setup_problems
    from azsyncd.targets.factory import build_target
    from azsyncd.targets.registry import spec

    config = loaded.config
    kind = spec(config.target.kind)
    if kind.written is None or not kind.written(config.target.settings):
        return EXIT_OK
    try:  # a database of its own: the check leaves the daemon's state alone
        target = build_target(config, loaded.directory, SqliteDatabase(":memory:"))
        try:
            target.fields()
            problems = setup_problems(target)
        finally:
            target.close()
    except (TargetError, SecretError) as exc:
        print(f"  the help desk's fields could not be read to check it: {exc.message}")
        return EXIT_OK
    if not problems:
        print("  the help desk has what these settings need")
        return EXIT_OK
    print(f"azsyncd: the help desk is not set up for {loaded.path}:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem.key}: {problem.message}; fix: {problem.fix}", file=sys.stderr)
    return EXIT_CONFIG


def _demo(args: argparse.Namespace) -> int:
    from azsyncd.demo.run import run_demo

    logs.setup(args.log_level)
    return run_demo(socket=args.socket, directory=args.dir, target=args.target)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"run": _run, "check-config": _check, "demo": _demo}[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"azsyncd: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (UserError, StateError) as exc:
        print(f"azsyncd: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
