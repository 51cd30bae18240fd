"""POST /v1/preview: what the next full run would do with a settings, mapping, scope,
lifecycle or rule change, without saving it or writing anything; and the check that
refuses to save a change whose preview fails too many contacts (unless forced)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from azsyncd import paths
from azsyncd.answers import PreviewAnswer, read
from azsyncd.config.model import Config
from azsyncd.errors import Interrupted, SecretError, TargetError
from azsyncd.service.api.deps import daemon_of
from azsyncd.service.api.errors import ApiError
from azsyncd.service.api.refusals import refusals
from azsyncd.service.api.schemas import Body, Search
from azsyncd.service.daemon import Daemon
from azsyncd.sync.preview import Preview, Previewer, judged, refusal
from azsyncd.sync.services import FieldsUnreadable
from azsyncd.targets.base import Target
from azsyncd.targets.factory import build_target
from azsyncd.targets.fields import FieldDef

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1")
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
Change = Callable[[dict[str, Any]], None]
# The longest a save waits for its preview (another preview's turn included): past it the
# change is saved, with a warning in the log, as when the help desk cannot be asked. A
# preview of 100,000 users takes about 25 s.
GUARD_SECONDS = 300.0


class TenantChange(Body):
    name: str = Field(..., max_length=64, description="The tenant, as in PATCH /v1/tenants/{name}")
    changes: dict[str, Any] = Field(default_factory=dict, description="That PATCH's body")


class PreviewRequest(Body):
    """Any of the bodies a change takes; they are previewed together."""

    settings: dict[str, Any] | None = Field(None, description="A PATCH /v1/settings body")
    lifecycle: dict[str, Any] | None = Field(None, description="A PATCH /v1/lifecycle body")
    tenant_change: TenantChange | None = Field(None, description="A PATCH /v1/tenants/{name}")
    tenant: Search | None = Field(None, description="Preview only this tenant")
    sample: int = Field(
        10, ge=0, le=100, strict=True, description="Changed contacts shown with their diffs"
    )


def preview_of(
    daemon: Daemon,
    changed: Config,
    tenant: str | None = None,
    sample: int = 10,
    within: float | None = None,
) -> Preview:
    """The next full run over ``changed``, run dry (``sync/preview.py``): every step plans,
    nothing is applied or recorded; the help desk is only read, within the account's shared
    rate limit. ``within``: seconds it may take (then ``Interrupted``)."""
    try:
        target = _target(daemon, changed)
    except (TargetError, SecretError) as exc:
        raise ApiError(502, "target_error", exc.message, exc.fix) from None
    current = daemon.config

    def fields_in_use() -> list[FieldDef]:
        in_use = _target(daemon, current)
        try:
            return in_use.fields()
        finally:
            in_use.close()

    try:
        return Previewer(
            current,
            changed,
            daemon.state,
            daemon.tenants,
            target,
            only=tenant,
            sample=sample,
            clock=daemon.clock,
            fields_in_use=fields_in_use,
        ).run(within)
    except FieldsUnreadable as exc:
        cause = exc.__cause__
        fix = getattr(cause, "fix", "") or "check the help desk's settings and that it answers"
        raise ApiError(
            502,
            "target_error",
            f"the help desk's contact fields could not be read: {cause}",
            fix,
        ) from None
    finally:
        target.close()


def _target(daemon: Daemon, config: Config) -> Target:
    return build_target(
        config,
        daemon.loaded.directory,
        daemon.state.db,
        shared_dir=paths.shared_state_dir(config.state.shared_dir, daemon.state_dir),
    )


def guarded(daemon: Daemon, force: bool) -> Callable[[Config], None] | None:
    """The check a save runs on the changed config: refused, naming the top reason, when its
    preview fails more than [sync] max_fail_share of a tenant's contacts (the lower of the
    share in use and the changed one: a change does not loosen its own check). Only a
    change that can make contacts fail is previewed (``judged``); one whose preview cannot
    be made (the help desk or a tenant cannot be read, or not within GUARD_SECONDS) is saved
    with a warning in the log: no evidence to refuse on."""
    if force:
        return None

    def check(changed: Config) -> None:
        current = daemon.config  # as the save found it, under the file's lock
        touched = judged(current, changed)
        if not touched or not any(t.enabled for t in changed.tenants):
            return
        what = ", ".join(touched)
        try:
            preview = preview_of(daemon, changed, sample=3, within=GUARD_SECONDS)
        except ApiError as exc:
            log.warning("the change to %s was saved without a preview: %s", what, exc.message)
            return
        except Interrupted:
            log.warning(
                "the change to %s was saved without a preview: it took more than %g s",
                what,
                GUARD_SECONDS,
            )
            return
        for tenant in preview.tenants:
            if not tenant.ok:
                log.warning(
                    "the change to %s was saved without the preview of tenant %s: %s",
                    what,
                    tenant.name,
                    tenant.reason,
                )
        limit = min(current.sync.max_fail_share, changed.sync.max_fail_share)
        why = refusal(preview, limit)
        if why:
            raise ApiError(
                422,
                "preview_fails",
                why,
                f"change {what} so that fewer contacts fail (POST /v1/preview shows every"
                " reason with examples), or save it anyway with force",
                preview=preview.as_dict(),
            )

    return check


def combined(daemon: Daemon, request: PreviewRequest) -> Config:
    from azsyncd.service.api.routes_lifecycle import lifecycle_change
    from azsyncd.service.api.routes_settings import settings_change
    from azsyncd.service.api.routes_tenants import tenant_change

    changes: list[Change] = []
    if request.settings:
        changes.append(settings_change(request.settings))
    if request.lifecycle:
        changes.append(lifecycle_change(request.lifecycle))
    if request.tenant_change:
        changes.append(
            tenant_change(daemon, request.tenant_change.name, request.tenant_change.changes)
        )

    def change(document: dict[str, Any]) -> None:
        for step in changes:
            step(document)

    return daemon.config_store.candidate(change)


@router.post(
    "/preview",
    summary="What the next full run would do with a change, saving nothing",
    responses=refusals(404, 502),
)
def post_preview(request: PreviewRequest, daemon: DaemonDep) -> PreviewAnswer:
    changed = combined(daemon, request)
    if request.tenant and changed.tenant(request.tenant) is None:
        raise ApiError(
            404, "no_such_tenant", f'no tenant "{request.tenant}"', "see GET /v1/tenants"
        )
    preview = preview_of(daemon, changed, request.tenant, request.sample)
    answer = preview.as_dict()
    answer["max_fail_share"] = changed.sync.max_fail_share
    answer["refused"] = refusal(preview, changed.sync.max_fail_share) or ""
    return read(PreviewAnswer, answer)
