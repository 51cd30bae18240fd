"""The lifecycle API through the typed client, on a live daemon over its Unix socket."""

from __future__ import annotations

import json

import pytest

from azsyncd.control import ctl
from azsyncd.control.client import ApiFailure, Client
from tests.helpers import within
from tests.tui.tui_daemon import LiveDaemon


def test_defaults_keep_todays_behaviour(client: Client) -> None:
    shown = client.lifecycle()
    assert shown.lifecycle.on_removed == shown.lifecycle.on_disabled == "keep"
    assert shown.lifecycle.grace_days == 3 and shown.contact_groups == [] and shown.leavers == []


def test_a_bad_rule_is_refused_with_the_nearest_attribute_and_nothing_is_written(
    client: Client, live: LiveDaemon
) -> None:
    before = live.config.read_text()
    with pytest.raises(ApiFailure) as refused:
        client.update_lifecycle(
            lifecycle={"on_removed": "disable_login"},
            contact_groups=[{"group": "Sales", "when": 'departmnt = "Sales"'}],
        )
    failure = refused.value
    assert failure.status == 422 and [p.key for p in failure.problems] == ["contact_groups[0].when"]
    assert 'did you mean "department"?' in failure.problems[0].message
    assert live.config.read_text() == before  # the valid half was not kept either
    assert client.lifecycle().lifecycle.on_removed == "keep"


def test_settings_and_rules_saved_and_a_leaver_listed(client: Client, live: LiveDaemon) -> None:
    saved = client.update_lifecycle(
        lifecycle={"on_disabled": "disable_login", "grace_days": 5},
        contact_groups=[
            {
                "group": "Sales desk",
                "when": 'department starts with "Sales"',
                "access_tickets": True,
            }
        ],
    )
    assert saved.lifecycle.on_disabled == "disable_login" and saved.lifecycle.grace_days == 5
    assert [r.condition for r in saved.contact_groups] == ['department starts with "Sales"']
    text = live.config.read_text()
    assert "[lifecycle]" in text and "[[contact_groups]]" in text
    client.sync_and_wait(timeout=within(120))
    leavers = client.lifecycle().leavers  # the demo's disabled accounts, acted on at once
    assert leavers and all(row.disabled and row.login_off for row in leavers)
    page = client.contacts(limit=1000)
    off = {c.email for c in page.contacts if not c.login_enabled}
    assert off == {row.email for row in leavers}
    assert all(
        c.contact_groups.get("Left Microsoft Entra ID: Contoso") is False
        for c in page.contacts
        if c.email in off
    )
    sales = [c for c in page.contacts if c.contact_groups.get("Sales desk") is True]
    assert sales and not any(
        "Sales desk" in c.contact_groups for c in page.contacts if c not in sales
    )


def test_azsyncctl_lifecycle(live: LiveDaemon, capsys: pytest.CaptureFixture[str]) -> None:
    def ctl_run(*args: str) -> tuple[int, str, str]:
        code = ctl.main(["--socket", str(live.socket), *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = ctl_run("lifecycle", "set", "on_removed=disable_login", "grace_days=7")
    assert code == 0 and "on_removed disable_login (after 7 day(s) of grace)" in out, err
    code, out, _ = ctl_run(
        "lifecycle",
        "rule-add",
        "Fabrikam",
        "--when",
        'companyName = "Fabrikam"',
        "--access-tickets",
    )
    assert code == 0 and "rule: companyName = \"Fabrikam\" -> 'Fabrikam' (sees its tickets)" in out
    code, _, err = ctl_run("lifecycle", "rule-add", "X", "--entra-group", "not-a-guid")
    assert code == 1 and "contact_groups" in err and "is not a group object id" in err
    code, _, err = ctl_run("lifecycle", "set", "on_disabled=delete")
    assert code == 1 and "lifecycle.on_disabled" in err
    code, _, err = ctl_run("lifecycle", "rule-remove", "Nobody")
    assert code == 2 and 'no rule names the group "Nobody"' in err
    shown = json.loads(ctl_run("--json", "lifecycle", "rule-remove", "Fabrikam")[1])
    assert [r["group"] for r in shown["contact_groups"]] == ["Sales desk"]
    assert shown["lifecycle"]["grace_days"] == 7


def test_check_names_the_nearest_group_for_a_mistyped_id_and_name(
    live: LiveDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(live.socket, timeout=30) as client:
        client.update_lifecycle(
            contact_groups=[{"group": "Sales desk", "when": 'department = "Sales"'}]
        )
        client.sync_and_wait(timeout=within(120))  # the help desk now has "Sales desk"
        client.update_lifecycle(
            contact_groups=[
                # one digit off the demo's "Customer facing" group
                {"group": "Sales desk", "entra_group": "a0000001-0000-4000-b000-000000000001"},
                {"group": "Sales Desk2", "when": 'department = "Sales"'},
                {"group": "Brand new", "when": 'department = "Legal"'},
            ]
        )
        found = client.check_lifecycle()
    problems = {f.key: f.message for f in found.problems}
    assert (
        'did you mean "a0000001-0000-4000-b000-000000000000"?'
        in problems["contact_groups[0].entra_group"]
    )
    assert 'did you mean "Sales desk"?' in problems["contact_groups[1].group"]
    assert [n.key for n in found.notes] == ["contact_groups[2].group"]
    assert "will be created by the next sync" in found.notes[0].message
    code = ctl.main(["--socket", str(live.socket), "lifecycle", "check"])
    out = capsys.readouterr().out
    assert code == 1 and "problem: contact_groups[0].entra_group" in out
