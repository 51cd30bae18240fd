"""``azsyncctl``: the scripting client of the control socket.

Exit codes: 0 done; 1 the daemon refused (the message says why); 2 bad usage;
3 the daemon cannot be reached; 4 a waited-for sync ended without succeeding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from azsyncd.control.client import ApiFailure, Client
from azsyncd.errors import DaemonUnreachable

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_SYNC_FAILED = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azsyncctl", description="Control azsyncd through its socket."
    )
    parser.add_argument(
        "--socket", help="control socket (default: $AZSYNCD_SOCKET, then the service's)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the daemon's JSON answers, for scripts"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("status", help="daemon, schedule, running sync and tenants")
    sync = sub.add_parser("sync", help="start a sync")
    sync.add_argument("--dry-run", action="store_true", help="plan only, write nothing")
    sync.add_argument(
        "--wait", action="store_true", help="wait for the sync to end, showing progress"
    )
    sync.add_argument("--tenant", help="sync only this tenant")
    sync.add_argument("--user", help="sync one user, step by step")
    runs = sub.add_parser("runs", help="sync history")
    runs.add_argument("--limit", type=int, default=10)
    log = sub.add_parser("log", help="a run's log and records (default: the last sync)")
    log.add_argument("run", nargs="?", default="latest")
    log.add_argument("--status", choices=["success", "failed", "skipped", "unchanged"])
    log.add_argument("--search", default="", help="only emails containing this")
    log.add_argument("--csv", metavar="FILE", help="save the run's CSV report to FILE")

    tenants = sub.add_parser("tenants", help="list and manage tenants")
    tsub = tenants.add_subparsers(dest="action", metavar="ACTION")
    tsub.add_parser("list")
    for action in ("show", "enable", "disable", "delete", "authorize"):
        tsub.add_parser(action).add_argument("name")
    groups = tsub.add_parser("groups", help="search a tenant's groups by name")
    groups.add_argument("name")
    groups.add_argument("--search", default="")
    add = tsub.add_parser("add", help="add a tenant")
    add.add_argument("--name", required=True)
    add.add_argument("--tenant-id", required=True)
    add.add_argument("--client-id", required=True)
    add.add_argument("--auth", default="secret", choices=["secret", "certificate", "device_code"])
    add.add_argument("--client-secret-file")
    add.add_argument("--cloud", default="global")
    add.add_argument("--display-name", default="")

    settings = sub.add_parser("settings", help="show or change settings")
    ssub = settings.add_subparsers(dest="action", metavar="ACTION")
    ssub.add_parser("show")
    setp = ssub.add_parser(
        "set", help="e.g. schedule.enabled=true mapping.name='{givenName} {surname}'"
    )
    setp.add_argument("assignments", nargs="+", metavar="SECTION.KEY=VALUE")

    contacts = sub.add_parser("contacts", help="contacts of the built-in store")
    contacts.add_argument("--search", default="")
    contacts.add_argument("--limit", type=int, default=50)
    sub.add_parser("reload", help="re-read the configuration file")
    welcome = sub.add_parser("welcome", help="welcome emails")
    wsub = welcome.add_subparsers(dest="action", required=True, metavar="ACTION")
    wsub.add_parser(
        "resend", help="send a welcome email that failed or may not have arrived"
    ).add_argument("email")
    return parser


def parse_assignment(text: str) -> dict[str, Any]:
    """ "a.b=value" -> {"a": {"b": value}}; the value is read as TOML, else taken as a string."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ValueError(f'"{text}" is not SECTION.KEY=VALUE, e.g. schedule.enabled=true')
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    result: dict[str, Any] = {}
    node = result
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


class Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def out(self, data: Any, human: str) -> None:
        print(json.dumps(data, indent=2, ensure_ascii=False) if self.as_json else human)


def _fmt_counts(counts: dict[str, Any]) -> str:
    keys = ("new", "updated", "unchanged", "failed", "skipped")
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in keys)


def _status(client: Client, p: Printer, _: argparse.Namespace) -> int:
    s = client.get("/v1/status")
    lines = [
        (
            f"azsyncd {s['version']} (pid {s['pid']}, up {s['uptime_seconds']:.0f} s), config "
            f"{s['config_path']}"
        )
    ]
    if s["config_error"]:
        lines.append(f"CONFIG ERROR (running on the last good config): {s['config_error']}")
    lines.append(
        f"sync: {'enabled' if s['sync_enabled'] else 'disabled'}; next run: {s['next_run'] or '-'}"
        f" ({s['timezone']}); target: {s['target']}"
    )
    if s["running"]:
        r = s["running"]
        total = f"/{r['total']}" if r["total"] is not None else ""
        lines.append(
            f"running: run {r['run_id']} ({r['trigger']}) {r['phase']} {r['tenant']} "
            f"{r['done']}{total}"
        )
    if s["last_run"]:
        last = s["last_run"]
        lines.append(
            f"last run: {last['id']} {last['status']} at {last['started_at']}: "
            f"{_fmt_counts(last['counts'])}"
        )
    for t in s["tenants"]:
        lines.append(
            f"tenant {t['name']}: {t['status']}" + (f" ({t['reason']})" if t["reason"] else "")
        )
    p.out(s, "\n".join(lines))
    return EXIT_OK


def _sync(client: Client, p: Printer, args: argparse.Namespace) -> int:
    body = {"dry_run": args.dry_run, "tenant": args.tenant, "user": args.user}
    started = client.post("/v1/sync", {k: v for k, v in body.items() if v not in (None, False)})
    run_id = started["run_id"]
    if not args.wait:
        p.out(started, f"started run {run_id}; follow it with: azsyncctl status")
        return EXIT_OK
    while True:
        running = client.get("/v1/status")["running"]
        if not running or running["run_id"] != run_id:
            break
        if not p.as_json and sys.stderr.isatty():
            total = f"/{running['total']}" if running["total"] is not None else ""
            print(
                f"\r{running['phase']} {running['tenant']} {running['done']}{total}   ",
                end="",
                file=sys.stderr,
            )
        time.sleep(0.5)
    run = client.get(f"/v1/runs/{run_id}")
    p.out(
        run,
        f"run {run_id} {run['status']}: {_fmt_counts(run['counts'])}"
        + (f"\n{run['message']}" if run["message"] else ""),
    )
    return EXIT_OK if run["status"] == "succeeded" else EXIT_SYNC_FAILED


def _runs(client: Client, p: Printer, args: argparse.Namespace) -> int:
    runs = client.get("/v1/runs", limit=args.limit)["runs"]
    lines = [
        f"{r['id']:>5}  {r['started_at'][:19]}  {r['trigger']:<9} "
        f"{'dry ' if r['dry_run'] else ''}{r['status']:<11}"
        f" {_fmt_counts(r['counts'])}"
        for r in runs
    ]
    p.out(runs, "\n".join(lines) or "no runs yet")
    return EXIT_OK


def _log(client: Client, p: Printer, args: argparse.Namespace) -> int:
    run = client.get(f"/v1/runs/{args.run}")
    if args.csv:
        Path(args.csv).write_bytes(client.download(f"/v1/runs/{run['id']}/report.csv"))
        print(f"saved the CSV report of run {run['id']} to {args.csv}", file=sys.stderr)
    records = client.get(
        f"/v1/runs/{run['id']}/records", status=args.status, search=args.search or None, limit=10000
    )
    lines = [f"run {run['id']} ({run['trigger']}) {run['status']}: {_fmt_counts(run['counts'])}"]
    lines += [f"  {line['at'][11:19]} {line['level']:<5} {line['message']}" for line in run["log"]]
    lines += [
        f"{r['email'] or '-'}\t{r['type']}\t{r['status']}\t{r['result']}"
        for r in records["records"]
    ]
    p.out({"run": run, "records": records}, "\n".join(lines))
    return EXIT_OK


def _tenants(client: Client, p: Printer, args: argparse.Namespace) -> int:
    action = args.action or "list"
    if action == "list":
        tenants = client.get("/v1/tenants")["tenants"]
        lines = [
            (
                f"{t['name']:<16} {t['state']['status']:<9} {t['tenant_id']:<38} {t['cloud']:<9} "
                f"{t['auth']}"
            )
            + (f"  ({t['state']['reason']})" if t["state"]["reason"] else "")
            for t in tenants
        ]
        p.out(tenants, "\n".join(lines) or "no tenants; add one with: azsyncctl tenants add ...")
        return EXIT_OK
    if action == "add":
        body = {
            "name": args.name,
            "tenant_id": args.tenant_id,
            "client_id": args.client_id,
            "auth": args.auth,
            "cloud": args.cloud,
            "display_name": args.display_name,
        }
        if args.client_secret_file:
            body["client_secret_file"] = args.client_secret_file
        tenant = client.post("/v1/tenants", body)
        p.out(tenant, f"added tenant {tenant['name']}")
        return EXIT_OK
    path = f"/v1/tenants/{args.name}"
    if action == "authorize":
        return _authorize(client, p, path)
    if action == "groups":
        found = client.get(path + "/groups", search=args.search or None)["groups"]
        p.out(found, "\n".join(f"{g['id']}  {g['name']}" for g in found) or "no group matches")
        return EXIT_OK
    result = {
        "show": lambda: client.get(path),
        "delete": lambda: client.delete(path),
        "enable": lambda: client.post(path + "/enable"),
        "disable": lambda: client.post(path + "/disable"),
    }[action]()
    p.out(result, json.dumps(result, indent=2) if action == "show" else f"{action}d {args.name}")
    return EXIT_OK


def _authorize(client: Client, p: Printer, path: str) -> int:
    answer = client.post(path + "/authorize")
    code = answer.get("device_code")
    if code:
        print(
            f"\n  Open {code['verification_uri']} and enter the code  {code['user_code']}\n",
            file=sys.stderr,
        )
        while code["status"] == "pending":
            time.sleep(2)
            answer = client.get(path + "/authorize")
            code = answer["device_code"]
    state = answer["state"]
    human = f"{answer['name']}: {state['status']}" + (
        f"\n  {state['reason']}" if state["reason"] else ""
    )
    human += f"\n  fix: {state['fix']}" if state["fix"] else ""
    p.out(answer, human)
    return EXIT_OK if state["status"] == "active" else EXIT_REFUSED


def _settings(client: Client, p: Printer, args: argparse.Namespace) -> int:
    if (args.action or "show") == "show":
        settings = client.get("/v1/settings")
        p.out(settings, json.dumps(settings, indent=2, ensure_ascii=False))
        return EXIT_OK
    patch: dict[str, Any] = {}
    for assignment in args.assignments:
        try:
            parsed = parse_assignment(assignment)
        except ValueError as exc:
            print(f"azsyncctl: {exc}", file=sys.stderr)
            return EXIT_USAGE
        for section, values in parsed.items():
            patch.setdefault(section, {}).update(values)
    settings = client.patch("/v1/settings", patch)
    p.out(settings, "settings saved")
    return EXIT_OK


def _contacts(client: Client, p: Printer, args: argparse.Namespace) -> int:
    data = client.get("/v1/contacts", search=args.search or None, limit=args.limit)
    lines = [
        f"{'E' if c['synced_from_entra'] else ' '} {c['email']:<40} {c['name']}"
        for c in data["contacts"]
    ]
    lines.append(f"{len(data['contacts'])} of {data['total']} contacts (E = synced from Entra ID)")
    p.out(data, "\n".join(lines))
    return EXIT_OK


def _reload(client: Client, p: Printer, _: argparse.Namespace) -> int:
    result = client.post("/v1/reload")
    p.out(result, f"configuration reloaded from {result['config_path']}")
    return EXIT_OK


def _welcome(client: Client, p: Printer, args: argparse.Namespace) -> int:
    answer = client.resend_welcome(args.email)
    p.out(answer, f"sent the welcome email to {answer['email']}")
    return EXIT_OK


COMMANDS = {
    "status": _status,
    "sync": _sync,
    "runs": _runs,
    "log": _log,
    "tenants": _tenants,
    "settings": _settings,
    "contacts": _contacts,
    "reload": _reload,
    "welcome": _welcome,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    printer = Printer(args.json)
    try:
        with Client(args.socket) as client:
            return COMMANDS[args.command](client, printer, args)
    except DaemonUnreachable as exc:
        print(f"azsyncctl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except ApiFailure as exc:
        if args.json:
            print(json.dumps(exc.body, indent=2), file=sys.stderr)
        else:
            print(
                f"azsyncctl: {exc.message}" + (f"\n  fix: {exc.fix}" if exc.fix else ""),
                file=sys.stderr,
            )
            for problem in (
                exc.body.get("error", {}).get("problems", []) if isinstance(exc.body, dict) else []
            ):
                print(f"  - {problem['key']}: {problem['message']}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
