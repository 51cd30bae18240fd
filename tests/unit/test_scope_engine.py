"""[scope] and the manager through the engine, in process, on the simulated directory and the
built-in store: rooms and unlicensed users left out, a user leaving the scope becoming a
leaver, a scope change counted toward the disable threshold, the manager's mail mapped."""

from __future__ import annotations

from pathlib import Path

from azsyncd.state.lifecycle import Leaver
from azsyncd.state.models import SyncRecord
from azsyncd.targets.local.table import Contact
from tests.engine_setup import make_daemon, sync, tenant_toml
from tests.fakes.directory import FakeTenant, contoso

NO_ROOMS = """
[scope]
include = ["has license"]
exclude = ['mail matches "^(room|mtg)[.-]"']
"""


def rooms(directory: FakeTenant) -> list[str]:
    """Two meeting rooms: accounts with a license-free mailbox, as Exchange creates them."""
    ids = []
    for n in (1, 2):
        user_id = f"00000000-0000-4000-c000-{n:012d}"
        directory.add_user(
            {
                "id": user_id,
                "userPrincipalName": f"room-{n}@contoso.example",
                "mail": f"room-{n}@contoso.example",
                "displayName": f"Room {n}",
                "givenName": "Room",
                "surname": str(n),
                "accountEnabled": True,
                "userType": "Member",
                "assignedLicenses": [{"skuId": "licensed-room", "disabledPlans": []}]
                if n == 1
                else [],
                "officeLocation": "Berlin",
            }
        )
        ids.append(user_id)
    return ids


def emails() -> set[str]:
    return {c.email for c in Contact.select()}


def test_rooms_and_unlicensed_users_are_left_out(tmp_path: Path) -> None:
    directory = contoso(users=60)
    rooms(directory)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=NO_ROOMS)
    run = sync(daemon)
    synced = emails()
    licensed = {
        str(u["mail"]).lower()
        for u in directory.users.values()
        if u.get("assignedLicenses") and not str(u["mail"]).startswith("room-")
    }
    assert synced <= licensed and len(synced) >= len(licensed) - run.counts["failed"]
    assert not any(e.startswith("room-") for e in synced)
    skipped = {r.result for r in SyncRecord.select().where(SyncRecord.status == "skipped")}
    assert 'out of scope: excluded by mail matches "^(room|mtg)[.-]"' in skipped
    assert "out of scope: not has license" in skipped


def test_a_user_leaving_the_scope_is_a_leaver_after_grace(tmp_path: Path) -> None:
    directory = contoso(users=40)
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        extra=NO_ROOMS + '[lifecycle]\non_removed = "disable_login"\ngrace_days = 3\n',
    )
    sync(daemon)
    user_id = next(i for i, u in directory.users.items() if u["assignedLicenses"])
    email = str(directory.users[user_id]["mail"]).lower()
    assert Contact.get(Contact.email == email).login_enabled is True
    directory.update_user(user_id, assignedLicenses=[])  # the license taken away: a delta
    run = sync(daemon)
    assert run.counts["removed"] == 1 and run.counts.get("left", 0) == 0  # inside the grace
    row = Leaver.get(Leaver.object_id == user_id)
    assert row.gone_since is not None and not row.acted
    Leaver.update(gone_since=row.gone_since.replace(year=2000)).execute()  # the grace passed
    run = sync(daemon)
    assert run.counts["left"] == 1 and Contact.get(Contact.email == email).login_enabled is False
    directory.update_user(user_id, assignedLicenses=[{"skuId": "back", "disabledPlans": []}])
    run = sync(daemon)
    assert run.counts["returned"] == 1 and Contact.get(Contact.email == email).login_enabled


def test_a_narrower_scope_counts_toward_the_disable_threshold(tmp_path: Path) -> None:
    directory = contoso(users=40)
    base = '[lifecycle]\non_removed = "disable_login"\ngrace_days = 0\n'
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=base)
    sync(daemon)
    # The admin narrows the scope to Sales, and allows at most 5 leavers a run.
    config = tmp_path / "azsyncd.toml"
    config.write_text(
        config.read_text()
        + "[scope]\ninclude = ['department = \"Sales\"']\n[sync.thresholds]\ndisable = 5\n"
    )
    assert daemon.config_store.reload() is not None
    held = sync(daemon)
    assert held.status == "held" and "disable" in held.message
    assert Contact.select().where(Contact.login_enabled == False).count() == 0  # noqa: E712
    kept = emails()
    outside = sum(
        1
        for u in directory.users.values()
        if u["department"] != "Sales" and str(u["mail"]).lower() in kept
    )
    assert held.counts["plan"]["contoso"]["disable"] == outside


def test_the_managers_mail_is_mapped_and_follows_a_change(tmp_path: Path) -> None:
    directory = contoso(users=30)
    config_extra = ""
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=config_extra)
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text().replace('Title = "jobTitle"', 'Title = "manager.mail"'))
    assert daemon.config_store.reload() is not None
    sync(daemon)
    report, boss, other = (
        "00000000-0000-4000-a000-000000000012",
        "00000000-0000-4000-a000-000000000010",
        "00000000-0000-4000-a000-000000000020",
    )
    mail = {i: str(directory.users[i]["mail"]).lower() for i in (report, boss, other)}
    assert Contact.get(Contact.email == mail[report]).custom["Title"] == mail[boss]
    assert not Contact.get(Contact.email == mail[boss]).custom.get("Title")  # no manager
    directory.set_manager(report, other)
    run = sync(daemon)  # a delta: the user shows with manager@delta, its manager read again
    assert run.counts["updated"] == 1
    assert Contact.get(Contact.email == mail[report]).custom["Title"] == mail[other]


def test_the_safety_rail_counts_every_user_read_not_those_in_scope(tmp_path: Path) -> None:
    directory = contoso(users=40)
    base = '[sync]\nmin_share = 0.9\n[lifecycle]\non_removed = "disable_login"\ngrace_days = 3\n'
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=base)
    sync(daemon)
    kept = emails()
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text() + "[scope]\ninclude = ['department = \"Sales\"']\n")
    assert daemon.config_store.reload() is not None
    run = sync(daemon)  # far fewer users in scope than 0.9 of the last read: no broken read
    assert "safety rail" not in run.message and run.counts["tenants"]["contoso"]["ok"]
    left = {
        str(u["mail"]).lower()
        for u in directory.users.values()
        if u["department"] != "Sales" and str(u["mail"]).lower() in kept
    }
    assert left and run.counts["removed"] == len(left)
    assert {r.email for r in Leaver.select() if r.gone_since is not None} == left


def test_a_user_outside_the_scope_matches_no_contact_group_rule(tmp_path: Path) -> None:
    directory = contoso(users=40)
    daemon = make_daemon(tmp_path, directory, skip_empty=True)
    sync(daemon)
    sales = sorted(
        str(u["mail"]).lower()
        for u in directory.users.values()
        if u["department"] == "Sales" and str(u["mail"]).lower() in emails()
    )
    assert len(sales) > 1
    config = tmp_path / "azsyncd.toml"
    config.write_text(
        config.read_text()
        + f"[scope]\nexclude = ['mail = \"{sales[0]}\"']\n"
        + '[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department = "Sales"\'\n'
    )
    assert daemon.config_store.reload() is not None
    sync(daemon)
    grouped = {c.email for c in Contact.select() if "Sales desk" in c.groups}
    assert grouped == set(sales[1:])  # the one out of scope is treated as not read


def test_one_user_s_trace_says_which_scope_condition_leaves_it_out(tmp_path: Path) -> None:
    """The trace the digest points to names the [scope] verdict at its scope step, not only
    "all users of the tenant" followed by a skip."""
    directory = contoso(users=10)
    rooms(directory)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra=NO_ROOMS)
    run = sync(daemon, user="room-1@contoso.example")
    lines = [line.message for line in daemon.state.log_lines(run.id)]
    assert (
        "contoso: 2. scope: all users of the tenant; [scope]: out of scope: excluded by mail "
        'matches "^(room|mtg)[.-]"'
    ) in lines
    run = sync(daemon, user="anna.andersson0@contoso.example")
    lines = [line.message for line in daemon.state.log_lines(run.id)]
    assert "contoso: 2. scope: all users of the tenant; [scope]: in scope" in lines


def test_a_new_attribute_rule_applies_to_every_contact_at_the_next_run(tmp_path: Path) -> None:
    """A rule added (or changed) after the first sync: the next run is a delta, which brings
    only changed users; the rule must still judge every contact, as its preview showed.
    The changed rules make the next read a full one, as a changed scope does."""
    directory = contoso(users=40)
    daemon = make_daemon(tmp_path, directory, skip_empty=True, extra="[sync]\nfull_every = 0\n")
    sync(daemon)
    sales = {
        str(u["mail"]).lower()
        for u in directory.users.values()
        if u["department"] == "Sales" and str(u["mail"]).lower() in emails()
    }
    assert len(sales) > 1
    config = tmp_path / "azsyncd.toml"
    config.write_text(
        config.read_text()
        + '[[contact_groups]]\ngroup = "Sales desk"\nwhen = \'department = "Sales"\'\n'
    )
    assert daemon.config_store.reload() is not None
    sync(daemon)
    assert {c.email for c in Contact.select() if "Sales desk" in c.groups} == sales
    # A rule's condition changed: judged again for everyone.
    config.write_text(config.read_text().replace('department = "Sales"', 'department = "Support"'))
    assert daemon.config_store.reload() is not None
    sync(daemon)
    support = {
        str(u["mail"]).lower()
        for u in directory.users.values()
        if u["department"] == "Support" and str(u["mail"]).lower() in emails()
    }
    assert {c.email for c in Contact.select() if "Sales desk" in c.groups} == support


def test_turning_exclude_disabled_off_syncs_the_disabled_accounts_at_the_next_run(
    tmp_path: Path,
) -> None:
    directory = contoso(users=40)
    disabled = {
        str(u["mail"]).lower() for u in directory.users.values() if u["accountEnabled"] is False
    }
    assert disabled
    daemon = make_daemon(
        tmp_path,
        directory,
        skip_empty=True,
        tenants_toml=tenant_toml(extra="exclude_disabled = true"),
        extra="[sync]\nfull_every = 0\n",
    )
    sync(daemon)
    assert not disabled & emails()
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text().replace("exclude_disabled = true", ""))
    assert daemon.config_store.reload() is not None
    sync(daemon)  # not only the users a delta brings
    assert disabled <= emails() | failed_emails()


def failed_emails() -> set[str]:
    """The users that fail (kept to be planned again): synced, but refused a contact."""
    from azsyncd.state.models import FailingUser

    return {str(r.email) for r in FailingUser.select()}
