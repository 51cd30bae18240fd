"""Expressions and conditions in the configuration file: every mistake is listed by
check-config with its key, its column and the nearest known name; a good file says its
scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from azsyncd import cli
from tests.unit.test_config import problems_of, write_config

TENANT = """
[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"
client_id = "00000000-0000-4000-8000-000000000001"
client_secret_file = "secret"
[tenants.scope]
exclude = ['companyName = "Contractors" or department matchs "x"']
"""


def test_each_mistake_is_named_at_its_key_and_column(tmp_path: Path) -> None:
    text = "\n".join(
        problems_of(
            """
[mapping]
email = 'coalesce(mial, userPrincipalName)'
name = 'join(" ", givenName, surname'
[mapping.phones]
w = "businessPhones"
[scope]
include = ['userType = "Gust"', "has licence"]
[[contact_groups]]
group = "Sales"
when = 'department startswith "Sales"'
"""
            + TENANT,
            tmp_path,
        )
    )
    for expected in (
        "mapping.email: 'coalesce(mial, userPrincipalName)': at column 10: unknown directory"
        ' attribute "mial" (did you mean "mail"?)',
        'mapping.name: \'join(" ", givenName, surname\': at column 29: expected "," or ")"',
        "mapping.phones.w: gives list, and a phone number is one text value; pick one item",
        "scope.include: 'userType = \"Gust\"': at column 12: userType is one of Member, Guest,"
        ' never "Gust" (did you mean "Guest"?)',
        "contact_groups[0].when: 'department startswith \"Sales\"': at column 12: expected a"
        " comparison",
        'tenants[0].scope.exclude: \'companyName = "Contractors" or department matchs "x"\':'
        " at column 43",
    ):
        assert expected in text, expected


def test_a_value_is_checked_against_its_fields_type(tmp_path: Path) -> None:
    text = "\n".join(
        problems_of(
            """
[target.local]
fields = [
  { name = "Office", type = "dropdown", choices = ["Berlin", "London"] },
  { name = "Skills", type = "dropdown", choices = ["Python", "Go"] },
  { name = "Start", type = "number" },
]
[mapping.custom_fields]
Office = 'switch(officeLocation, "B": "Berlinn", default: "London")'
Skills = 'split(department, ";")'
Start = { value = 'format_date(employeeHireDate, "%Y")', apply = "on_create" }
""",
            tmp_path,
        )
    )
    for expected in (
        'mapping.custom_fields.Office: Office: at column 29 of \'switch(officeLocation, "B":'
        ' "Berlinn", default: "London")\': "Berlinn" is not a choice (did you mean "Berlin"?)',
        "mapping.custom_fields.Skills: Skills is a dropdown field and 'split(department, \";\")'"
        " gives list",
    ):
        assert expected in text, expected
    assert "Start" not in text  # text into a number field is read as a number per contact


def test_a_rule_that_is_no_rule_is_named(tmp_path: Path) -> None:
    (problem,) = problems_of(
        '[mapping.custom_fields]\nStart = { value = "employeeHireDate", apply = "on_creat" }\n',
        tmp_path,
    )
    assert problem == (
        "mapping.custom_fields.Start.apply: Input should be 'always', 'on_create' or"
        " 'when_empty' (got 'on_creat')"
    )


def test_check_config_says_the_scope(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(
        tmp_path,
        """
[scope]
include = ["has license", 'userType = "Member"']
exclude = ['mail matches "^room-"']
""",
    )
    assert cli.main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "scope: include ['has license', 'userType = \"Member\"']" in out
    assert "exclude ['mail matches \"^room-\"']" in out


def test_whole_number_yes_no_and_date_time_fields_take_the_kinds_they_can_hold(
    tmp_path: Path,
) -> None:
    text = "\n".join(
        problems_of(
            """
[target.local]
fields = [
  { name = "Badge", type = "integer" },
  { name = "Remote", type = "boolean" },
  { name = "Started", type = "datetime" },
  { name = "Floor", type = "integer" },
  { name = "Badges", type = "integer" },
  { name = "Hired", type = "datetime" },
]
[mapping.custom_fields]
Badge = 'businessPhones'
Remote = 'split(department, ";")'
Started = 'otherMails'
Floor = 'left(employeeId, 3)'
Badges = 'accountEnabled'
Hired = 'employeeHireDate'
""",
            tmp_path,
        )
    )
    for expected in (
        "mapping.custom_fields.Badge: Badge is an integer field and 'businessPhones' gives list;"
        " pick one item",
        "mapping.custom_fields.Remote: Remote is a boolean field and 'split(department, \";\")'"
        " gives list",
        "mapping.custom_fields.Started: Started is a datetime field and 'otherMails' gives list;"
        " pick one item",
        "mapping.custom_fields.Badges: Badges is an integer field and 'accountEnabled' gives"
        " yes/no",
    ):
        assert expected in text, expected
    assert "Floor" not in text and "Hired" not in text


def test_a_scope_given_one_condition_as_text_takes_it_as_a_list_of_one() -> None:
    """`include = "has license"` (or `azsyncctl settings set scope.include="has license"`)
    means the one condition; it was refused as "Input should be a valid list"."""
    from azsyncd.config.model import Scope

    scope = Scope.model_validate({"include": "has license", "exclude": 'userType = "Guest"'})
    assert scope.include == ["has license"] and scope.exclude == ['userType = "Guest"']
    with pytest.raises(ValueError, match="has licence"):
        Scope.model_validate({"include": "has licence"})
