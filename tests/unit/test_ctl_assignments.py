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


def test_output_into_a_closed_pipe_ends_without_a_traceback() -> None:
    """`azsyncctl log | head`: the reader leaves early; azsyncctl ends quietly with 141, as
    Unix tools end (it printed a BrokenPipeError traceback). A command whose answer is long,
    without a daemon."""
    import subprocess
    import sys

    from tests.helpers import within

    script = (
        "import sys\n"
        "from azsyncd.control import ctl\n"
        "class Fake:\n"
        "    def __enter__(self): return self\n"
        "    def __exit__(self, *a): return False\n"
        "ctl.Client = lambda *a, **k: Fake()\n"
        "def long(client, printer, args):\n"
        "    for _ in range(5000):\n"
        "        printer.out({}, 'x' * 100)\n"
        "    return 0\n"
        "ctl.COMMANDS['status'] = long\n"
        "sys.exit(ctl.main(['status']))\n"
    )
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    done = subprocess.run(
        [sys.executable, "-c", script], stdout=reader.stdin, stderr=subprocess.PIPE, timeout=60
    )
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(within(10))
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    assert done.returncode == 141  # ctl.EXIT_CLOSED: 128 + SIGPIPE
