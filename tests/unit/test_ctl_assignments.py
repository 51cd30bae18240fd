"""azsyncctl's SECTION.KEY=VALUE assignments, as `settings set` and `lifecycle set` send them."""

from __future__ import annotations

import pytest

from azsyncd.control.ctl import UsageError, merged_assignments, parse_assignment


def test_two_assignments_into_one_table_keep_both() -> None:
    """`settings set mapping.custom_fields.A=x mapping.custom_fields.B=y` sends both fields,
    not only the last one (the first was silently dropped)."""
    patch = merged_assignments(
        [
            "mapping.custom_fields.Office=coalesce(officeLocation, city)",
            "mapping.custom_fields.Employee ID=employeeId",
            "mapping.phones.mo=mobilePhone",
            "schedule.enabled=true",
        ]
    )
    assert patch == {
        "mapping": {
            "custom_fields": {
                "Office": "coalesce(officeLocation, city)",
                "Employee ID": "employeeId",
            },
            "phones": {"mo": "mobilePhone"},
        },
        "schedule": {"enabled": True},
    }


def test_a_quoted_key_names_a_field_with_a_dot_or_quotes() -> None:
    """A key written as TOML writes it (quoted parts keep their dots and lose their quotes)."""
    assert parse_assignment('mapping.custom_fields."Employee ID"=employeeId') == {
        "mapping": {"custom_fields": {"Employee ID": "employeeId"}}
    }
    assert parse_assignment('mapping.custom_fields."Dept. code"=department') == {
        "mapping": {"custom_fields": {"Dept. code": "department"}}
    }
    # Unquoted parts may hold spaces, as before.
    assert parse_assignment("mapping.custom_fields.Employee ID=employeeId") == {
        "mapping": {"custom_fields": {"Employee ID": "employeeId"}}
    }


def test_the_value_keeps_its_equals_signs() -> None:
    assert parse_assignment('scope.include=["department = \\"Sales\\""]') == {
        "scope": {"include": ['department = "Sales"']}
    }
    assert parse_assignment("mapping.email=coalesce(mail, userPrincipalName)") == {
        "mapping": {"email": "coalesce(mail, userPrincipalName)"}
    }


@pytest.mark.parametrize(
    "text", ["schedule", "schedule=1", 'mapping."unclosed=1', "mapping..x=1", ".x=1"]
)
def test_a_bad_key_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_assignment(text)


def test_one_key_given_twice_with_a_table_and_a_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        merged_assignments(["mapping.phones=1", "mapping.phones.mo=mobilePhone"])
