from __future__ import annotations

import csv
import io
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from azsyncd.state.repository import RecordRow
from azsyncd.sync import report


def rendered(rows: list[RecordRow]) -> str:
    return "".join(report.iter_csv(rows))


def test_seed_columns_come_first_and_the_file_has_a_bom() -> None:
    text = rendered([RecordRow("contoso", "u1", "ann@x.test", "New", "success", "Created")])
    assert text.startswith("\ufeffEmail,Type,Sync Status,Result,Tenant,User ID,Changed fields\r\n")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1] == ["ann@x.test", "New", "Success", "Created", "contoso", "u1", ""]


def test_formula_like_cells_are_neutralised() -> None:
    text = rendered(
        [
            RecordRow(
                "t", "u", '=HYPERLINK("http://evil")@x.test', "New", "failed", "-2+3", "@SUM(A1)"
            )
        ]
    )
    row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1]
    assert (
        row[0].startswith("'=")
        and row[2] == "Failed"
        and row[3] == "'-2+3"
        and row[6] == "'@SUM(A1)"
    )


def test_large_reports_stream_in_chunks() -> None:
    rows = [RecordRow("t", str(i), f"u{i}@x.test", "New", "success", "") for i in range(2500)]
    chunks = list(report.iter_csv(rows))
    assert len(chunks) == 3
    assert "".join(chunks).count("\r\n") == 2501


@given(st.lists(st.text(), min_size=7, max_size=7))
def test_no_cell_ever_starts_with_a_formula_character(cells: list[str]) -> None:
    record = RecordRow(cells[4], cells[5], cells[0], cells[1], "failed", cells[3], cells[6])
    for row in csv.reader(io.StringIO(rendered([record]).removeprefix("\ufeff"))):
        for cell in row:
            assert not cell.startswith(report.FORMULA_STARTS)


# Terminal controls and bidi overrides, as a directory attribute may hold them.
HOSTILE = ("\x1b", "\x07", "\x9b", "\x9d", "\r", "\x00", "\u202e", "\u2066", "\x7f")


@given(
    st.lists(st.text(alphabet=st.sampled_from(HOSTILE) | st.characters()), min_size=7, max_size=7)
)
def test_no_cell_ever_holds_a_terminal_control_or_bidi_override(cells: list[str]) -> None:
    record = RecordRow(cells[4], cells[5], cells[0], cells[1], "failed", cells[3], cells[6])
    text = rendered([record]).removeprefix("\ufeff")
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not any(c in cell for c in HOSTILE), cell
            assert not any(unicodedata.category(c) == "Cc" for c in cell), cell


def test_contacts_csv_escapes_what_would_act_on_a_terminal() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    contact = SimpleNamespace(
        email="ann@x.test",
        name="Ann\x1b[2J\x1b]52;c;ZXZpbA==\x07 \u202etxt.exe",
        phones=[{"type": "mo", "number": "+1\x1b[31m555"}],
        custom={"Department": "\x9b31mSales"},
        source_tenant="contoso",
        source_object_id="u1",
        login_enabled=True,
        groups={"A"},
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    text = "".join(report.iter_contacts_csv([contact], ["Department"]))
    row = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1]
    assert not any(c in cell for c in HOSTILE for cell in row)
    assert row[1] == "Ann\\u001b[2J\\u001b]52;c;ZXZpbA==\\u0007 \\u202etxt.exe"
    assert row[2] == "mo: +1\\u001b[31m555" and row[3] == "\\u009b31mSales"
