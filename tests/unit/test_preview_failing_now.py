"""What a preview counts as failing now, checked for every input (Hypothesis).

``Mapper.fails`` is the cheap twin of ``Mapper.map``: it must say a user fails exactly when
``map`` raises. A preview asks the settings in use only about the parts of the mapping a
change touches (``touched``) for a user the change maps: for such a user that must give the
same answer as the whole mapping in use.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsyncd.config.model import Mapping
from azsyncd.sync.mapping import Mapper, MappingFailure
from azsyncd.sync.preview import touched
from azsyncd.targets.fields import Choice, FieldDef, FieldType

FIELDS = [
    FieldDef("1", "Department", FieldType.TEXT),
    FieldDef("2", "Badge", FieldType.NUMBER, required=True),
    FieldDef(
        "3", "Office", FieldType.DROPDOWN, choices=(Choice("b", "Berlin"), Choice("l", "London"))
    ),
    FieldDef("4", "Hired", FieldType.DATE),
]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "Berlin", "london", "Mars", "12", "x-1", "2024-02-29", "nope"]),
    st.sampled_from(["a@contoso.example", "not an address", "g#EXT#@contoso.example"]),
)
USERS = st.fixed_dictionaries(
    {
        "id": st.just("u1"),
        "userPrincipalName": VALUES,
        "mail": VALUES,
        "displayName": VALUES,
        "givenName": VALUES,
        "surname": VALUES,
        "department": VALUES,
        "employeeId": VALUES,
        "officeLocation": VALUES,
        "mobilePhone": VALUES,
        "employeeHireDate": VALUES,
        "userType": st.sampled_from(["Member", "Guest"]),
        "otherMails": st.lists(VALUES.filter(lambda v: v is not None), max_size=2),
    }
)
MAPPINGS = st.fixed_dictionaries(
    {
        "email": st.sampled_from(
            ["userPrincipalName", "mail", "coalesce(mail, userPrincipalName)", "lower(mail)"]
        ),
        "guest_email_from_mail": st.booleans(),
        "name": st.sampled_from(
            ["{displayName}", "{givenName} {surname}", 'join(" ", givenName, surname)']
        ),
        "phones": st.dictionaries(
            st.sampled_from(["mo", "w"]), st.sampled_from(["mobilePhone", "employeeId"]), max_size=2
        ),
        "skip_empty_phones": st.booleans(),
        "custom_fields": st.dictionaries(
            st.sampled_from(["Department", "Badge", "Office", "Hired", "Missing"]),
            st.sampled_from(
                [
                    "department",
                    "employeeId",
                    "officeLocation",
                    "employeeHireDate",
                    "upper(department)",
                ]
            ),
            max_size=4,
        ),
    }
)


def failed(mapper: Mapper, user: dict[str, Any]) -> bool:
    try:
        mapper.map(user)
    except MappingFailure:
        return True
    return False


@settings(max_examples=400, deadline=None)
@given(MAPPINGS, USERS)
def test_fails_says_what_map_says(mapping: dict[str, Any], user: dict[str, Any]) -> None:
    mapper = Mapper(Mapping.model_validate(mapping), FIELDS)
    assert mapper.fails(user) == failed(mapper, user)


@settings(max_examples=400, deadline=None)
@given(MAPPINGS, MAPPINGS, USERS)
def test_for_a_user_the_change_maps_the_touched_parts_decide(
    before: dict[str, Any], after: dict[str, Any], user: dict[str, Any]
) -> None:
    old, new = Mapping.model_validate(before), Mapping.model_validate(after)
    changed = Mapper(new, FIELDS)
    if changed.fails(user):
        return  # the preview checks such a user against the whole mapping in use
    in_use = Mapper(old, FIELDS)
    assert in_use.fails(user, touched(old, new)) == in_use.fails(user)


def test_an_unchanged_mapping_touches_nothing_and_each_change_its_part() -> None:
    base = Mapping.model_validate(
        {"phones": {"mo": "mobilePhone"}, "custom_fields": {"Badge": "employeeId"}}
    )
    assert touched(base, base) == frozenset()

    def changed(**values: Any) -> frozenset[str]:
        return touched(base, Mapping.model_validate({**base.model_dump(), **values}))

    assert changed(email="mail") == {"email"}
    assert changed(name="{givenName}") == {"name"}
    assert changed(skip_empty_phones=True) == {"phone:mo"}
    assert changed(custom_fields={"Badge": "employeeId", "Office": "officeLocation"}) == {
        "field:Office",
        "required",
    }
    assert changed(custom_fields={"Badge": {"value": "employeeId", "apply": "on_create"}}) == set()


@pytest.mark.parametrize("parts", [frozenset(), frozenset({"name"})])
def test_a_part_left_out_is_not_looked_at(parts: frozenset[str]) -> None:
    mapper = Mapper(Mapping.model_validate({"email": "mail"}), FIELDS)
    user = {"id": "u1", "mail": "", "displayName": "Ann"}
    assert mapper.fails(user) and not mapper.fails(user, parts)
