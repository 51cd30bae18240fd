"""Contact-group rules end to end: simulated directory -> engine -> the fake HappyFox."""

from __future__ import annotations

from pathlib import Path

from azsyncd.service.daemon import Daemon
from azsyncd.state.lifecycle import LifecycleState
from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.engine_setup import sync
from tests.fakes.directory import FakeTenant, contoso
from tests.fakes.happyfox import FakeHappyFox

CUSTOMER_FACING = "a0000001-0000-4000-b000-000000000000"  # Sales + Support, nested
ANN = "00000000-0000-4000-a000-000000000000"  # Sales
RULES = f"""
[[contact_groups]]
group = "Sales desk"
when = 'department starts with "sal"'
access_tickets = true

[[contact_groups]]
group = "Customer facing"
entra_group = "{CUSTOMER_FACING}"
"""


def rules_daemon(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str], users: int
) -> tuple[FakeHappyFox, FakeTenant, Daemon]:
    """The fake HappyFox, a directory, and a daemon with the rules (not synced yet)."""
    fake, url = happyfox
    directory = contoso(users=users)
    daemon = happyfox_daemon(tmp_path, url, directory)
    config = tmp_path / "azsyncd.toml"
    config.write_text(config.read_text() + RULES)
    daemon.config_store.reload()
    return fake, directory, daemon


def synced(daemon: Daemon) -> dict[str, int]:
    """Object id -> HappyFox contact id, of every contact azsync wrote."""
    pages = LifecycleState(daemon.state.db).managed_pages("contoso", run_id=0)
    return {object_id: int(m.target_id) for page in pages for object_id, m in page.items()}


def test_rule_membership_follows_attribute_and_nested_group(
    tmp_path: Path,
    happyfox: tuple[FakeHappyFox, str],
) -> None:
    fake, directory, daemon = rules_daemon(tmp_path, happyfox, 120)
    # A group no rule names, with a member put there by hand: never touched.
    fake.groups[900] = {"id": 900, "name": "VIP", "contacts": {}}
    first = sync(daemon)
    contact = synced(daemon)
    sales = {contact[u] for u in contact if directory.users[u]["department"] == "Sales"}
    facing = {contact[u] for u in directory.transitive_members(CUSTOMER_FACING) if u in contact}
    assert sales and facing > sales  # Support comes through the nested group
    assert fake.group("Sales desk") == dict.fromkeys(sales, True)
    assert fake.group("Customer facing") == dict.fromkeys(facing, False)
    assert first.counts["grouped"] == len(sales) + len(facing)
    ann_id = contact[ANN]
    fake.groups[900]["contacts"][ann_id] = True
    fake.group("Sales desk")[999999] = False  # added by an agent, not by a rule

    posts = len(fake.calls)
    assert sync(daemon).counts["grouped"] == 0  # nothing changed: no group calls
    assert not [p for m, p, _ in fake.calls[posts:] if "contact_group/" in p]

    directory.update_user(ANN, department="Legal")  # stops matching the attribute rule
    directory.groups["90000000-0000-4000-b000-000000000000"].members.remove(ANN)
    run = sync(daemon)
    assert run.counts["ungrouped"] == 2
    assert ann_id not in fake.group("Sales desk") and ann_id not in fake.group("Customer facing")
    assert 999999 in fake.group("Sales desk")  # the agent's member stays
    assert fake.group("VIP") == {ann_id: True}  # an unmanaged group is left alone
    assert len([g for g in fake.groups.values() if g["name"] == "Sales desk"]) == 1

    directory.update_user(ANN, department="Sales and Marketing")  # matches again
    assert sync(daemon).counts["grouped"] == 1 and fake.group("Sales desk")[ann_id] is True


def test_an_unreadable_entra_group_changes_nothing_in_its_contact_group(
    tmp_path: Path,
    happyfox: tuple[FakeHappyFox, str],
) -> None:
    fake, directory, daemon = rules_daemon(tmp_path, happyfox, 40)
    sync(daemon)
    before = dict(fake.group("Customer facing"))
    assert before
    directory.groups.pop(CUSTOMER_FACING)  # now Graph answers 404 for it
    run = sync(daemon)
    assert fake.group("Customer facing") == before
    log = " ".join(line.message for line in daemon.state.log_lines(run.id))
    assert f"Entra ID group {CUSTOMER_FACING} could not be read" in log
    assert "copy the group's object id" in log
