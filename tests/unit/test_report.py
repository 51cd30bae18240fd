from __future__ import annotations

import csv
import io

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
