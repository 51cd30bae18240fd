"""Syncs: start one, and read the history, records, log and CSV report of runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from azsyncd.answers import Records, Run, RunDetail, RunList, SyncOutcome, read
from azsyncd.service.api.callers import people_of
from azsyncd.service.api.deps import daemon_of, note
from azsyncd.service.api.errors import ApiError, not_found
from azsyncd.service.api.refusals import refusals
from azsyncd.service.api.schemas import ApproveRequest, RecordStatus, Search, SyncRequest
from azsyncd.service.daemon import Daemon
from azsyncd.state.models import SyncRun
from azsyncd.sync import report
from azsyncd.sync.runner import AlreadyRunning

router = APIRouter(prefix="/v1", tags=["runs"])
DaemonDep = Annotated[Daemon, Depends(daemon_of)]
RunId = Annotated[int, "run id"]


def run_view(run: SyncRun, people: bool = True) -> Run:
    """A run; ``people``: False hides the user a one-user run was asked for."""
    return read(Run, _run_fields(run, people))


def _run_fields(run: SyncRun, people: bool = True) -> dict[str, Any]:
    options = dict(run.options or {})
    if not people and "user" in options:
        options["user"] = HIDDEN
    return {
        "id": run.id,
        "trigger": run.trigger,
        "dry_run": run.dry_run,
        "options": options,
        "status": run.status,
        "message": run.message,
        "counts": run.counts,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


@router.post(
    "/sync",
    status_code=202,
    summary="Start a sync; 409 with the running run's id if one runs",
    responses=refusals(404),
)
def start_sync(request: SyncRequest, daemon: DaemonDep, http: Request) -> SyncOutcome:
    if request.tenant is not None and daemon.config.tenant(request.tenant) is None:
        raise not_found(
            f'tenant "{request.tenant}"', "GET /v1/tenants lists the configured tenants"
        )
    try:
        run_id = daemon.start_sync(
            "manual",
            dry_run=request.dry_run,
            options=request.model_dump(exclude_none=True, include={"user", "tenant"})
            | ({"full": True} if request.full else {}),
        )
    except AlreadyRunning as exc:
        raise ApiError(
            409,
            "sync_running",
            str(exc),
            "wait for it to finish (GET /v1/status)",
            run_id=exc.run_id,
        ) from None
    if run_id is None:
        raise ApiError(
            503, "stopping", "the daemon is shutting down", "start the sync after it restarts"
        )
    scope = ", ".join(
        f"{k} {v}" for k, v in request.model_dump(include={"tenant", "user"}).items() if v
    )
    note(
        http,
        f"sync run {run_id} started"
        + (" (full)" if request.full else "")
        + (" (dry run)" if request.dry_run else "")
        + (f": {scope}" if scope else ""),
    )
    if request.wait:
        daemon.runner.wait(request.timeout)
        run = _run(daemon, run_id)
        return SyncOutcome(
            run_id=run_id,
            run=_run_detail(daemon, run, http),
            plan=_records(daemon, run, None, "", 1000, 0) if run.dry_run else None,
        )
    return SyncOutcome(run_id=run_id, run=None, plan=None)


def _held(daemon: Daemon, run_id: int) -> SyncRun:
    run = _run(daemon, _bounded(run_id))
    if run.status != "held":
        raise ApiError(
            409,
            "not_held",
            f"run {run_id} is {run.status}, not held: only a held run is approved or discarded",
            "GET /v1/runs lists the runs; a held run has the status held",
        )
    return run


@router.post(
    "/runs/{run_id}/approve",
    summary="Apply a held run's plan, exactly; 409 if the directory moved since (plan again)",
    responses=refusals(404),
)
def approve_run(
    run_id: int, request: ApproveRequest, daemon: DaemonDep, http: Request
) -> SyncOutcome:
    held = _held(daemon, run_id)
    try:
        started = daemon.start_sync("approval", options={**held.options, "approves": held.id})
    except AlreadyRunning as exc:
        raise ApiError(
            409, "sync_running", str(exc), "approve once it has ended", run_id=exc.run_id
        ) from None
    if started is None:
        raise ApiError(503, "stopping", "the daemon is shutting down", "approve after it restarts")
    note(http, f"run {run_id} approved; run {started} applies it")
    daemon.runner.wait(request.timeout)
    run = _run(daemon, started)
    if run.status == "held":
        raise ApiError(
            409,
            "plan_moved",
            f"run {run_id} was not applied: {run.message}",
            f"review the new plan (GET /v1/runs/{started}/records) and approve run {started}",
            run_id=started,
        )
    return SyncOutcome(run_id=started, run=_run_detail(daemon, run, http), plan=None)


@router.post(
    "/runs/{run_id}/discard",
    summary="Drop a held run's plan; nothing is written",
    responses=refusals(404),
)
def discard_run(run_id: int, daemon: DaemonDep, http: Request) -> Run:
    held = _held(daemon, run_id)
    daemon.state.set_run_status(held.id, "discarded", "discarded by an admin; nothing written")
    daemon.alert_watch.poke()  # its "held" alert is resolved
    note(http, f"run {run_id} discarded")
    return run_view(_run(daemon, held.id))


def _run(daemon: Daemon, run_id: int | str) -> SyncRun:
    run = daemon.state.latest_run() if run_id == "latest" else daemon.state.run(int(run_id))
    if run is None:
        raise not_found(
            "no sync has run yet" if run_id == "latest" else f"run {run_id}",
            "start one with POST /v1/sync" if run_id == "latest" else "GET /v1/runs lists the runs",
        )
    return run


@router.get("/runs", summary="Sync history, newest first")
def list_runs(
    daemon: DaemonDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 30,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> RunList:
    people = people_of(request)
    return RunList(runs=[run_view(r, people) for r in daemon.state.runs(limit, offset)])


def _run_detail(daemon: Daemon, run: SyncRun, request: Request) -> RunDetail:
    people = people_of(request)
    if (run.options or {}).get("user") and not people:
        # A one-user run's log shows that user's mapped values, step by step.
        log = [{"at": run.started_at.isoformat(), "level": "info", "message": ONE_USER_HIDDEN}]
    else:
        log = [
            {"at": line.at.isoformat(), "level": line.level, "message": line.message}
            for line in daemon.state.log_lines(run.id)
        ]
    return read(RunDetail, {**_run_fields(run, people), "log": log})


HIDDEN = "(personal data: [control] readers and admins see it)"
ONE_USER_HIDDEN = (
    "the log of a one-user run quotes that user's data: [control] readers and admins see it"
)


@router.get(
    "/runs/latest", summary="The last sync (not dry runs), with its log", responses=refusals(404)
)
def latest_run(daemon: DaemonDep, request: Request) -> RunDetail:
    return _run_detail(daemon, _run(daemon, "latest"), request)


@router.get("/runs/{run_id}", summary="One run, with its log", responses=refusals(404))
def get_run(run_id: Annotated[int, "id"], daemon: DaemonDep, request: Request) -> RunDetail:
    return _run_detail(daemon, _run(daemon, _bounded(run_id)), request)


def _records(
    daemon: Daemon, run: SyncRun, status: str | None, search: str, limit: int, offset: int
) -> Records:
    rows = daemon.state.records(run.id, status=status, search=search, limit=limit, offset=offset)
    answer = {
        "run_id": run.id,
        "total": daemon.state.count_records(run.id, status=status, search=search),
        "records": [
            {
                "tenant": r.tenant,
                "user_id": r.user_id,
                "email": r.email,
                "type": r.type,
                "status": r.status,
                "result": r.result,
                "changed_fields": r.changed_fields,
            }
            for r in rows
        ],
    }
    return read(Records, answer)


Status = Annotated[RecordStatus | None, Query()]
Limit = Annotated[int, Query(ge=1, le=10000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get(
    "/runs/latest/records", summary="The last sync's per-contact records", responses=refusals(404)
)
def latest_records(
    daemon: DaemonDep,
    status: Status = None,
    search: Search = "",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Records:
    return _records(daemon, _run(daemon, "latest"), status, search, limit, offset)


@router.get(
    "/runs/{run_id}/records", summary="A run's per-contact records", responses=refusals(404)
)
def run_records(
    run_id: int,
    daemon: DaemonDep,
    status: Status = None,
    search: Search = "",
    limit: Limit = 100,
    offset: Offset = 0,
) -> Records:
    return _records(daemon, _run(daemon, _bounded(run_id)), status, search, limit, offset)


def _csv(daemon: Daemon, run: SyncRun) -> StreamingResponse:
    filename = f"azsync-run-{run.id}.csv"
    return StreamingResponse(
        report.iter_csv(daemon.state.iter_records(run.id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/runs/latest/report.csv",
    summary="The last sync's CSV report",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **refusals(404)},
)
def latest_report(daemon: DaemonDep) -> StreamingResponse:
    return _csv(daemon, _run(daemon, "latest"))


@router.get(
    "/runs/{run_id}/report.csv",
    summary="A run's CSV report",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **refusals(404)},
)
def run_report(run_id: int, daemon: DaemonDep) -> StreamingResponse:
    return _csv(daemon, _run(daemon, _bounded(run_id)))


def _bounded(run_id: int) -> int:
    # SQLite integers are 64-bit; a larger id cannot exist and must not reach the driver.
    if not 0 < run_id < 2**63:
        raise not_found(f"run {run_id}", "GET /v1/runs lists the runs")
    return run_id
