from __future__ import annotations

import logging

import pytest

from azsyncd import logs
from azsyncd.config.secrets import read_secret, write_private
from azsyncd.errors import SecretError


def test_registered_secrets_and_credential_shapes_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logs.register_secret("s3cr3t-value-123")
    formatter = logs.RedactingFormatter("%(message)s")
    record = logging.LogRecord(
        "t",
        logging.INFO,
        __file__,
        1,
        "token failed for s3cr3t-value-123; body client_secret=abc&grant_type=x; "
        "Authorization: Bearer eyJhbGciOi.x.y; password: 'hunter2'",
        None,
        None,
    )
    line = formatter.format(record)
    assert (
        "s3cr3t-value-123" not in line
        and "abc" not in line
        and "eyJhbGciOi" not in line
        and "hunter2" not in line
    )
    assert line.count("[redacted]") == 4 and "grant_type=x" in line


def test_secret_errors_name_the_file_never_the_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "secret"
    write_private(path, b"  the-secret  \n")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read_secret("secret", tmp_path, "tenants[0].client_secret_file") == "the-secret"
    with pytest.raises(SecretError) as caught:
        read_secret("missing", tmp_path, "tenants[0].client_secret_file")
    assert "tenants[0].client_secret_file" in str(caught.value) and str(
        tmp_path / "missing"
    ) in str(caught.value)
    path.write_text("")
    with pytest.raises(SecretError, match="is empty"):
        read_secret("secret", tmp_path, "k")


def test_directory_text_cannot_act_on_a_terminal_or_forge_a_journal_line() -> None:
    formatter = logs.RedactingFormatter("%(levelname)s %(name)s: %(message)s")
    name = "Ann\x1b[2J\x1b]52;c;ZXZpbA==\x07\u202e\nINFO azsyncd.audit: root changed nothing"
    record = logging.LogRecord("run", logging.INFO, __file__, 1, "user %s failed", (name,), None)
    line = formatter.format(record)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert "Ann\\u001b[2J\\u001b]52;c;ZXZpbA==\\u0007\\u202e" in line
    assert [x[:4] for x in line.splitlines()] == ["INFO", "    "]
