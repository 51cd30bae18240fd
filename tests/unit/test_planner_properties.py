"""Properties of plan-then-apply, checked by Hypothesis on the real built-in store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azsyncd.config.model import Mapping
from azsyncd.state import open_database
from azsyncd.sync.mapping import Mapped, Mapper, MappingFailure
from azsyncd.sync.planner import decide
from azsyncd.targets import ContactWrite, ExistingContact, Phone
from azsyncd.targets.local.settings import LocalField
from azsyncd.targets.local.store import LocalStore
from azsyncd.targets.local.table import Contact

FIELDS = [
    LocalField(name="Department"),
    LocalField(name="Employee ID", type="number"),
    LocalField(name="Office", type="dropdown", choices=["Berlin", "London"]),
    LocalField(name="Notes"),
]
MAPPING = {
    "name": "{givenName} {surname}",
    "phones": {"mo": "mobilePhone"},
    "skip_empty_phones": True,
    "custom_fields": {
        "Department": "department",
        "Employee ID": "employeeId",
        "Office": "officeLocation",
    },
}

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(str.strip)
users = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str),
        "givenName": text,
        "surname": text,
        "department": st.none() | text,
        "employeeId": st.none() | st.integers(0, 10**6).map(str),
        "officeLocation": st.none() | st.sampled_from(["Berlin", "london", "LONDON"]),
        "mobilePhone": st.none() | st.from_regex(r"\+[0-9]{6,10}", fullmatch=True),
    }
)
prior = st.none() | st.fixed_dictionaries(
    {
        "name": text,
        "Department": st.none() | text,
        "Notes": st.none() | text,
        "Office": st.none() | st.sampled_from(["Berlin", "London"]),
        "phone": st.none() | st.just("+100"),
    }
)


def store(tmp_path: Path) -> LocalStore:
    return LocalStore(FIELDS, open_database(f"sqlite:///{tmp_path / 'props.db'}", tmp_path))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=users, before=prior, overwrite=st.booleans())
def test_apply_then_plan_again_gives_no_action_and_unmapped_fields_stay(
    tmp_path: Path, user: dict[str, Any], before: dict[str, Any] | None, overwrite: bool
) -> None:
    target = store(tmp_path)
    Contact.delete().execute()
    email = f"u{user['id'][:8]}@example.com"
    user = {**user, "userPrincipalName": email}
    if before is not None:
        custom = {k: before[k] for k in ("Department", "Notes", "Office") if before[k] is not None}
        phones = [Phone("mo", before["phone"])] if before["phone"] else []
        assert target.write([ContactWrite(email, before["name"], phones, custom)])[0].ok
    mapper = Mapper(Mapping(**MAPPING, overwrite_custom_fields=overwrite), target.fields())
    try:
        mapped = mapper.map(user)
    except MappingFailure:
        return
    names = {f.id: f.name for f in target.fields()}
    existing = target.find_by_email([email]).get(email)
    notes_before = existing.custom.get("Notes") if existing else None
    action = decide("t", user["id"], mapped, existing, overwrite=overwrite, field_names=names)
    if action.write:
        assert target.write([action.write])[0].ok
    after = target.find_by_email([email])[email]
    assert after.custom.get("Notes") == notes_before  # never mapped, never touched
    again = decide("t", user["id"], mapped, after, overwrite=overwrite, field_names=names)
    assert again.kind == "unchanged", again.changes


@settings(max_examples=200, deadline=None)
@given(
    current=st.dictionaries(
        st.sampled_from(["d", "e", "o"]), st.none() | st.just("") | text, max_size=3
    ),
    wanted=st.dictionaries(st.sampled_from(["d", "e", "o"]), st.none() | text, min_size=1),
)
def test_overwrite_off_never_changes_a_value_the_help_desk_has_and_fills_empty_ones(
    current: dict[str, Any], wanted: dict[str, Any]
) -> None:
    existing = ExistingContact("1", "a@x.test", "A", [], dict(current))
    mapped = Mapped("a@x.test", "A", [], dict(wanted))
    action = decide("t", "u", mapped, existing, overwrite=False, field_names={})
    sent = action.write.custom if action.write else {}
    for field, value in wanted.items():
        had = current.get(field)
        if had not in (None, ""):
            assert field not in sent  # the help desk's value stays
        elif value not in (None, ""):
            assert sent[field] == value  # an empty field is filled from the directory
