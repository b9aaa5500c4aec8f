"""The validator never raises on arbitrary cell values, and its findings stay well-formed."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlz import Severity, SheetValues, load_plan, validate_values
from xlz.core.entries import ENTRY_SHEETS

PLAN = load_plan()

cell_values = st.one_of(
    st.none(),
    st.text(max_size=300),
    st.text(alphabet="０１２３４５６７８９,.万亿个件年月日-/ 　全年", max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.datetimes(),
    st.times(),
)
rows = st.lists(st.lists(cell_values, max_size=25), max_size=8)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(project=rows, carrier=rows, activity=rows, keep_headers=st.booleans())
def test_validator_never_raises(project: list[list[object]], carrier: list[list[object]],
                                activity: list[list[object]], keep_headers: bool) -> None:
    data = {}
    for sheet, body in zip(ENTRY_SHEETS, (project, carrier, activity), strict=True):
        head = [list(sheet.headers)] if keep_headers else []
        data[sheet.name] = SheetValues(sheet.name, [*head, *body])  # type: ignore[list-item]
    validation = validate_values(data, PLAN)
    for finding in validation.report:
        assert isinstance(finding.message, str) and finding.message
        assert finding.severity in (Severity.ERROR, Severity.WARNING)
        assert finding.code
        if finding.cell is not None:
            assert finding.address.startswith(f"{finding.sheet}!")
    validation.report.to_json()
