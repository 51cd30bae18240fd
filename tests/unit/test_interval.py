"""[schedule] interval: what check-config accepts, and what it says about the rest."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from azsyncd.config import file as config_file
from azsyncd.config.interval import format_interval, parse_interval
from azsyncd.errors import ConfigError
from tests.helpers import daemon_command, write_config


@pytest.mark.parametrize(
    "text, every",
    [
        ("5m", timedelta(minutes=5)),
        ("1m", timedelta(minutes=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("24h", timedelta(hours=24)),
        (" 2h ", timedelta(hours=2)),
        ("", None),
        ("0", None),
        ("0m", None),
    ],
)
def test_intervals_that_are_understood(text: str, every: timedelta | None) -> None:
    assert parse_interval(text) == every
    if every:
        assert parse_interval(format_interval(every)) == every


@pytest.mark.parametrize(
    "text, says",
    [
        ("5 minutes", '"5 minutes" is not an interval (did you mean "5m"?)'),
        ("2 hours", '(did you mean "2h"?)'),
        ("5", '"5" is not an interval (did you mean "5m"?)'),
        ("5M", '"5M" is not an interval'),
        ("m", '"m" is not an interval'),
        ("-5m", '"-5m" is not an interval'),
        ("1.5m", '"1.5m" is not an interval'),
        ("30s", '"30s" is shorter than the minimum of 1 minute; use "1m" or more'),
        ("59s", "shorter than the minimum of 1 minute"),
        ("25h", '"25h" is longer than a day'),
    ],
)
def test_intervals_that_are_refused_say_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_interval(text)
    assert says in str(caught.value)
    assert '"0" ' in str(caught.value)  # and how to turn it off


def test_off_by_default_which_keeps_the_daily_schedule_alone(tmp_path: Path) -> None:
    schedule = config_file.load(write_config(tmp_path, "")).config.schedule
    assert schedule.interval == "" and schedule.every is None


def test_a_bare_number_in_the_file_is_refused_with_the_unit_to_add(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_file.load(write_config(tmp_path, "[schedule]\ninterval = 5\n"))
    (problem,) = caught.value.problems
    assert problem.key == "schedule.interval" and 'e.g. "5m"' in problem.message
    zero = config_file.load(write_config(tmp_path, "[schedule]\ninterval = 0\n"))
    assert zero.config.schedule.every is None


def test_check_config_names_the_key_and_the_fix(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[schedule]\nenabled = true\ninterval = "5 minutes"\n')
    failed = subprocess.run(
        daemon_command("check-config", "--config", str(path)), capture_output=True, text=True
    )
    assert failed.returncode == 2
    assert (
        'schedule.interval: "5 minutes" is not an interval (did you mean "5m"?); write a number'
        ' and a unit, e.g. "5m", "90s" or "1h30m"'
    ) in failed.stderr
    path.write_text('[schedule]\nenabled = true\ninterval = "5m"\n')
    assert subprocess.run(daemon_command("check-config", "--config", str(path))).returncode == 0
