"""Per-field apply rules in the planner: always follows the directory, on_create sets a value
once and leaves the help desk's afterwards, when_empty fills only what is empty."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from azsyncd.config.model import Mapping
from azsyncd.sync.mapping import Mapped, Mapper
from azsyncd.sync.planner import ActionKind, decide, same
from azsyncd.targets import ExistingContact, Phone
from azsyncd.targets.fields import FieldDef

FIELDS = [FieldDef("d", "Department", "text"), FieldDef("s", "Start", "text")]


def mapper(**mapping: Any) -> Mapper:
    return Mapper(Mapping(**mapping), FIELDS)


def test_rules_come_from_the_mapping_and_the_overwrite_switch() -> None:
    m = mapper(
        name={"value": "displayName", "apply": "on_create"},
        phones={"w": {"value": "businessPhones[0]", "apply": "when_empty"}, "mo": "mobilePhone"},
        custom_fields={
            "Department": "department",
            "Start": {"value": "city", "apply": "on_create"},
        },
        overwrite_custom_fields=False,
    )
    assert m.rules == {
        "d": "when_empty",  # no rule of its own: the overwrite switch's
        "s": "on_create",
        "name": "on_create",
        "phone:w": "when_empty",
        "phone:mo": "always",
    }


def plan(rules: dict[str, str], existing: ExistingContact, mapped: Mapped) -> Any:
    return decide(
        "t", "u", mapped, existing, overwrite=True, field_names={"d": "Department"}, rules=rules
    )


def contact(
    name: str = "Agent Edit", custom: dict[str, Any] | None = None, phones: Any = ()
) -> ExistingContact:
    return ExistingContact("c1", "a@x.example", name, list(phones), custom or {})


def test_on_create_leaves_an_agents_edit_alone() -> None:
    mapped = Mapped("a@x.example", "Directory Name", [], {"d": "Sales", "s": "2024"})
    action = plan(
        {"d": "on_create", "name": "on_create", "s": "always"},
        contact(custom={"d": "Edited", "s": "2024"}),
        mapped,
    )
    assert action.kind is ActionKind.UNCHANGED
    created = decide(
        "t", "u", mapped, None, overwrite=True, field_names={}, rules={"d": "on_create"}
    )
    assert created.write is not None and created.write.custom["d"] == "Sales"


def test_when_empty_fills_only_empty_values() -> None:
    mapped = Mapped("a@x.example", "Agent Edit", [], {"d": "Sales", "s": "2024"})
    action = plan(
        {"d": "when_empty", "s": "when_empty"}, contact(custom={"d": "Edited", "s": None}), mapped
    )
    assert action.kind is ActionKind.UPDATE
    assert action.write is not None and action.write.custom == {"s": "2024"}


def test_phone_rules_per_type() -> None:
    mapped = Mapped("a@x.example", "Agent Edit", [Phone("w", "+1"), Phone("mo", "+2")], {})
    existing = contact(phones=[Phone("w", "+9"), Phone("mo", "+8")])
    action = plan({"phone:w": "on_create", "phone:mo": "always"}, existing, mapped)
    assert action.write is not None
    assert sorted((p.type, p.number) for p in action.write.phones) == [("mo", "+2"), ("w", "+9")]


values = st.none() | st.sampled_from(["", "Sales", "Support", "Edited"])
rules = st.sampled_from(["always", "on_create", "when_empty"])


@given(st.dictionaries(st.sampled_from(["d", "s"]), rules), values, values, values, values, rules)
def test_what_an_update_may_write(
    field_rules: dict[str, str], d_now: Any, s_now: Any, d_dir: Any, s_dir: Any, name_rule: str
) -> None:
    """Whatever the values: on_create never writes an existing contact's field, when_empty
    writes only an empty one, always writes whatever differs; a second plan after the write
    changes nothing."""
    existing = contact(custom={"d": d_now, "s": s_now})
    mapped = Mapped("a@x.example", "Directory", [], {"d": d_dir, "s": s_dir})
    all_rules = {"name": name_rule, **field_rules}
    action = plan(all_rules, existing, mapped)
    written = action.write.custom if action.write else {}
    for field_id, now, wanted in (("d", d_now, d_dir), ("s", s_now, s_dir)):
        rule = field_rules.get(field_id, "always")
        if field_id in written:
            assert rule != "on_create"
            assert rule != "when_empty" or same(now, None)
            assert written[field_id] == wanted
        elif rule == "always":
            assert same(now, wanted)
    name = action.write.name if action.write else existing.name
    assert name == ("Directory" if name_rule == "always" else existing.name)
    after = contact(name=name, custom={**existing.custom, **written})
    assert plan(all_rules, after, mapped).kind is ActionKind.UNCHANGED
