"""The data-quality report: grouped by what fixes a failure (never by its text), nothing of a
user but its address and the failing value of a choice, directory text inert; the digest's
settings refuse what would never arrive or would leak."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from azsyncd.config.changes import is_file_only
from azsyncd.config.model import Config, Mapping
from azsyncd.demo.run import MAPPING
from azsyncd.sync import fixes, quality
from azsyncd.sync.joiners import Window, hire_day
from azsyncd.sync.mapping import Mapper, MappingFailure
from azsyncd.targets.fields import Choice, FieldDef, FieldType

FIELDS = [
    FieldDef("1", "Department", FieldType.TEXT),
    FieldDef("2", "Employee ID", FieldType.NUMBER),
    FieldDef(
        "3",
        "Office",
        FieldType.DROPDOWN,
        required=True,
        choices=(Choice("b", "Berlin"), Choice("l", "London"), Choice("r", "Remote")),
    ),
    FieldDef("4", "Hire date", FieldType.DATE),
    FieldDef("5", "Title", FieldType.TEXT),
]
MAPPER = Mapper(Mapping.model_validate(MAPPING), FIELDS)


@dataclass
class Row:
    """A failing user as the state keeps it."""

    email: str
    fixes: list[dict[str, Any]] = field(default_factory=list)
    tenant: str = "contoso"
    object_id: str = "u"
    since_run: int = 1


def failing(user: dict[str, Any]) -> Row | None:
    try:
        MAPPER.map(user)
    except MappingFailure as failure:
        assert len(failure.fixes) == len(failure.reasons)  # every reason has its fix
        return Row(str(user.get("mail")), fixes.stored(failure.fixes), object_id=user["id"])
    return None


def person(n: int, **values: Any) -> dict[str, Any]:
    return {
        "id": f"u{n}",
        "userPrincipalName": f"p{n}@contoso.example",
        "mail": f"p{n}@contoso.example",
        "givenName": "P",
        "surname": str(n),
        "businessPhones": ["+49 30 1"],
        "mobilePhone": "+49 170 1",
        "department": "Sales",
        "employeeId": "7",
        "officeLocation": "Berlin",
        **values,
    }


def test_failures_are_grouped_by_fix_whatever_the_values() -> None:
    rows = [
        failing(person(1, officeLocation="Mars Base")),
        failing(person(2, officeLocation="Mars Base", mobilePhone=None)),
        failing(person(3, officeLocation="mars base ")),  # another value: another choice
        failing(person(4, employeeId="A-4")),
        failing(person(5, employeeId="twelve")),  # another value, the same fix
        failing(person(6, mobilePhone="")),
    ]
    report = quality.build("Desk", [r for r in rows if r is not None])
    titles = [g.title for g in report.groups]
    assert report.failing == 6
    assert titles == [  # the largest groups first
        'Office "Mars Base" is not a choice of Office (allowed: Berlin, London, Remote): 2 users;'
        " add the choice in the help desk or correct officeLocation",
        "Correct employeeId for 2 users: not a number (the help desk's Employee ID is a number"
        " field)",
        "Set mobilePhone for 2 users (help desk field: phone (mo))",
        'Office "mars base" is not a choice of Office (allowed: Berlin, London, Remote): 1 user;'
        " add the choice in the help desk or correct officeLocation",
    ]
    text = report.text(limit=1)
    assert "  Users: p1@contoso.example and 1 more" in text
    assert "One user's trace: azsyncctl sync --user p1@contoso.example --dry-run" in text


def test_failures_outside_the_directory_are_the_admin_s_and_say_no_reason() -> None:
    refused = Row("r@contoso.example", [fixes.Fix("help_desk").as_json()])
    older = Row("o@contoso.example", [])  # a row kept by an older version: no fix stored
    config = Row(
        "c@contoso.example",
        fixes.stored(
            [fixes.Fix("mapping", "", "Badge", detail="a required field with no mapping")]
        ),
    )
    report = quality.build("Desk", [refused, older, config])
    assert [g.where for g in report.groups] == ["azsync or the help desk"] * 3
    text = report.text()
    assert "To fix in Entra ID" not in text and "To fix in azsync or the help desk:" in text
    assert "The help desk refused the contacts of 1 user" in text
    assert "Badge: a required field with no mapping: 1 user; correct the mapping in azsync" in text


def test_an_address_or_value_is_inert_text() -> None:
    row = failing(person(7, mail="x\x1b[2J@contoso.example", officeLocation="Mars\u202eBase"))
    assert row is not None
    row.email = "x\x1b[2J@contoso.example"
    report = quality.build("Desk", [row])
    text = report.text()
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\u001b[2J" in text and "\\u202e" in text
    lines = "".join(report.csv())
    assert "\x1b" not in lines and "\u202e" not in lines


def sentinel(prefix: str) -> st.SearchStrategy[str]:
    """A value found nowhere else: each attribute's own prefix."""
    return st.text(alphabet="QWXZ", min_size=6, max_size=8).map(lambda s: f"S{prefix}{s}")


@settings(max_examples=150, deadline=None)
@given(
    department=sentinel("d"),
    title=sentinel("t"),
    phone=st.one_of(st.none(), sentinel("p")),
    employee=st.one_of(st.just("7"), sentinel("e")),
    office=st.one_of(st.sampled_from(["Berlin", "London"]), sentinel("o")),
    hire=st.one_of(st.none(), sentinel("h")),
)
def test_a_report_carries_nothing_of_a_user_but_its_address_and_a_failing_choice(
    department: str, title: str, phone: str | None, employee: str, office: str, hire: str | None
) -> None:
    user = person(
        9,
        department=department,
        jobTitle=title,
        mobilePhone=phone,
        businessPhones=[phone] if phone else [],
        employeeId=employee,
        officeLocation=office,
        employeeHireDate=hire,
    )
    row = failing(user)
    if row is None:
        return
    report = quality.build("Desk", [row])
    shown = report.text() + json.dumps(report.as_json()) + "".join(report.csv())
    for value in (department, title, phone, employee, hire):
        if value and value.startswith("S"):
            assert value not in shown
    if office.startswith("S"):  # the failing value of a choice is the fix itself
        assert f'Office "{office}" is not a choice' in shown


def test_stored_fixes_survive_garbage() -> None:
    assert fixes.loaded("not a list") == []
    assert fixes.loaded([{"kind": "rm -rf"}, 3, None, {"kind": "set", "attribute": 5}]) == [
        fixes.Fix("set", "5")
    ]


def test_joiners_window_in_the_account_s_days() -> None:
    from datetime import date

    window = Window(3, date(2026, 3, 2))
    assert hire_day({"employeeHireDate": "2026-03-05T00:00:00Z"}) == date(2026, 3, 5)
    assert hire_day({"employeeHireDate": "soon"}) is None
    assert hire_day({"employeeHireDate": None}) is None and hire_day({}) is None
    assert not window.too_early(date(2026, 3, 5)) and window.too_early(date(2026, 3, 6))
    assert window.ahead(date(2026, 3, 3)) and not window.ahead(date(2026, 3, 2))
    assert window.first_day(date(2026, 3, 20)) == date(2026, 3, 17)


def test_digest_settings_refuse_what_would_leak_or_never_arrive(tmp_path: Any) -> None:
    from azsyncd.config import file as config_file
    from azsyncd.errors import ConfigError
    from tests.helpers import write_config

    ok = Config.model_validate(
        {"alerts": {"digest": {"to": ["it@contoso.example", "https://hooks.example.com/x"]}}}
    )
    assert ok.alerts.digest.emails == ["it@contoso.example"]
    assert ok.alerts.digest.webhooks == ["https://hooks.example.com/x"]
    with pytest.raises(ValidationError, match="must use https://"):
        Config.model_validate({"alerts": {"digest": {"to": ["http://hooks.example.com/x"]}}})
    with pytest.raises(ValidationError, match="neither an email address nor a webhook URL"):
        Config.model_validate({"alerts": {"digest": {"to": ["it-team"]}}})
    with pytest.raises(ValidationError, match="every"):
        Config.model_validate({"alerts": {"digest": {"every": "hourly"}}})
    with pytest.raises(ConfigError) as refused:
        config_file.load(write_config(tmp_path, '[alerts.digest]\nto = ["it@contoso.example"]\n'))
    assert "welcome email's SMTP server" in str(refused.value)
    assert is_file_only("alerts.digest.to") and is_file_only("alerts.digest.secret_file")
    with pytest.raises(ValidationError, match="less than or equal to 365"):
        Config.model_validate({"lifecycle": {"create_before_hire_days": 400}})
