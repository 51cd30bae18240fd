"""``azsyncctl``: the scripting client of the control socket.

Exit codes are ``EXIT_CODES`` (shown by ``--help``, listed in docs/control.md). Output that
nobody reads any more (``azsyncctl log | head``) ends the command quietly, as Unix tools do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from azsyncd.control.client import (
    ApiFailure,
    Client,
    ClientSecret,
    Credential,
    Lifecycle,
    PemCertificate,
    Pfx,
    Preview,
    TenantState,
    counts_text,
    inert,
)
from azsyncd.errors import DaemonUnreachable

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_SYNC_FAILED = 0, 1, 2, 3, 4
EXIT_CLOSED = 141  # 128 + SIGPIPE, the status of a Unix tool whose reader went away
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_REFUSED: "the daemon refused, or a check did not pass (tenants authorize, lifecycle"
    " check, alerts test): the message says why and what to do",
    EXIT_USAGE: "bad usage: nothing was sent",
    EXIT_UNREACHABLE: "the daemon cannot be reached (not running, or no permission)",
    EXIT_SYNC_FAILED: "a --wait-ed sync (or an approved run) ended without succeeding",
    EXIT_CLOSED: "the output was closed early (azsyncctl log | head): nothing more to say",
}


class UsageError(Exception):
    """The command line asks for something that cannot be done; nothing was sent."""


def run_id_arg(text: str) -> int | Literal["latest"]:
    if text == "latest":
        return "latest"
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f'"{text}" is not a run id; give a number or "latest"')


def _credential_options(command: argparse.ArgumentParser) -> None:
    group = command.add_argument_group("credential (sent to the daemon, never shown again)")
    group.add_argument(
        "--secret-stdin", action="store_true", help="read the client secret from stdin"
    )
    for option, metavar, text in (
        ("--certificate", "PEM", "certificate file (PEM)"),
        ("--private-key", "PEM", "its private key file (PEM)"),
        ("--pfx", "FILE", "a PFX (PKCS#12) file"),
    ):
        a_file(group.add_argument(option, metavar=metavar, help=text))
    group.add_argument(
        "--passphrase-stdin", action="store_true", help="read the PFX passphrase from stdin"
    )


def a_file(action: argparse.Action) -> argparse.Action:
    """An option naming a local file: shell completion offers file names (shtab reads it)."""
    action.complete = {"bash": "_shtab_compgen_files", "zsh": "_files"}  # type: ignore[attr-defined]
    return action


def _preview_options(command: argparse.ArgumentParser) -> None:
    how = command.add_mutually_exclusive_group()
    how.add_argument(
        "--preview",
        action="store_true",
        help="show what the next full run would do with this change; save nothing",
    )
    how.add_argument(
        "--force",
        action="store_true",
        help="save even if the preview fails more than [sync] max_fail_share of a tenant",
    )


def preview_text(found: Preview) -> str:
    """A preview as a terminal shows it: counts, top reasons with examples, changed contacts."""
    lines = [f"preview ({found.seconds:.1f} s): {found.summary()}"]
    for tenant in found.tenants:
        state = "" if tenant.ok else f" not read: {tenant.reason}"
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in tenant.counts.items() if v)
        lines.append(f"  {tenant.name}: {tenant.users} users, {tenant.contacts} contacts{state}")
        lines.append(f"    {counts or 'no change'}; failing {tenant.fail_share:.0%}")
    if found.reasons:
        lines.append("top reasons:")
    for reason in found.reasons:
        lines.append(f"  {reason.count} x {reason.reason}")
        lines += [f"      e.g. {example}" for example in reason.examples]
    if found.sample:
        lines.append("changed contacts (sample):")
    for change in found.sample:
        lines.append(f"  {change.action} {change.email} ({change.tenant} {change.user})")
        lines += [f"      {line}" for line in change.changes]
    lines += [f"note: {note}" for note in found.notes]
    return "\n".join(lines)


def _refused(p: Printer, exc: ApiFailure) -> int:
    """A save refused for its preview: the reason, then the preview behind it."""
    if exc.code != "preview_fails" or exc.preview is None:
        raise exc
    p.out(exc.preview, f"not saved: {exc.message}\n  fix: {exc.fix}\n" + preview_text(exc.preview))
    return EXIT_REFUSED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azsyncctl",
        description="Control azsyncd through its socket.",
        epilog="exit codes:\n"
        + "\n".join(f"  {code:<3} {meaning}" for code, meaning in EXIT_CODES.items())
        + '\n\n--json prints each answer as JSON (errors on stderr as {"error": ...});'
        " docs/control.md has an example for every command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a_file(
        parser.add_argument(
            "--socket", help="control socket (default: $AZSYNCD_SOCKET, then the service's)"
        )
    )
    parser.add_argument(
        "--json", action="store_true", help="print the answers as JSON, for scripts"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _sync_commands(sub)
    _tenant_commands(sub)
    _settings_commands(sub)
    _lifecycle_commands(sub)
    _more_commands(sub)
    _json_after_the_command(parser)
    return parser


def _sync_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """status, sync, runs and log."""
    sub.add_parser("status", help="daemon, schedule, running sync and tenants")
    sync = sub.add_parser("sync", help="start a sync")
    sync.add_argument("--dry-run", action="store_true", help="plan only, write nothing")
    sync.add_argument(
        "--full",
        action="store_true",
        help="full reconciliation: read every user and compare each contact with the help desk's",
    )
    sync.add_argument(
        "--wait", action="store_true", help="wait for the sync to end, showing progress"
    )
    sync.add_argument("--tenant", help="sync only this tenant")
    sync.add_argument("--user", help="sync one user, step by step")
    runs = sub.add_parser("runs", help="sync history; show, approve or discard a held run")
    runs.add_argument("--limit", type=int, default=10)
    rsub = runs.add_subparsers(dest="action", metavar="ACTION")
    rsub.add_parser("list", help="the runs, newest first (the default)")
    for action, text in (
        ("show", "a run's plan: what a held run would change"),
        ("approve", "apply a held run's plan, exactly as shown"),
        ("discard", "drop a held run's plan; nothing is written"),
    ):
        rsub.add_parser(action, help=text).add_argument("run", type=run_id_arg)
    log = sub.add_parser("log", help="a run's log and records (default: the last sync)")
    log.add_argument("run", nargs="?", default="latest", type=run_id_arg)
    log.add_argument("--status", choices=["success", "failed", "skipped", "unchanged"])
    log.add_argument("--search", default="", help="only emails containing this")
    a_file(
        log.add_argument(
            "--csv",
            metavar="FILE",
            help="save the CSV report to FILE (only the rows the filter keeps)",
        )
    )


def _tenant_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """tenants and their actions."""
    tenants = sub.add_parser("tenants", help="list and manage tenants")
    tsub = tenants.add_subparsers(dest="action", metavar="ACTION")
    tsub.add_parser("list", help="the tenants and their status")
    for action, text in (
        ("show", "one tenant's settings (its [scope] too) and status"),
        ("enable", "sync this tenant"),
        ("disable", "stop syncing this tenant"),
        ("delete", "remove the tenant (its contacts stay in the help desk)"),
        ("authorize", "get a token and prove the tenant works (device code: sign in)"),
    ):
        command = tsub.add_parser(action, help=text)
        command.add_argument("name")
        if action == "enable":  # previewed at save, as a change to its settings is
            command.add_argument(
                "--force",
                action="store_true",
                help="enable even if the preview fails more than [sync] max_fail_share of it",
            )
    tset = tsub.add_parser(
        "set",
        help="""change a tenant's settings, e.g. scope.exclude='["has license"]' --preview""",
    )
    tset.add_argument("name")
    tset.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    _preview_options(tset)
    groups = tsub.add_parser("groups", help="search a tenant's groups by name")
    groups.add_argument("name")
    groups.add_argument("--search", default="")
    add = tsub.add_parser("add", help="add a tenant")
    add.add_argument("--name", required=True)
    add.add_argument("--tenant-id", required=True)
    add.add_argument("--client-id", required=True)
    add.add_argument("--auth", default="secret", choices=["secret", "certificate", "device_code"])
    add.add_argument("--client-secret-file", help="a file on the daemon's side")
    add.add_argument("--cloud", default="global")
    add.add_argument("--display-name", default="")
    credential = tsub.add_parser(
        "credential", help="store a tenant's client secret, certificate or PFX (write-only)"
    )
    credential.add_argument("name")
    for command in (add, credential):
        _credential_options(command)


def _settings_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """settings show and set."""
    settings = sub.add_parser("settings", help="show or change settings")
    ssub = settings.add_subparsers(dest="action", metavar="ACTION")
    ssub.add_parser("show", help="the settings (the default)")
    setp = ssub.add_parser(
        "set", help="e.g. schedule.enabled=true mapping.name='{givenName} {surname}'"
    )
    setp.add_argument("assignments", nargs="+", metavar="SECTION.KEY=VALUE")
    _preview_options(setp)


def _lifecycle_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """joiners, leavers and contact-group rules."""
    life = sub.add_parser("lifecycle", help="joiners, leavers and contact-group rules")
    lsub = life.add_subparsers(dest="action", metavar="ACTION")
    lsub.add_parser("show", help="settings, rules and the leavers azsync knows")
    lsub.add_parser("joiners", help="upcoming starts: contacts waiting, login off, for the day")
    lsub.add_parser("check", help="do the rules' groups exist? (asks the tenants and help desk)")
    lset = lsub.add_parser(
        "set", help="e.g. on_removed=disable_login grace_days=5 create_before_hire_days=7"
    )
    lset.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    _preview_options(lset)
    radd = lsub.add_parser("rule-add", help="add a contact-group rule")
    radd.add_argument("group", help="the help desk's contact group")
    how = radd.add_mutually_exclusive_group(required=True)
    how.add_argument("--when", help="e.g. 'companyName = \"Fabrikam\"'")
    how.add_argument("--entra-group", help="an Entra ID group's object id")
    radd.add_argument("--access-tickets", action="store_true", help="members see its tickets")
    _preview_options(radd)
    rremove = lsub.add_parser("rule-remove", help="remove every rule of a group")
    rremove.add_argument("group")
    _preview_options(rremove)


def _more_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """contacts, reload, alerts, welcome, report, audit and demo."""
    contacts = sub.add_parser("contacts", help="contacts of the built-in store")
    contacts.add_argument("--search", default="")
    contacts.add_argument("--limit", type=int, default=50)
    sub.add_parser("reload", help="re-read the configuration file")
    alerts = sub.add_parser("alerts", help="alerts not yet resolved; test sends a test message")
    alerts.add_argument("action", nargs="?", choices=["list", "test"], default="list")
    welcome = sub.add_parser("welcome", help="welcome emails")
    wsub = welcome.add_subparsers(dest="action", required=True, metavar="ACTION")
    wsub.add_parser(
        "resend", help="send a welcome email that failed or may not have arrived"
    ).add_argument("email")
    report = sub.add_parser("report", help="reports: quality (failing contacts grouped by fix)")
    rpsub = report.add_subparsers(dest="action", required=True, metavar="REPORT")
    quality = rpsub.add_parser(
        "quality", help="failing contacts grouped by what fixes them (what the digest sends)"
    )
    quality.add_argument("--csv", metavar="FILE", help="also save every failing contact to FILE")
    quality.add_argument("--addresses", type=int, help="addresses named per group (default 10)")
    audit = sub.add_parser("audit", help="who changed what through the socket, newest first")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--user", help="only this user's changes")
    demo = sub.add_parser("demo", help="the demo daemon's simulated directory")
    dsub = demo.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_user = dsub.add_parser("add-user", help="add a person, to watch the next tick sync them")
    add_user.add_argument("name", help='e.g. "Ada Lovelace"')
    add_user.add_argument("--department", default="Support")


def _json_after_the_command(parser: argparse.ArgumentParser) -> None:
    """Accept --json after the command too (azsyncctl status --json), not only before it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                command.add_argument(
                    "--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
                )
                _json_after_the_command(command)


def key_parts(key: str) -> list[str]:
    """``mapping.custom_fields."Dept. code"`` -> its parts, read as a TOML dotted key; an
    unquoted key may also hold spaces (``mapping.custom_fields.Employee ID``)."""
    try:
        node: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        node = None
    if node is not None:
        parts = []
        while isinstance(node, dict) and len(node) == 1:
            ((part, node),) = node.items()
            parts.append(part)
        return parts
    parts = [part.strip() for part in key.split(".")]
    if any(q in key for q in "\"'") or not all(parts):
        raise UsageError(
            f'"{key}" is not a key: SECTION.KEY, each part a name or in double quotes, e.g.'
            ' mapping.custom_fields."Dept. code"'
        )
    return parts


def parse_assignment(text: str) -> dict[str, Any]:
    """ "a.b=value" -> {"a": {"b": value}}; the value is read as TOML, else taken as a string."""
    key, sep, raw = _split_assignment(text)
    parts = key_parts(key) if sep else []
    if len(parts) < 2:
        raise UsageError(f'"{text}" is not SECTION.KEY=VALUE, e.g. schedule.enabled=true')
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    result: dict[str, Any] = {}
    node = result
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


def _split_assignment(text: str) -> tuple[str, str, str]:
    """At the first "=" outside the key's quotes (a quoted field name may hold one)."""
    quote = ""
    for at, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "=":
            return text[:at].strip(), "=", text[at + 1 :]
    return text, "", ""


def merged_assignments(assignments: list[str]) -> dict[str, Any]:
    """Every assignment in one body: two keys of one table both stay (a.b.c=1 a.b.d=2)."""
    patch: dict[str, Any] = {}
    for assignment in assignments:
        _merge(patch, parse_assignment(assignment), assignment)
    return patch


def _merge(into: dict[str, Any], new: dict[str, Any], text: str) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and key in into:
            if not isinstance(into[key], dict):
                raise UsageError(f'"{text}" sets inside a key another assignment gives a value')
            _merge(into[key], value, text)
        elif key in into and (isinstance(into[key], dict) or isinstance(value, dict)):
            raise UsageError(f'"{text}" sets inside a key another assignment gives a value')
        else:
            into[key] = value


def plain(value: Any) -> Any:
    """A typed answer as JSON-ready data, for --json: the API's keys, as the daemon sent them."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def when(value: datetime | None, width: int = 19) -> str:
    return value.isoformat()[:width].replace("T", " ") if value else "-"


class Printer:
    """Answers on stdout; names and messages from the directory never act on the terminal."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def out(self, data: Any, human: str) -> None:
        text = json.dumps(plain(data), indent=2, ensure_ascii=False) if self.as_json else human
        print(inert(text))


def say(text: str) -> None:
    """A message on stderr, as inert as the answers."""
    print(inert(text), file=sys.stderr)


def _status(client: Client, p: Printer, _: argparse.Namespace) -> int:
    s = client.status()
    lines = [
        f"azsyncd {s.version} (pid {s.pid}, up {s.uptime_seconds:.0f} s), config {s.config_path}"
    ]
    if s.role == "standby":
        active = f"{s.active_host} (pid {s.active_pid})" if s.active_host else "none at the moment"
        lines.append(f"role: standby; the active daemon: {active}")
    elif s.active_host:
        lines.append(f"role: active on {s.active_host}")
    if s.config_error:
        lines.append(f"CONFIG ERROR (running on the last good config): {s.config_error}")
    lines.append(
        f"sync: {'enabled' if s.sync_enabled else 'disabled'}; next run: "
        f"{s.next_run.isoformat() if s.next_run else '-'} ({s.timezone}); target: {s.target}"
    )
    lines += [f"target: {note}" for note in s.target_notes]
    if s.interval:
        lines.append(
            f"incremental: every {s.interval}; next tick: {_utc(s.next_tick)}"
            if s.sync_enabled
            else f"incremental: every {s.interval}, once contact sync is enabled"
        )
    if s.running:
        r = s.running
        total = f"/{r.total}" if r.total is not None else ""
        lines.append(f"running: run {r.run_id} ({r.trigger}) {r.phase} {r.tenant} {r.done}{total}")
    if s.last_run:
        last = s.last_run
        lines.append(
            f"last run: {last.id} {last.status} at {when(last.started_at, 32)}: "
            f"{counts_text(last.counts)}"
        )
    for held in s.held_runs:
        lines.append(
            f"held: run {held.id}, nothing written: {held.message}; review it with azsyncctl "
            f"runs show {held.id}, then approve or discard it"
        )
    for t in s.tenants:
        lines.append(f"tenant {t.name}: {t.status}" + (f" ({t.reason})" if t.reason else ""))
        lines += _latency_lines(t)
    p.out(s, "\n".join(lines))
    return EXIT_OK


def _utc(value: datetime | None) -> str:
    return f"{when(value)} UTC" if value else "-"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def _latency_lines(tenant: TenantState) -> list[str]:
    """When the tenant was last checked, how far behind the help desk is, its ticks."""
    checked = tenant.last_checked_at
    age = tenant.oldest_unwritten_age_seconds
    lines = [
        "  checked: "
        + (
            f"{_utc(checked)} ({_duration((datetime.now(UTC) - checked).total_seconds())} ago)"
            if checked
            else "never"
        )
        + "; oldest change not yet written: "
        + ("none" if age is None else _duration(age))
    ]
    if tenant.next_tick_at:
        lines.append(f"  next tick: {_utc(tenant.next_tick_at)}")
    if tenant.last_tick and tenant.last_tick.skipped:
        lines.append(f"  last tick skipped: {tenant.last_tick.skipped}")
    return lines


def _sync(client: Client, p: Printer, args: argparse.Namespace) -> int:
    run_id = client.start_sync(
        dry_run=args.dry_run, tenant=args.tenant, user=args.user, full=args.full
    )
    if not args.wait:
        p.out({"run_id": run_id}, f"started run {run_id}; follow it with: azsyncctl status")
        return EXIT_OK
    while True:
        running = client.status().running
        if not running or running.run_id != run_id:
            break
        if not p.as_json and sys.stderr.isatty():
            total = f"/{running.total}" if running.total is not None else ""
            line = inert(f"{running.phase} {running.tenant} {running.done}{total}", keep="")
            print(f"\r{line}   ", end="", file=sys.stderr)
        time.sleep(0.5)
    run = client.run(run_id)
    p.out(
        run,
        f"run {run_id} {run.status}: {counts_text(run.counts)}"
        + (f"\n{run.message}" if run.message else "")
        + (f"\nthe plan, contact by contact: azsyncctl log {run_id}" if args.dry_run else ""),
    )
    return EXIT_OK if run.status == "succeeded" else EXIT_SYNC_FAILED


def _runs(client: Client, p: Printer, args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action in ("show", "approve", "discard"):
        return _held_run(client, p, action, args.run)
    runs = client.runs(limit=args.limit)
    lines = [
        f"{r.id:>5}  {when(r.started_at)}  {r.trigger:<9} "
        f"{'dry ' if r.dry_run else ''}{r.status:<11} {counts_text(r.counts)}"
        for r in runs
    ]
    p.out(runs, "\n".join(lines) or "no runs yet")
    return EXIT_OK


def _held_run(client: Client, p: Printer, action: str, run_id: int | Literal["latest"]) -> int:
    if action == "show":
        run = client.run(run_id)
        records = [r for r in client.all_records(run.id) if r.status != "unchanged"]
        plan = run.counts.get("plan", {})
        lines = [f"run {run.id} {run.status}" + (f": {run.message}" if run.message else "")]
        lines += [
            f"  {tenant}: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in c.items())
            for tenant, c in plan.items()
        ]
        lines += [f"{r.tenant}\t{r.email or '-'}\t{r.status}\t{r.result}" for r in records]
        p.out({"run": run, "plan": records}, "\n".join(lines))
        return EXIT_OK
    if not isinstance(run_id, int):
        raise UsageError(f"{action} takes a run number, as azsyncctl runs lists them")
    if action == "discard":
        dropped = client.discard_run(run_id)
        p.out(dropped, f"run {dropped.id} {dropped.status}: {dropped.message}")
        return EXIT_OK
    outcome = client.approve_run(run_id)
    applied = outcome.run or client.run(outcome.run_id)
    p.out(
        outcome,
        f"run {run_id} approved; run {applied.id} {applied.status}: {counts_text(applied.counts)}",
    )
    return EXIT_OK if applied.status == "succeeded" else EXIT_SYNC_FAILED


def _log(client: Client, p: Printer, args: argparse.Namespace) -> int:
    run = client.run(args.run)
    if args.csv:
        target = Path(args.csv).expanduser().resolve()
        report = client.report_csv(run.id, status=args.status, search=args.search)
        target.write_bytes(report)
        say(f"saved the CSV report of run {run.id} to {target}")
    records = list(client.all_records(run.id, status=args.status, search=args.search))
    lines = [f"run {run.id} ({run.trigger}) {run.status}: {counts_text(run.counts)}"]
    lines += [f"  {when(line.at)[11:19]} {line.level:<5} {line.message}" for line in run.log]
    lines += [f"{r.email or '-'}\t{r.type}\t{r.status}\t{r.result}" for r in records]
    p.out({"run": run, "records": records}, "\n".join(lines))
    return EXIT_OK


def _local_file(name: str) -> Path:
    path = Path(name).expanduser()
    if not path.is_file():
        raise UsageError(f"{path} is not a readable file")
    return path


def read_credential(args: argparse.Namespace) -> Credential | None:
    """The credential the options name; secrets come from stdin, never from the command line."""
    if args.secret_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
        if not secret:
            raise UsageError("no client secret on stdin; pipe it in, e.g. from a password manager")
        return ClientSecret(secret)
    if args.pfx:
        passphrase = sys.stdin.readline().rstrip("\r\n") if args.passphrase_stdin else ""
        return Pfx(_local_file(args.pfx).read_bytes(), passphrase)
    if args.certificate or args.private_key:
        if not (args.certificate and args.private_key):
            raise UsageError("--certificate and --private-key go together (both PEM files)")
        return PemCertificate(
            _local_file(args.certificate).read_text(), _local_file(args.private_key).read_text()
        )
    return None


def _add_or_credential(client: Client, p: Printer, args: argparse.Namespace) -> int:
    credential = read_credential(args)  # read first: a bad option must not leave half a tenant
    if args.action == "credential" and credential is None:
        raise UsageError(
            "name the credential: --secret-stdin, --certificate with --private-key, or --pfx"
        )
    if args.action == "add":
        settings = {
            "name": args.name,
            "tenant_id": args.tenant_id,
            "client_id": args.client_id,
            "auth": args.auth,
            "cloud": args.cloud,
            "display_name": args.display_name,
        }
        if args.client_secret_file:
            settings["client_secret_file"] = args.client_secret_file
        client.add_tenant(credential=credential, **settings)  # both or neither
    elif credential is not None:
        client.set_credential(args.name, credential)
    tenant = client.tenant(args.name)
    done = "added tenant" if args.action == "add" else "stored the credential of"
    p.out(tenant, f"{done} {tenant.name}")
    return EXIT_OK


def _tenants(client: Client, p: Printer, args: argparse.Namespace) -> int:
    action = args.action or "list"
    if action == "list":
        tenants = client.tenants()
        lines = [
            f"{t.name:<16} {t.state.status:<9} {t.tenant_id:<38} {t.cloud:<9} {t.auth}"
            + (f"  ({t.state.reason})" if t.state.reason else "")
            for t in tenants
        ]
        p.out(tenants, "\n".join(lines) or "no tenants; add one with: azsyncctl tenants add ...")
        return EXIT_OK
    if action in ("add", "credential"):
        return _add_or_credential(client, p, args)
    if action == "authorize":
        return _authorize(client, p, args.name)
    if action == "set":
        return _tenant_set(client, p, args)
    if action == "groups":
        found = client.groups(args.name, args.search)
        p.out(found, "\n".join(f"{g.id}  {g.name}" for g in found) or "no group matches")
    elif action == "show":
        tenant = client.tenant(args.name)
        p.out(tenant, json.dumps(plain(tenant), indent=2, ensure_ascii=False))
    elif action == "delete":
        client.delete_tenant(args.name)
        p.out({"deleted": args.name}, f"deleted {args.name}")
    else:
        try:
            tenant = client.set_tenant_enabled(
                args.name, action == "enable", force=getattr(args, "force", False)
            )
        except ApiFailure as exc:
            return _refused(p, exc)
        p.out(tenant, f"{action}d {args.name}")
    return EXIT_OK


def _tenant_set(client: Client, p: Printer, args: argparse.Namespace) -> int:
    """A tenant's settings, its [scope] too (the client's update_tenant): previewed, or saved
    unless the preview fails too many contacts (then only with --force)."""
    changes = merged_assignments([f"tenant.{a}" for a in args.assignments])["tenant"]
    for key in ("name", "force"):
        if key in changes:
            raise UsageError(
                "a tenant's name is not changed in place: add it again under the new name"
                if key == "name"
                else "force is an option: --force"
            )
    if args.preview:
        found = client.preview(tenant_change=(args.name, changes))
        p.out(found, preview_text(found))
        return EXIT_REFUSED if found.refused else EXIT_OK
    try:
        tenant = client.update_tenant(args.name, **changes, force=args.force)
    except ApiFailure as exc:
        return _refused(p, exc)
    p.out(tenant, f"saved {tenant.name}")
    return EXIT_OK


def _authorize(client: Client, p: Printer, name: str) -> int:
    answer = client.authorize(name)
    code = answer.device_code
    if code:
        say(f"\n  Open {code.verification_uri} and enter the code  {code.user_code}\n")
        while code is not None and code.status == "pending":
            time.sleep(2)
            answer = client.sign_in_status(name)
            code = answer.device_code
    state = answer.tenant.state
    human = f"{answer.tenant.name}: {state.status}" + (
        f"\n  {state.reason}" if state.reason else ""
    )
    human += f"\n  fix: {state.fix}" if state.fix else ""
    p.out(answer.tenant, human)  # the tenant with its sign-in, as the API answers
    return EXIT_OK if state.status == "active" else EXIT_REFUSED


def _settings(client: Client, p: Printer, args: argparse.Namespace) -> int:
    if (args.action or "show") == "show":
        settings = client.settings()
        p.out(settings, json.dumps(plain(settings), indent=2, ensure_ascii=False))
        return EXIT_OK
    patch = merged_assignments(args.assignments)
    if args.preview:
        found = client.preview(settings=patch)
        p.out(found, preview_text(found))
        return EXIT_REFUSED if found.refused else EXIT_OK
    try:
        p.out(client.update_settings(force=args.force, **patch), "settings saved")
    except ApiFailure as exc:
        return _refused(p, exc)
    return EXIT_OK


def _joiners(client: Client, p: Printer) -> int:
    found = client.joiners()
    if found.create_before_hire_days == 0 and not found.joiners:
        p.out(
            found,
            "joiners are off: contacts are created when azsync first reads the user\n"
            "  to create them ahead: azsyncctl lifecycle set create_before_hire_days=7",
        )
        return EXIT_OK
    lines = [
        f"contacts created {found.create_before_hire_days} day(s) before the hire date, login"
        f" off; today is {found.today} ({found.timezone})"
    ]
    lines += [
        f"{row.hire_date} ({_days_left(row.days_left)}) {row.tenant} {row.email}: "
        + ("contact ready, login off" if row.created else f"contact from {row.contact_from}")
        + (f" ({row.reason})" if row.reason else "")
        for row in found.joiners
    ]
    lines.append(f"{len(found.joiners)} upcoming start(s)")
    p.out(found, "\n".join(lines))
    return EXIT_OK


def _days_left(days: int) -> str:
    if days > 0:
        return f"in {days} day(s)"
    return "today" if days == 0 else f"{-days} day(s) ago"


def _report(client: Client, p: Printer, args: argparse.Namespace) -> int:
    if args.addresses is not None and not 1 <= args.addresses <= 100:
        raise UsageError("--addresses takes a number from 1 to 100")
    found = client.quality(args.addresses)
    if args.csv:
        target = Path(args.csv).expanduser().resolve()
        target.write_bytes(client.quality_csv())
        print(f"saved every failing contact with its fix to {target}", file=sys.stderr)
    p.out(found, found.text)
    return EXIT_OK


def lifecycle_text(shown: Lifecycle) -> str:
    """Leaver and joiner settings, the rules and the leavers, as a terminal shows them."""
    s = shown.lifecycle
    lines = [
        f"on_removed {s.on_removed} (after {s.grace_days} day(s) of grace), on_disabled"
        f" {s.on_disabled}; leavers' group {s.group_name!r}",
        "joiners: "
        + (
            f"created {s.create_before_hire_days} day(s) before the hire date, login off"
            " (azsyncctl lifecycle joiners)"
            if s.create_before_hire_days
            else "off (create_before_hire_days = 0)"
        ),
        *(
            f"rule: {r.condition} -> {r.group!r}"
            + (" (sees its tickets)" if r.access_tickets else "")
            for r in shown.contact_groups
        ),
        *(
            f"leaver: {row.tenant} {row.email} "
            + ("login off" if row.login_off else f"gone since {when(row.gone_since, 10)}")
            + (", disabled" if row.disabled else "")
            + (f" ({row.reason})" if row.reason else "")
            for row in shown.leavers
        ),
    ]
    return "\n".join(lines)


def _lifecycle(client: Client, p: Printer, args: argparse.Namespace) -> int:
    action = args.action or "show"
    if action == "joiners":
        return _joiners(client, p)
    if action == "check":
        found = client.check_lifecycle()
        lines = [f"problem: {f.key}: {f.message}" for f in found.problems]
        lines += [f"note: {f.key}: {f.message}" for f in found.notes]
        p.out(found, "\n".join(lines) or "every rule's groups exist")
        return EXIT_REFUSED if found.problems else EXIT_OK
    change: dict[str, Any] = {}
    if action == "set":
        prefixed = [f"lifecycle.{assignment}" for assignment in args.assignments]
        change = {"lifecycle": merged_assignments(prefixed)["lifecycle"]}
    elif action in ("rule-add", "rule-remove"):
        rules = [r.model_dump(mode="json") for r in client.lifecycle().contact_groups]
        if action == "rule-add":
            rules.append(
                {
                    "group": args.group,
                    "when": args.when or "",
                    "entra_group": args.entra_group or "",
                    "access_tickets": args.access_tickets,
                }
            )
        else:
            kept = [r for r in rules if r["group"] != args.group]
            if len(kept) == len(rules):
                raise UsageError(f'no rule names the group "{args.group}"; see azsyncctl lifecycle')
            rules = kept
        change = {"contact_groups": rules}
    if change and args.preview:
        previewed = client.preview(lifecycle=change)
        p.out(previewed, preview_text(previewed))
        return EXIT_REFUSED if previewed.refused else EXIT_OK
    if change:
        try:
            shown = client.update_lifecycle(**change, force=args.force)
        except ApiFailure as exc:
            return _refused(p, exc)
    else:
        shown = client.lifecycle()
    p.out(shown, lifecycle_text(shown))
    return EXIT_OK


def _contacts(client: Client, p: Printer, args: argparse.Namespace) -> int:
    data = client.contacts(args.search, args.limit)
    lines = [f"{'E' if c.synced_from_entra else ' '} {c.email:<40} {c.name}" for c in data.contacts]
    lines.append(f"{len(data.contacts)} of {data.total} contacts (E = synced from Entra ID)")
    p.out(data, "\n".join(lines))
    return EXIT_OK


def _reload(client: Client, p: Printer, _: argparse.Namespace) -> int:
    done = client.reload()
    changed = "".join(f"\n  {line}" for line in done.changes)
    p.out(done, f"configuration reloaded from {done.config_path}{changed}")
    return EXIT_OK


def _welcome(client: Client, p: Printer, args: argparse.Namespace) -> int:
    sent = client.resend_welcome(args.email)
    p.out({"email": sent, "welcome": "sent"}, f"sent the welcome email to {sent}")
    return EXIT_OK


def _audit(client: Client, p: Printer, args: argparse.Namespace) -> int:
    entries = client.audit(args.limit, args.user)
    lines = []
    for e in entries:
        at = e.at.isoformat()[:19] if e.at else "-"
        lines.append(f"{at}  {e.user:<12} {e.action}  {e.status}")
        lines += [f"    {change}" for change in e.changes]
    p.out(entries, "\n".join(lines) or "no changes recorded")
    return EXIT_OK


def _alerts(client: Client, p: Printer, args: argparse.Namespace) -> int:
    if args.action == "test":
        answer = client.test_alerts()
        p.out(answer, "\n".join(f"{k}: {v}" for k, v in answer.channels.items()))
        return EXIT_OK if all(v == "sent" for v in answer.channels.values()) else EXIT_REFUSED
    found = client.alerts()
    lines = [f"{a.key}\t{a.title}" for a in found.alerts]
    off = "alerts are off: set [alerts] email_to or webhook_url"
    p.out(found, "\n".join(lines) or ("no alert open" if found.enabled else off))
    return EXIT_OK


def _demo(client: Client, p: Printer, args: argparse.Namespace) -> int:
    try:
        added = client.demo_add_user(args.name, args.department)
    except ApiFailure as exc:
        if exc.status != 404 or p.as_json:
            raise
        print(
            "azsyncctl: this daemon has no simulated directory\n"
            "  fix: start the demo (azsyncd demo) and pass its --socket",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    user = added.user
    next_tick = (
        f"the next tick ({when(added.next_tick)[11:19]} UTC) brings the contact across"
        if added.next_tick
        else "the next sync brings the contact across"
    )
    p.out(
        added,
        f"added {user.displayName} <{user.userPrincipalName}> to the simulated directory;"
        f" {next_tick}\n  then: azsyncctl contacts --search {user.userPrincipalName.split('@')[0]}",
    )
    return EXIT_OK


COMMANDS = {
    "status": _status,
    "sync": _sync,
    "runs": _runs,
    "log": _log,
    "tenants": _tenants,
    "settings": _settings,
    "lifecycle": _lifecycle,
    "contacts": _contacts,
    "reload": _reload,
    "welcome": _welcome,
    "audit": _audit,
    "report": _report,
    "alerts": _alerts,
    "demo": _demo,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()  # here, where a closed pipe can still be told from a failure
    except BrokenPipeError:
        # The reader went away (| head): say nothing more, and let no flush at exit try again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED
    return code


def _run(args: argparse.Namespace) -> int:
    printer = Printer(args.json)
    try:
        with Client(args.socket) as client:
            return COMMANDS[args.command](client, printer, args)
    except UsageError as exc:
        say(f"azsyncctl: {exc}")
        return EXIT_USAGE
    except DaemonUnreachable as exc:
        say(f"azsyncctl: {exc}")
        return EXIT_UNREACHABLE
    except ApiFailure as exc:
        if args.json:
            error = {"status": exc.status, "code": exc.code, "message": exc.message}
            error.update(fix=exc.fix, problems=plain(exc.problems))
            if exc.detail:
                error["detail"] = exc.detail
            say(json.dumps({"error": error}, indent=2, ensure_ascii=False))
        else:
            say(f"azsyncctl: {exc}")
            for problem in exc.problems:
                say(f"  - {problem.key}: {problem.message}")
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
