"""When a save is refused for its preview: past [sync] max_fail_share, and only for the
failures the change adds."""

from __future__ import annotations

from azsyncd.sync.preview import Preview, Reason, TenantPreview, refusal


def test_a_save_is_refused_only_for_failures_the_change_adds() -> None:
    def tenant(fail: int, now: int) -> TenantPreview:
        found = TenantPreview("t", contacts=100, users=100, failing_now=now)
        found.counts["fail"] = fail
        return found

    top = [Reason("phone (m) <- faxNumber: empty in the directory", 90)]
    assert refusal(Preview([tenant(20, 0)], top), 0.2) is None  # at the limit, not past it
    why = refusal(Preview([tenant(90, 1)], top), 0.2)
    assert (
        why is not None and "fail 90 of 100" in why and "faxNumber" in why and "1 fail now" in why
    )
    assert refusal(Preview([tenant(43, 43)], top), 0.2) is None  # already failing: not held up
    assert refusal(Preview([tenant(44, 43)], top), 0.2) is not None
