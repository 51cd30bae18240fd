"""Forms fit 80x24, and every setting an admin needs is in the TUI (issue 16, points 3 and 4).

Against a real daemon on a temporary Unix socket.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static, TextArea

from azsyncd.control.client import Client
from azsyncd.demo.directory import DEMO_CLIENT, DEMO_SECRET, DEMO_TENANT
from tests.fakes.directory import contoso
from tests.fakes.tls_certs import make_ca_and_server
from tests.tui.driving import drive, open_tenant_form, settle, text, until, visible
from tests.tui.tui_daemon import TENANT, live_daemon, tui_on
from tui.app import AzsyncApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.sign_in import SignInScreen
from tui.screens.tenant_form import TenantForm
from tui.widgets.fields import OnOff, Row

pytestmark = pytest.mark.slow

GLOBAL = {"login": "https://login.microsoftonline.com", "graph": "https://graph.microsoft.com"}


async def add_fabrikam(pilot: Pilot[Any], kind: str = "secret", secret: str = "") -> DataTable[Any]:
    """Fabrikam added through the form, beside Contoso; the Tenants table once it shows both."""
    form = await open_tenant_form(
        pilot, name="fabrikam", tenant_id=DEMO_TENANT, client_id=DEMO_CLIENT
    )
    form.query_one("#kind", Select).value = kind
    form.query_one("#secret", Input).value = secret
    await pilot.press("ctrl+s")
    table = pilot.app.query_one("#tenant-table", DataTable)
    await until(pilot, lambda: table.row_count == 2, what="the new tenant")
    await settle(pilot)
    return table


def error_of(row: Row) -> str:
    return text(row.query_one(".field-error"))


@pytest.mark.parametrize("kind", ["secret", "pem", "pfx", "device_code"])
def test_the_add_tenant_form_fits_80x24(tmp_path: Path, kind: str) -> None:
    with tui_on(tmp_path, users=3) as (_live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            form = await open_tenant_form(pilot)
            form.query_one("#kind", Select).value = kind
            await pilot.pause()
            form.query_one("#name", Input).value = "fabrikam"  # a label stays beside a value
            fields = [w for w in form.query("Input, Select, TextArea") if w.display]
            shown = [w for w in fields if w.parent and w.parent.parent and w.parent.parent.display]
            for field in shown:
                form.set_focus(field)
                await pilot.pause()
                row = next(a for a in field.ancestors if isinstance(a, Row))
                label = row.query_one(".field-label")
                assert visible(field) and visible(label), field.id
                assert text(label) == row.label
                for always in ("#save", "#cancel", "#form-error"):
                    assert form.query_one(always).region.bottom <= 24, always
                    assert visible(form.query_one(always)) or always == "#form-error"
            hidden = {"secret": "#pfx_path", "pem": "#secret", "pfx": "#certificate_pem"}
            if kind in hidden:
                assert not form.query_one(hidden[kind]).parent.parent.display  # type: ignore[union-attr]

        drive(app, scenario, size=(80, 24))


def test_refusals_are_shown_next_to_their_field_in_full(tmp_path: Path) -> None:
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            form = await open_tenant_form(
                pilot, name="Fabrikam Ltd", tenant_id="consumers", client_id="nope"
            )
            form.query_one("#kind", Select).value = "device_code"
            await pilot.press("ctrl+s")
            name_row = form.query_one("#row-name", Row)
            await until(pilot, lambda: error_of(name_row) != "", what="the name's error")
            assert "lowercase letters" in error_of(name_row)
            tenant_row = form.query_one("#row-tenant_id", Row)
            assert "personal Microsoft accounts cannot be synced" in error_of(tenant_row)
            assert "organizational tenant" in error_of(tenant_row)  # the whole message
            assert "application (client) id" in error_of(form.query_one("#row-client_id", Row))
            assert form.query_one("#name", Input).value == "Fabrikam Ltd"  # nothing lost
            # Custom endpoints are for the configuration file: refused before anything is sent.
            form.query_one("#cloud", Select).value = "custom"
            await pilot.pause()
            assert form.query_one("#custom-note").display
            assert "configuration file" in text(form.query_one("#custom-note"))
            await pilot.press("ctrl+s")
            await until(
                pilot, lambda: "configuration file" in error_of(form.query_one("#row-cloud", Row))
            )

        drive(app, scenario)
        assert [t.name for t in live.daemon.config.tenants] == ["contoso"]


def test_a_device_code_tenant_added_is_selected_and_z_signs_it_in(tmp_path: Path) -> None:
    directory = contoso(users=4, **GLOBAL)
    directory.pending_polls = 1
    with tui_on(tmp_path, directory=directory) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            table = await add_fabrikam(pilot, kind="device_code")
            assert str(table.get_row_at(table.cursor_row)[0]) == "fabrikam"
            await pilot.press("z")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "Authorize fabrikam now?" in text(app.screen.query_one("#question"))
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, SignInScreen))
            # The screen is up before its text is: wait for the text, under load too.
            await until(
                pilot, lambda: "fabrikam" in "".join(text(s) for s in app.screen.query(Static))
            )
            assert "D E M O - C O D E" in text(app.screen.query_one("#code"))
            state = app.screen.query_one("#state")
            await until(pilot, lambda: "Active" in text(state), what="signed in")
            await pilot.press("escape")
            await until(pilot, lambda: str(table.get_row_at(1)[1]).startswith("Active"))

        drive(app, scenario)
        assert live.daemon.state.tenant("fabrikam").status == "active"


def test_a_certificate_tenant_from_pasted_pem(tmp_path: Path) -> None:
    _, cert_file, key_file = make_ca_and_server(tmp_path)
    certificate, key = cert_file.read_text(), key_file.read_text()
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            form = await open_tenant_form(
                pilot, name="certs", tenant_id=DEMO_TENANT, client_id=DEMO_CLIENT
            )
            form.query_one("#kind", Select).value = "pem"
            await pilot.pause()
            form.query_one("#certificate_pem", TextArea).text = "not a certificate"
            await pilot.press("ctrl+s")
            row = form.query_one("#row-certificate_pem", Row)
            await until(pilot, lambda: "paste the certificate" in error_of(row))
            assert "certs" not in [t.name for t in live.daemon.config.tenants]  # nothing sent
            form.query_one("#certificate_pem", TextArea).text = certificate
            form.query_one("#private_key_pem", TextArea).text = str(key_file)  # a file here
            await pilot.press("ctrl+s")
            table = app.query_one("#tenant-table", DataTable)
            await until(pilot, lambda: not isinstance(app.screen, TenantForm), what="added")
            await until(pilot, lambda: table.row_count == 2)
            await settle(pilot)
            assert str(table.get_row_at(table.cursor_row)[0]) == "certs"  # the new one is chosen
            shown = text(app.query_one("#tenant-text"))
            assert "certificate_file" in shown and "BEGIN" not in shown

        drive(app, scenario)
        tenant = live.daemon.config.tenant("certs")
        assert tenant is not None and tenant.auth == "certificate"
        assert tenant.certificate_file and tenant.private_key_file
        assert Path(tenant.private_key_file).read_text() == key  # stored as given, owner-only
        assert Path(tenant.private_key_file).stat().st_mode & 0o077 == 0
        assert key not in live.config.read_text()


def test_a_client_secret_pasted_in_the_form_signs_the_tenant_in(tmp_path: Path) -> None:
    directory = contoso(users=4, **GLOBAL)
    with tui_on(tmp_path, directory=directory) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            table = await add_fabrikam(pilot, secret="not-the-secret")
            await pilot.press("z", "y")
            await until(pilot, lambda: str(table.get_row_at(1)[1]).startswith("Disabled"))
            assert "c stores a new client secret" in text(app.query_one("#tenant-text"))
            await pilot.press("c")  # the fix: a new secret, from the TUI
            await until(pilot, lambda: isinstance(app.screen, TenantForm))
            assert not app.screen.query("#name"), "a new credential asks only for the credential"
            app.screen.query_one("#secret", Input).value = DEMO_SECRET
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, TenantForm))
            await pilot.press("z", "y")
            await until(pilot, lambda: str(table.get_row_at(1)[1]).startswith("Active"))

        drive(app, scenario)
        assert DEMO_SECRET not in live.config.read_text()
        assert live.daemon.state.tenant("fabrikam").status == "active"


def test_file_only_settings_show_their_value_not_an_input(tmp_path: Path) -> None:
    mail = '[welcome_email]\nsmtp_host = "smtp.contoso.example"\nsmtp_port = 2525\n'
    with live_daemon(tmp_path, TENANT + mail, users=3) as live:
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("5")
            await settle(pilot)
            panel = app.query_one("#settings-panel")
            assert not panel.query("#smtp_host") and not panel.query("#template_file")
            host = text(panel.query_one("#file-welcome_email-smtp_host"))
            assert "smtp.contoso.example" in host and "(config file)" in host
            assert "2525" in text(panel.query_one("#file-welcome_email-smtp_port"))
            assert str(live.config) in text(panel.query_one("#file-note"))

        drive(app, scenario, size=(120, 40))


def test_every_setting_an_admin_needs_is_saved(tmp_path: Path) -> None:
    with tui_on(tmp_path, users=3) as (live, app):

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("3")
            await settle(pilot)
            mapping = app.query_one("#mapping-panel")
            mapping.query_one("#skip_empty_phones", OnOff).value = False
            mapping.query_one("#guest_email_from_mail", OnOff).value = False
            mapping.query_one("#name", Input).value = "{surname}, {givenName}"
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not live.daemon.config.mapping.skip_empty_phones)
            await pilot.press("5")
            await settle(pilot)
            settings = app.query_one("#settings-panel")
            edits = {
                "min_share": "0.5",
                "from_address": "helpdesk@contoso.example",
                "subject": "Welcome to {account}",
                "portal_url": "https://support.contoso.example",
                "timezone": "Europe/Lisbon",
                "time": "06:15",
                "history_runs": "12",
            }
            for field, value in edits.items():
                settings.query_one(f"#{field}", Input).value = value
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.sync.min_share == 0.5, what="saved")
            await until(pilot, lambda: "Saved at" in text(settings.query_one("#form-status")))

        drive(app, scenario)
        config = live.daemon.config
        assert not config.mapping.guest_email_from_mail
        assert config.mapping.name == "{surname}, {givenName}"
        assert config.welcome_email.from_address == "helpdesk@contoso.example"
        assert config.welcome_email.subject.startswith("Wel")
        assert config.welcome_email.tls == "starttls"  # how SMTP travels is the file's to say
        assert (config.account.timezone, config.schedule.time) == ("Europe/Lisbon", "06:15")
        assert config.state.history_runs == 12


def test_unsaved_marker_and_a_refused_save_show_what_the_daemon_holds(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT, users=3) as live:
        before = live.config.read_text()
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("5")
            await settle(pilot)
            settings = app.query_one("#settings-panel")
            time_field = settings.query_one("#time", Input)
            time_field.value = "25:61"
            await until(pilot, lambda: "settings" in app.unsaved, what="the unsaved marker")
            assert app.marks.unsaved in str(app.query_one("#tabs").get_tab("settings").label)  # type: ignore[attr-defined]
            assert "unsaved edits" in text(settings.query_one("#form-status"))
            await pilot.press("ctrl+s")
            row = settings.query_one("#row-time", Row)
            await until(pilot, lambda: error_of(row) != "", what="the error beside the time")
            assert '"25:61" is not a time of day' in error_of(row) and "HH:MM" in error_of(row)
            assert time_field.value == "00:00", "the form shows what the daemon holds"
            assert "settings" not in app.unsaved
            assert app.focused is time_field
            assert "Not saved" in text(settings.query_one("#form-status"))
            # The mapping: an unknown attribute, next to the name, with a suggestion.
            await pilot.press("escape", "3")
            await settle(pilot)
            app.query_one("#mapping-panel #name", Input).value = "{givenNme} {surname}"
            await pilot.press("ctrl+s")
            name_row = app.query_one("#mapping-panel #row-name", Row)
            await until(pilot, lambda: "givenNme" in error_of(name_row))
            assert 'did you mean "givenName"' in error_of(name_row)

        drive(app, scenario)
        assert live.config.read_text() == before


def test_the_next_run_is_shown_in_the_accounts_own_time_zone(tmp_path: Path) -> None:
    with live_daemon(tmp_path, TENANT, users=3) as live:
        with Client(live.socket) as client:
            client.update_settings(
                account={"timezone": "Europe/Berlin"}, schedule={"time": "00:30"}
            )
        app = AzsyncApp(socket=str(live.socket))

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("5")
            await settle(pilot)
            app.query_one("#settings-panel #enabled", OnOff).value = True
            await pilot.press("ctrl+s")
            await until(pilot, lambda: live.daemon.config.schedule.enabled)
            await settle(pilot)
            next_run = text(app.query_one("#settings-panel #next-run"))
            assert next_run.endswith("00:30 Europe/Berlin") and "UTC" not in next_run
            await pilot.press("1")
            await until(pilot, lambda: "00:30 Europe/Berlin" in text(app.query_one("#status-text")))
            # Turning sync on started the first sync (in its own process): the title shows it
            # until it ends, then the next run.
            await until(pilot, lambda: "00:30 Europe/Berlin" in app.sub_title)

        drive(app, scenario)
