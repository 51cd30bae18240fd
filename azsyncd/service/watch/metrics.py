"""What the runs did, as Prometheus metrics: served at /v1/metrics and written to a textfile.

Counters grow as runs end (``observe``); the last success per tenant comes from the state
database at each scrape, so it survives a restart. HappyFox calls, 429 locks and the rate
budget in use come from the shared limiters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import write_to_textfile as _write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from azsyncd.state import State
from azsyncd.state.fields import utcnow
from azsyncd.sync.runner import Outcome, Progress
from azsyncd.targets.ratelimit import RateLimiter

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A tenant's counts -> (action, outcome); refused writes are counted by what they tried.
ACTION_OUTCOME = {
    "new": ("create", "success"),
    "updated": ("update", "success"),
    "unchanged": ("none", "unchanged"),
    "skipped": ("none", "skipped"),
    "refused_create": ("create", "failed"),
    "refused_update": ("update", "failed"),
    # Leavers and contact-group rules, outside the contacts' own writes.
    "left": ("disable_login", "success"),
    "failed_left": ("disable_login", "failed"),
    "returned": ("enable_login", "success"),
    "failed_returned": ("enable_login", "failed"),
    "grouped": ("group_add", "success"),
    "failed_grouped": ("group_add", "failed"),
    "ungrouped": ("group_remove", "success"),
    "failed_ungrouped": ("group_remove", "failed"),
    # Joiners: created with the login off (also counted as "new"), started on their day.
    "joiners": ("create_joiner", "success"),
    "started": ("start_joiner", "success"),
    "failed_started": ("start_joiner", "failed"),
}
DURATION_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, float("inf"))


class _Live(Collector):
    """What is read at each scrape: last success per tenant, the help desk's limiters."""

    def __init__(self, state: State, limiters: Callable[[], dict[str, RateLimiter]]) -> None:
        self._state, self._limiters = state, limiters

    def collect(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "azsync_tenant_last_success_timestamp_seconds",
            "When the tenant was last read and written completely",
            labels=["tenant"],
        )
        for name, row in sorted(self._state.tenants().items()):
            if row.last_sync_at is not None:
                success.add_metric([name], row.last_sync_at.timestamp())
        yield success
        calls = CounterMetricFamily(
            "azsync_helpdesk_calls", "Help desk API calls let out, by kind", labels=["kind"]
        )
        locks = CounterMetricFamily(
            "azsync_helpdesk_rate_locks", "429 answers that locked the help desk account"
        )
        budget = GaugeMetricFamily(
            "azsync_helpdesk_rate_budget_used_ratio",
            "Share of the per-minute rate budget spent in the last minute",
            labels=["kind"],
        )
        limiters = self._limiters().values()
        kinds = sorted({kind for limiter in limiters for kind in limiter.limits})
        for kind in kinds:
            calls.add_metric([kind], sum(limiter.calls[kind] for limiter in limiters))
            budget.add_metric(
                [kind], max(limiter.used(kind) for limiter in limiters if kind in limiter.limits)
            )
        locks.add_metric([], sum(limiter.locks for limiter in limiters))
        yield from (calls, locks, budget)


class RunMetrics:
    def __init__(self, state: State, limiters: Callable[[], dict[str, RateLimiter]]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._runs = Counter(
            "azsync_runs", "Sync runs ended, by status", ["status"], registry=self.registry
        )
        self._contacts = Counter(
            "azsync_contacts",
            "Contacts handled, by tenant, action and outcome",
            ["tenant", "action", "outcome"],
            registry=self.registry,
        )
        self._read = Counter(
            "azsync_directory_items_read",
            "Users read from the directory, by tenant",
            ["tenant"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "azsync_run_duration_seconds",
            "How long sync runs took",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Live(state, limiters))

    def observe(self, progress: Progress, outcome: Outcome, recorded: bool) -> None:
        """Count one ended run (a dry run too: it read the directory)."""
        self._runs.labels(outcome.status).inc()
        self._duration.observe(max(0.0, (utcnow() - progress.started_at).total_seconds()))
        tenants: dict[str, dict[str, Any]] = outcome.counts.get("tenants") or {}
        for name, counts in tenants.items():
            self._read.labels(name).inc(int(counts.get("users") or 0))
            if outcome.status == "held" or progress.dry_run:
                continue  # planned, not done
            refused = {k: int(counts.get(k) or 0) for k in ("refused_create", "refused_update")}
            failed = int(counts.get("failed") or 0) - sum(refused.values())
            for key, (action, result) in ACTION_OUTCOME.items():
                if counts.get(key):
                    self._contacts.labels(name, action, result).inc(int(counts[key]))
            if failed > 0:  # refused by the mapping or a claim before any write
                self._contacts.labels(name, "map", "failed").inc(failed)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def write_textfile(self, path: str) -> None:
        """Atomically (a temporary file renamed): the collector never reads half a file."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _write_to_textfile(path, self.registry)
