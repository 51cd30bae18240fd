"""Whatever Freshservice answers, reading it ends in a requester, a field list, or an error
azsync reports ("answered ... with something azsync cannot read"), never in a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from azsyncd.targets.freshservice.api import Refusal, retry_after
from azsyncd.targets.freshservice.fields import Requester, field_defs, requester_from

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "id",
        "first_name",
        "last_name",
        "primary_email",
        "secondary_emails",
        "department_ids",
        "department_names",
        "custom_fields",
        "active",
        "work_phone_number",
        "mobile_phone_number",
        "can_see_all_tickets_from_associated_departments",
        "updated_at",
        "job_title",
    ]
)
REQUESTERS = JSON | st.dictionaries(KEYS, JSON, max_size=14)


@settings(max_examples=400, deadline=None)
@given(REQUESTERS)
def test_a_requester_is_read_or_refused_with_a_reason(raw: Any) -> None:
    try:
        requester = requester_from(raw, lambda department: None)
    except (ValueError, TypeError, AttributeError) as exc:  # what the target reports
        assert str(exc)
        return
    assert isinstance(requester, Requester) and requester.id
    assert isinstance(requester.email, str) and isinstance(requester.name, str)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["name", "label", "type", "choices", "required_for_agents"]), JSON
        )
    )
)
def test_any_field_list_gives_the_four_built_in_fields_and_typed_custom_ones(
    raw: list[dict[str, Any]],
) -> None:
    try:
        defs = field_defs(raw)
    except (ValueError, TypeError, AttributeError):
        return
    assert [f.id for f in defs[:4]] == ["first_name", "last_name", "job_title", "department"]
    assert all(isinstance(c.label, str) for f in defs for c in f.choices)


@given(JSON, st.integers(400, 499))
def test_any_error_body_gives_a_sentence(body: Any, status: int) -> None:
    reason = Refusal(status, body).reason({"cf_x": "X"})
    assert isinstance(reason, str) and reason


@given(st.text(max_size=40))
def test_any_retry_after_is_a_wait_of_zero_to_an_hour(header: str) -> None:
    assert 0 <= retry_after(header, 0.0) <= 3600
    assert retry_after("99999999", 0.0) == 3600
