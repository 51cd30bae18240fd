"""Table-driven mapping: every type and every failure rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsyncd.config.model import Mapping
from azsyncd.sync.mapping import Mapped, Mapper, MappingFailure, fingerprint
from azsyncd.targets.base import Phone
from azsyncd.targets.fields import Choice, FieldDef, convert

TEXT = FieldDef("t", "Title", "text")
NUMBER = FieldDef("n", "Employee ID", "number")
DROPDOWN = FieldDef(
    "d", "Office", "dropdown", choices=(Choice("31", "Berlin"), Choice("32", "London"))
)
MULTI = FieldDef(
    "m",
    "Skills",
    "multi_select",
    choices=(Choice("1", "Python"), Choice("2", "Go"), Choice("3", "Rust")),
)
DATE = FieldDef("h", "Hire date", "date")
ODD = FieldDef("x", "Badge", "unknown", raw_type="hologram")


@pytest.mark.parametrize(
    "field, value, expected",
    [
        (TEXT, "Engineer", "Engineer"),
        (TEXT, "  padded ", "padded"),
        (TEXT, True, "Yes"),
        (TEXT, ["a", "b"], "a, b"),
        (TEXT, None, None),
        (TEXT, "", None),
        (NUMBER, "12345", 12345),
        (NUMBER, 42, 42),
        (NUMBER, "12.5", 12.5),
        (NUMBER, "3,75", 3.75),
        (NUMBER, "-7", -7),
        (NUMBER, "1 000", 1000),
        (DROPDOWN, "berlin", "31"),
        (DROPDOWN, "LONDON", "32"),
        (MULTI, "python; rust", ["1", "3"]),
        (MULTI, ["Go"], ["2"]),
        (MULTI, "", None),
        (DATE, "2021-03-01T00:00:00Z", "2021-03-01"),
        (DATE, "2021-03-01", "2021-03-01"),
    ],
)
def test_conversions(field: FieldDef, value: Any, expected: Any) -> None:
    assert convert(field, value) == expected


@pytest.mark.parametrize(
    "field, value, message",
    [
        (NUMBER, "A-123", '"A-123" is not a number (datatype mismatch)'),
        (NUMBER, True, "is a yes/no value, not a number"),
        (DROPDOWN, "Paris", '"Paris" is not a choice of this field (allowed: Berlin, London)'),
        (
            MULTI,
            "Python, COBOL",
            '"COBOL" is not a choice of this field (allowed: Python, Go, Rust)',
        ),
        (DATE, "next monday", '"next monday" is not a date'),
        (ODD, "x", "type 'hologram', which azsync cannot write"),
    ],
)
def test_conversion_failures_say_why_and_how_to_fix(
    field: FieldDef, value: Any, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        convert(field, value)
    assert message in str(caught.value) and (
        "fix:" in str(caught.value) or (field is NUMBER and value is True)
    )


def test_long_values_are_shortened_in_reasons() -> None:
    with pytest.raises(ValueError) as caught:
        convert(NUMBER, "x" * 500)
    assert "x" * 41 not in str(caught.value) and "…" in str(caught.value)


USER = {
    "id": "1",
    "userPrincipalName": "ann@contoso.example",
    "mail": "ann.lee@contoso.example",
    "displayName": "Ann Lee",
    "givenName": "Ann",
    "surname": "Lee",
    "mobilePhone": "+1 555",
    "businessPhones": [],
    "employeeId": "77",
    "userType": "Member",
}


def mapper(**overrides: Any) -> Mapper:
    return Mapper(
        Mapping(**overrides),
        [TEXT, NUMBER, DROPDOWN, FieldDef("r", "Cost center", "text", required=True)],
    )


def failure(user: dict[str, Any], **overrides: Any) -> list[str]:
    with pytest.raises(MappingFailure) as caught:
        mapper(**overrides).map(user)
    return caught.value.reasons


def test_email_name_phones_and_required_fields() -> None:
    mapped = mapper(
        name="{givenName} {surname}",
        phones={"mo": "mobilePhone"},
        custom_fields={"Employee ID": "employeeId", "Cost center": "displayName"},
    ).map(USER)
    assert (mapped.email, mapped.name, [(p.type, p.number) for p in mapped.phones]) == (
        "ann@contoso.example",
        "Ann Lee",
        [("mo", "+1 555")],
    )
    assert mapped.custom == {"n": 77, "r": "Ann Lee"} and len(mapped.fingerprint) == 32


def test_guests_use_mail_then_other_mails() -> None:
    guest = {
        **USER,
        "userPrincipalName": "ann_fabrikam.example#EXT#@contoso.example",
        "userType": "Guest",
    }
    m = mapper(custom_fields={"Cost center": "displayName"})
    assert m.map(guest).email == "ann.lee@contoso.example"
    assert (
        m.map({**guest, "mail": None, "otherMails": ["Ann@Other.example"]}).email
        == "ann@other.example"
    )
    reasons = failure(
        guest, guest_email_from_mail=False, custom_fields={"Cost center": "displayName"}
    )
    assert (
        "is a guest's UPN, not a mailbox" in reasons[0]
        and "guest_email_from_mail = true" in reasons[0]
    )


@pytest.mark.parametrize(
    "user, overrides, expected",
    [
        (
            {**USER, "userPrincipalName": ""},
            {},
            "email <- userPrincipalName: empty in the directory",
        ),
        (
            {**USER, "userPrincipalName": "not an address"},
            {},
            '"not an address" is not an email address',
        ),
        (
            {**USER, "givenName": None, "surname": None},
            {"name": "{givenName} {surname}"},
            "name <- {givenName} {surname}: empty",
        ),
        (
            {**USER, "mobilePhone": None},
            {"phones": {"mo": "mobilePhone"}},
            "phone (mo) <- mobilePhone: empty in the directory",
        ),
        (
            {**USER, "employeeId": "A-1"},
            {"custom_fields": {"Employee ID": "employeeId"}},
            'Employee ID <- employeeId: "A-1"',
        ),
        (
            {**USER, "department": None},
            {"custom_fields": {"Cost center": "department"}},
            "Cost center <- department: the field is required but empty",
        ),
    ],
)
def test_failure_rules(user: dict[str, Any], overrides: dict[str, Any], expected: str) -> None:
    overrides.setdefault("custom_fields", {"Cost center": "displayName"})
    assert any(expected in reason for reason in failure(user, **overrides))


def test_a_required_field_without_mapping_fails_every_contact() -> None:
    assert "Cost center: a required field with no mapping" in failure(USER)[0]


def test_skip_empty_phones_skips_instead_of_failing() -> None:
    mapped = mapper(
        phones={"mo": "mobilePhone", "w": "businessPhones[0]"},
        skip_empty_phones=True,
        custom_fields={"Cost center": "displayName"},
    ).map(USER)
    assert [(p.type, p.number) for p in mapped.phones] == [("mo", "+1 555")]


def test_all_problems_of_a_user_are_reported_together() -> None:
    reasons = failure(
        {**USER, "userPrincipalName": "", "employeeId": "x", "mobilePhone": ""},
        phones={"mo": "mobilePhone"},
        custom_fields={"Employee ID": "employeeId", "Cost center": "displayName"},
    )
    assert len(reasons) == 3


_LEAF = st.one_of(
    st.text(),  # quotes, backslashes, control characters, astral planes...
    st.integers(),
    st.none(),
    st.booleans(),  # not plain: the encoder's path
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False),  # default=str
)


@settings(max_examples=500, deadline=None)
@given(st.recursive(_LEAF, lambda inner: st.lists(inner) | st.tuples(inner, inner), max_leaves=12))
def test_the_fast_fingerprint_text_is_the_encoders_byte_for_byte(value: object) -> None:
    from azsyncd.sync.mapping import FINGERPRINT_JSON, _plain_json

    plain = _plain_json(value)
    if plain is not None:  # stored fingerprints stay valid
        assert plain == json.dumps(value, default=str, ensure_ascii=False)
    assert FINGERPRINT_JSON.encode(value) == json.dumps(value, default=str, ensure_ascii=False)


def test_a_users_fingerprint_takes_the_fast_way_and_is_what_it_always_was() -> None:
    from azsyncd.sync.mapping import _plain_json

    mapped = Mapped(
        "zoë@x.test", 'Zoë "Z" \\ O\'Brien', [Phone("w", "+49 30 1")], {"2": 7, "1": None}
    )
    data = [mapped.email, mapped.name, [("w", "+49 30 1")], sorted(mapped.custom.items(), key=str)]
    assert _plain_json(data) is not None
    # The value every earlier version stored for this contact.
    assert fingerprint(mapped) == "afd458ee592106fbd4b22752e607ba73"
