"""The custom-field mark (``mark = "custom_field"``): sent in each contact's own write, against
the fake HappyFox over loopback HTTP; the field missing, present (text or dropdown), and an
agent changing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from azsyncd.targets.base import setup_problems
from azsyncd.targets.happyfox.client import HappyFox, limiter_for
from tests.contract.test_engine_happyfox import happyfox_daemon
from tests.engine_setup import sync
from tests.fakes.directory import contoso
from tests.fakes.happyfox import FakeHappyFox

MARK = '\n[target.happyfox]\nmark = "custom_field"\nmark_field = "Synced from"\n'
ANNA = "anna.andersson0@contoso.example"


def marked(tmp_path: Path, url: str, directory: object, overwrite: bool = True):  # type: ignore[no-untyped-def]
    daemon = happyfox_daemon(tmp_path, url, directory, overwrite)
    config = tmp_path / "azsyncd.toml"
    config.write_text(
        config.read_text().replace(
            'auth_code_file = "code"\n',
            'auth_code_file = "code"\nmark = "custom_field"\nmark_field = "Synced from"\n',
        )
    )
    daemon.config_store.reload()
    assert daemon.config.target.settings.mark == "custom_field"  # type: ignore[union-attr]
    return daemon


def marks(fake: FakeHappyFox, field: dict[str, object]) -> list[object]:
    return [c["custom"].get(field["id"]) for c in fake.contacts.values()]


def test_the_mark_rides_in_the_contacts_own_write_and_no_group_is_made(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    field = fake.add_field("Synced from")
    daemon = marked(tmp_path, url, contoso(users=250))
    first = sync(daemon)
    written = first.counts["new"]
    assert written == len(fake.contacts) > 100
    # One POST a 100 contacts and nothing else: no group, no membership call.
    assert fake.post_calls("users/") == -(-written // 100)
    assert sum(1 for m, _, _ in fake.calls if m == "POST") == fake.post_calls("users/")
    assert fake.groups == {}
    assert set(marks(fake, field)) == {"Microsoft Entra ID"}
    again = sync(daemon)
    assert again.counts["new"] == again.counts["updated"] == 0
    daemon.stop(5)


def test_a_dropdown_field_gets_the_choice_and_a_missing_choice_is_said(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    field = fake.add_field("Synced from", "choice", ["Manual", "Microsoft Entra ID"])
    daemon = marked(tmp_path, url, contoso(users=30))
    sync(daemon)
    choice = next(c["id"] for c in field["choices"] if c["text"] == "Microsoft Entra ID")  # type: ignore[union-attr]
    assert set(marks(fake, field)) == {choice}
    client = HappyFox(url, "key", "code", limiter=limiter_for(0.9), mark="custom_field",
                      mark_field="Synced from", mark_value="Entra")  # fmt: skip
    client.fields()
    (problem,) = setup_problems(client)
    assert problem.key == "target.happyfox.mark_value"
    assert '"Manual", "Microsoft Entra ID"' in problem.message and "add the choice" in problem.fix
    client.close()
    daemon.stop(5)


def test_a_missing_field_writes_the_contacts_says_how_to_create_it_then_marks_them_all(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    directory = contoso(users=40)
    daemon = marked(tmp_path, url, directory)
    first = sync(daemon)
    assert first.counts["new"] == len(fake.contacts) > 20  # the contacts go in regardless
    warnings = [e.message for e in daemon.state.log_lines(first.id) if e.level == "warning"]
    said = [w for w in warnings if "Synced from" in w]
    assert said and "does not exist in HappyFox" in said[0]
    assert 'add a contact custom field named "Synced from" of type Text' in said[0]
    # The admin creates the field; the next full read puts the mark on every contact.
    field = fake.add_field("Synced from")
    full = sync(daemon, full=True)
    assert full.counts["updated"] == len(fake.contacts)
    assert set(marks(fake, field)) == {"Microsoft Entra ID"}
    daemon.stop(5)


@pytest.mark.parametrize("overwrite", [True, False])
def test_an_agents_change_to_the_mark_is_put_back(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str], overwrite: bool
) -> None:
    fake, url = happyfox
    field = fake.add_field("Synced from")
    directory = contoso(users=30)
    daemon = marked(tmp_path, url, directory, overwrite=overwrite)
    sync(daemon)
    anna, other = fake.by_email[ANNA], fake.contacts[5]
    fake.agent_edits(anna["id"], **{"Synced from": "Manual"})
    fake.agent_edits(other["id"], **{"Synced from": None})
    # A change to the user: its write carries the mark again, whatever the agent set.
    directory.update_user("00000000-0000-4000-a000-000000000000", department="Legal")
    second = sync(daemon)
    assert second.counts["updated"] == 1
    assert anna["custom"][field["id"]] == "Microsoft Entra ID"
    assert anna["custom"][1] == ("Legal" if overwrite else "Sales")  # the agent's wins if off
    assert other["custom"].get(field["id"]) is None  # no change to that user: not written
    # The full reconciliation compares every contact and puts the mark back.
    full = sync(daemon, full=True)
    assert full.counts["updated"] == 1
    assert set(marks(fake, field)) == {"Microsoft Entra ID"}
    changed = [r for r in daemon.state.records(full.id) if "Synced from" in r.result]
    assert len(changed) == 1 and '"Microsoft Entra ID"' in changed[0].result
    daemon.stop(5)


def test_a_contact_adopted_from_the_help_desk_gets_the_mark(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    fake, url = happyfox
    field = fake.add_field("Synced from")
    directory = contoso(users=5)
    daemon = marked(tmp_path, url, directory)
    sync(daemon)
    # The same people in a second account's view: forget azsync's bindings, keep HappyFox.
    before = dict(fake.contacts)
    for contact in before.values():
        contact["custom"].pop(field["id"], None)
    from azsyncd.state.models import MirrorEntry

    MirrorEntry.delete().execute()
    adopted = sync(daemon, full=True)
    assert adopted.counts["new"] == 0 and adopted.counts["updated"] == len(before)
    assert set(marks(fake, field)) == {"Microsoft Entra ID"} and fake.contacts == before
    daemon.stop(5)


def mark_config(home: Path, url: str, **target: str) -> Path:
    from tests.engine_setup import happyfox_daemon_home

    return happyfox_daemon_home(home, url, {}, **target)


def test_check_config_says_the_field_is_missing_and_how_to_create_it(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from azsyncd import cli

    fake, url = happyfox
    config = mark_config(tmp_path / "home", url, mark="custom_field", mark_field="Synced from")
    assert cli.main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert 'target.happyfox.mark_field: the mark\'s contact field "Synced from" does not' in err
    assert 'fix: in HappyFox, add a contact custom field named "Synced from" of type Text' in err
    fake.add_field("Synced from")
    assert cli.main(["check-config", "--config", str(config)]) == 0
    assert "the help desk has what these settings need" in capsys.readouterr().out
    # The contact-group mark needs nothing of the help desk: no call is made for it.
    calls = len(fake.calls)
    other = mark_config(tmp_path / "other", url)
    assert cli.main(["check-config", "--config", str(other)]) == 0 and len(fake.calls) == calls


def test_the_custom_field_mark_needs_a_field_that_the_mapping_leaves_alone(
    tmp_path: Path,
) -> None:
    from azsyncd.config import file as config_file
    from azsyncd.errors import ConfigError

    url = "http://127.0.0.1:9"
    unnamed = mark_config(tmp_path / "a", url, mark="custom_field")
    with pytest.raises(ConfigError, match="needs mark_field: the name of a text or dropdown"):
        config_file.load(unnamed)
    mapped = mark_config(tmp_path / "b", url, mark="custom_field", mark_field="Department")
    with pytest.raises(ConfigError, match='"Department" holds the mark, so'):
        config_file.load(mapped)


def test_turning_the_mark_on_changes_every_contacts_settings_key() -> None:
    """So the next read is a full one and every contact gets the mark once; a config without
    it keeps the key (and the fingerprints) it always had."""
    from azsyncd.config.model import Config
    from azsyncd.sync.services import settings_key

    def config(**target: str) -> Config:
        settings = {"base_url": "http://127.0.0.1:9", "api_key_file": "k", "auth_code_file": "c"}
        return Config.model_validate(
            {"target": {"kind": "happyfox", "happyfox": {**settings, **target}}}
        )

    plain, group = settings_key(config()), settings_key(config(mark="contact_group"))
    marked_key = settings_key(config(mark="custom_field", mark_field="Synced from"))
    other = settings_key(config(mark="custom_field", mark_field="Synced from", mark_value="X"))
    assert plain == group and len({plain, marked_key, other}) == 3


def test_the_control_api_says_what_the_help_desk_lacks_and_which_field_is_the_mark(
    tmp_path: Path, happyfox: tuple[FakeHappyFox, str]
) -> None:
    """What the TUI's Mapping tab shows (``Client.fields_checked``)."""
    from azsyncd.control.client import Client
    from tests.helpers import served_in_thread

    fake, url = happyfox
    daemon = marked(tmp_path, url, contoso(users=3))
    with served_in_thread(daemon) as served, Client(served.path, timeout=30) as client:
        fields, (problem,) = client.fields_checked()
        assert problem.key == "target.happyfox.mark_field" and "Synced from" in problem.fix
        assert all(f.fixed is None for f in fields)
        fake.add_field("Synced from")
        fields, problems = client.fields_checked()
        assert problems == [] and [f.name for f in fields if f.fixed] == ["Synced from"]
