"""Whoever may edit a user in Entra ID writes terminal commands into a name, a phone and a
department: a screen wipe and a colour (ESC[2J ESC[31m), a clipboard write (OSC 52), a right-
to-left override (U+202E) and a C1 CSI. Wherever azsync shows or exports that user (azsyncctl,
the API as curl prints it, the CSV reports, the journal, the TUI's Contacts tab), none of it
may reach the admin's terminal as a control: each is shown as its escape instead."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import running_daemon
from tests.service.conftest import LocalWorld

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[3]

WIPE = "\x1b[2J\x1b[31m"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"  # OSC 52: "rm -rf ~" into the clipboard
RLO = "\u202e"
CSI = "\x9b"  # C1 CSI: ESC[ in one character, for terminals that read 8-bit controls
NAME = f"Mallory{WIPE}RED{CLIPBOARD}{RLO}gpj.exe"
# What must never be seen raw: the start of each control.
RAW = ("\x1b[2J", "\x1b[31m", "\x1b]52", "\x07", RLO, CSI)
MALLORY = {
    "id": "mallory-id",
    "userPrincipalName": "mallory@contoso.example",
    "mail": "mallory@contoso.example",
    "displayName": NAME,
    "accountEnabled": True,
    "department": f"{CSI}2JSales{RLO}",
    "employeeId": "66600",
    "officeLocation": "Berlin",
    "jobTitle": "Engineer",
    "employeeHireDate": "2020-01-01T00:00:00Z",
    "mobilePhone": "+1 555 0100",
}
# A second account: an office that is no choice of the dropdown, so its failure quotes it.
EVE = {
    **MALLORY,
    "id": "eve-id",
    "userPrincipalName": "eve@contoso.example",
    "mail": "eve@contoso.example",
    "displayName": "Eve",
    "mobilePhone": f"+1 555{WIPE}0199",
    "officeLocation": f"Berlin{WIPE}{CLIPBOARD}{RLO}",
}


def raw_controls(data: bytes | str) -> list[str]:
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return [repr(raw) for raw in RAW if raw in text]


def ctl(socket: Path, *args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "azsyncd.control.ctl", "--socket", str(socket), *args],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode in (0, 4), done.stderr
    return done.stdout + done.stderr


def contacts_tab_on_the_terminal(socket: Path) -> str:
    """What the TUI writes to the terminal for its Contacts tab: the raw bytes with styles."""
    from textual.widgets import DataTable

    from tests.tui.driving import settle, until
    from tui.app import AzsyncApp

    app = AzsyncApp(socket=str(socket))
    drawn: list[str] = []

    async def scenario() -> None:
        async with app.run_test(size=(140, 30)) as pilot:
            await settle(pilot)
            await pilot.press("7")
            table = app.query_one("#contact-table", DataTable)
            await until(pilot, lambda: table.row_count >= 6, what="the contacts")
            await settle(pilot)
            update: Any = app.screen._compositor.render_update(full=True)
            drawn.append(update.render_segments(app.console))

    asyncio.run(scenario())
    assert "Mallory" in drawn[0]
    return drawn[0]


def test_directory_text_reaches_no_terminal_as_a_control(
    local_world: LocalWorld, tmp_path: Path
) -> None:
    local_world.config.write_text(
        local_world.config.read_text().replace('"{givenName} {surname}"', '"{displayName}"')
    )
    local_world.directory.add_user(MALLORY)
    local_world.directory.add_user(EVE)
    log = tmp_path / "daemon.log"
    with running_daemon(local_world.config, log=log) as daemon:
        sock = daemon.socket
        with daemon.client() as http:
            first = http.post("/v1/sync", json={"wait": True, "timeout": 120}, timeout=130)
            assert first.status_code == 202, first.text
            # One user, step by step: the run's log (and the journal) quotes what was mapped.
            traced = http.post(
                "/v1/sync",
                json={"user": MALLORY["userPrincipalName"], "wait": True, "timeout": 120},
                timeout=130,
            )
            assert traced.status_code == 202, traced.text
            contacts = http.get("/v1/contacts", params={"search": "mallory"})
            assert contacts.json()["total"] == 1, http.get("/v1/runs/1/records").text
            api = {
                "GET /v1/contacts": contacts.content,
                "GET /v1/contacts.csv": http.get("/v1/contacts.csv").content,
                "GET /v1/runs/latest": http.get("/v1/runs/latest").content,
                "GET /v1/runs/1/records": http.get("/v1/runs/1/records").content,
                "GET /v1/runs/1/report.csv": http.get("/v1/runs/1/report.csv").content,
            }
        shown = {
            "azsyncctl contacts": ctl(sock, "contacts", "--search", "mallory"),
            "azsyncctl --json contacts": ctl(sock, "--json", "contacts", "--search", "mallory"),
            "azsyncctl log 1": ctl(sock, "log", "1"),
            "azsyncctl contacts (Eve)": ctl(sock, "contacts", "--search", "eve"),
            "azsyncctl log (the traced user)": ctl(sock, "log", "latest"),
            "azsyncctl --json log 1": ctl(sock, "--json", "log", "1"),
            "azsyncctl log --csv": ctl(sock, "log", "1", "--csv", str(tmp_path / "r.csv")),
            "the CSV azsyncctl saved": (tmp_path / "r.csv").read_bytes(),
        }
        tui = contacts_tab_on_the_terminal(sock)
    journal = log.read_text()

    places = {**api, **shown, "the TUI's Contacts tab": tui, "the journal": journal}
    leaks = {where: found for where, data in places.items() if (found := raw_controls(data))}
    assert not leaks, "raw controls reach the terminal:\n" + "\n".join(
        f"  {where}: {', '.join(found)}" for where, found in leaks.items()
    )
    assert "mapped: email mallory@contoso.example" in journal
    # Made visible, not dropped: the admin sees that the name holds controls.
    assert (
        b"Mallory\\u001b[2J\\u001b[31mRED\\u001b]52;c;cm0gLXJmIH4K\\u0007\\u202egpj.exe"
        in (shown["azsyncctl contacts"])
    )
    assert "Mallory\\u001b[2J" in tui
    assert "\\u009b2JSales" in api["GET /v1/contacts.csv"].decode()
    # Eve's office is quoted by her failure: escaped in the records, the report and the log.
    assert "Berlin\\u001b[2J" in api["GET /v1/runs/1/report.csv"].decode()
    assert b"Berlin\\u001b[2J" in shown["azsyncctl log 1"]
