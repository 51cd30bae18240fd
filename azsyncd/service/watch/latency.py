"""The daemon's state as Prometheus metrics, computed from ``status`` at each scrape.

Latency per tenant: when the directory was last checked, the age of the oldest change not
yet written, the next tick; what the ticks did; the last sync that did something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from azsyncd.answers import Status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TENANT_STATUSES = ("new", "active", "disabled", "quarantined")


def _timestamp(at: datetime | None) -> float | None:
    return at.timestamp() if at else None


class StatusCollector(Collector):
    def __init__(self, status: Callable[[], Status], ticks: Callable[[], Any]) -> None:
        self._status = status
        self._ticks = ticks

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        tenants = status.tenants

        checked = GaugeMetricFamily(
            "azsync_tenant_last_checked_timestamp_seconds",
            "When the tenant's directory was last read completely (idle ticks included)",
            labels=["tenant"],
        )
        unwritten = GaugeMetricFamily(
            "azsync_tenant_oldest_unwritten_change_age_seconds",
            "Age of the oldest change read from the directory and not yet written (0: none)",
            labels=["tenant"],
        )
        next_tick = GaugeMetricFamily(
            "azsync_tenant_next_tick_timestamp_seconds",
            "When the tenant's next incremental tick is due",
            labels=["tenant"],
        )
        state = GaugeMetricFamily(
            "azsync_tenant_status",
            "1 for the tenant's current status",
            labels=["tenant", "status"],
        )
        for tenant in tenants:
            name = tenant.name
            at = _timestamp(tenant.last_checked_at)
            if at is not None:
                checked.add_metric([name], at)
            unwritten.add_metric([name], tenant.oldest_unwritten_age_seconds or 0.0)
            due = _timestamp(tenant.next_tick_at)
            if due is not None:
                next_tick.add_metric([name], due)
            for value in TENANT_STATUSES:
                state.add_metric([name, value], 1.0 if tenant.status == value else 0.0)
        yield from (checked, unwritten, next_tick, state)

        ticks = CounterMetricFamily(
            "azsync_ticks",
            "Incremental ticks by result: recorded (did something), idle, skipped",
            labels=["tenant", "result"],
        )
        for name, counts in sorted(self._ticks().items()):
            for result, count in counts.items():
                ticks.add_metric([name, result], count)
        yield ticks

        running = GaugeMetricFamily("azsync_sync_running", "1 while a sync runs")
        running.add_metric([], 1.0 if status.running else 0.0)
        yield running
        last = status.last_run
        if last and last.finished_at:
            finished = GaugeMetricFamily(
                "azsync_last_sync_timestamp_seconds",
                "When the last sync that did something ended",
                labels=["status", "trigger"],
            )
            finished.add_metric([last.status, last.trigger], _timestamp(last.finished_at) or 0.0)
            yield finished
