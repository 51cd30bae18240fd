"""The field-type table: complete, unambiguous, and its conversions pass its own checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azsyncd.sync.planner import COUNTED_AS, ActionKind
from azsyncd.targets.fields import (
    FIELD_TYPES,
    WRITABLE,
    Choice,
    FieldDef,
    FieldType,
    convert,
    field_type,
    problem,
)
from azsyncd.targets.happyfox.client import field_from

CHOICES = (Choice("31", "Berlin"), Choice("32", "London"), Choice("33", "São Paulo"))
directory_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["berlin", "LONDON", "são paulo", "Berlin; London", "2024-02-29", "12,5"]),
    st.lists(st.sampled_from(["Berlin", "london", "Mars"]), max_size=3),
)


def test_every_type_has_one_row_and_every_spelling_one_type() -> None:
    assert set(FIELD_TYPES) == set(FieldType)
    spellings = [name for rule in FIELD_TYPES.values() for name in rule.spellings]
    assert len(spellings) == len(set(spellings))
    assert FIELD_TYPES[FieldType.UNKNOWN].spellings == ()
    assert {t for t in FieldType if FIELD_TYPES[t].choices} == {
        FieldType.DROPDOWN,
        FieldType.MULTI_SELECT,
    }


@pytest.mark.parametrize(
    "spelled, expected",
    [
        ("text", FieldType.TEXT),
        (" TextArea ", FieldType.TEXT),
        ("choice", FieldType.DROPDOWN),
        ("multiple_choice", FieldType.MULTI_SELECT),
        ("decimal", FieldType.NUMBER),
        ("integer", FieldType.INTEGER),
        ("Checkbox", FieldType.BOOLEAN),
        ("date", FieldType.DATE),
        ("hologram", FieldType.UNKNOWN),
        ("", FieldType.UNKNOWN),
    ],
)
def test_how_help_desks_spell_a_type(spelled: str, expected: FieldType) -> None:
    assert field_type(spelled) is expected
    assert field_from({"id": 1, "name": "F", "type": spelled}).type is expected


@pytest.mark.parametrize("kind", WRITABLE)
@given(value=directory_values, required=st.booleans())
def test_what_a_conversion_gives_passes_the_check(
    kind: FieldType, value: Any, required: bool
) -> None:
    field = FieldDef("f", "Field", kind, required, CHOICES if FIELD_TYPES[kind].choices else ())
    try:
        converted = convert(field, value)
    except ValueError as exc:
        assert "fix:" in str(exc) or "yes/no" in str(exc)
        return
    reason = problem(field, converted)
    assert reason is None or (required and converted is None and "required" in reason)


@pytest.mark.parametrize(
    "kind, value, expected",
    [
        (FieldType.BOOLEAN, "Yes", True),
        (FieldType.BOOLEAN, " false ", False),
        (FieldType.BOOLEAN, 0, False),
        (FieldType.INTEGER, "1 234", 1234),
        (FieldType.INTEGER, 7.0, 7),
    ],
)
def test_yes_no_and_whole_numbers(kind: FieldType, value: Any, expected: Any) -> None:
    converted = convert(FieldDef("f", "Field", kind), value)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(
    "kind, value, reason",
    [(FieldType.BOOLEAN, "perhaps", "is not a yes/no value"), (FieldType.INTEGER, "2.5", "whole")],
)
def test_what_is_not_yes_no_or_whole_says_so(kind: FieldType, value: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        convert(FieldDef("f", "Field", kind), value)


def test_a_text_field_with_a_pattern_takes_only_what_matches_whole() -> None:
    badge = FieldDef("b", "Badge", FieldType.TEXT, pattern=r"B-\d{4}")
    assert convert(badge, " B-0042 ") == "B-0042"
    with pytest.raises(ValueError, match=r"does not match the field's pattern B-\\d\{4\}; fix:"):
        convert(badge, "B-0042x")
    assert problem(badge, "x") == "Badge: 'x' does not match the pattern B-\\d{4}"
    assert convert(FieldDef("b", "Odd", FieldType.TEXT, pattern="(unclosed"), "x") == "x"


def test_a_stored_value_of_the_wrong_shape_is_named_not_raised() -> None:
    dropdown = FieldDef("d", "Office", FieldType.DROPDOWN, choices=CHOICES)
    assert problem(dropdown, ["31"]) == "Office: ['31'] is not one of the choices"
    assert problem(FieldDef("n", "Age", "number"), True) == "Age: a number is required, got True"


def test_every_final_action_kind_is_counted_and_pending_never_is() -> None:
    assert set(COUNTED_AS) == set(ActionKind) - {ActionKind.PENDING}
    assert {k for k in ActionKind if k.writes} == {ActionKind.CREATE, ActionKind.UPDATE}
