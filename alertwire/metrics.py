"""Prometheus metrics (SPEC §9): what came in, what went out, and what is waiting.

Each process builds one `Metrics` (in `start_services`) with a registry of its own, so an app
started by a test counts from zero whatever ran before it. Counters are this process's;
the gauges (queue depth, oldest pending age, integrations by status) are read from the
database when `/metrics` is scraped, so every API process reports the same shared figures.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

SOURCES = ("kubearmor", "falco", "generic")
INTEGRATION_STATUSES = ("draft", "active", "disabled")
# The delivery's state after an attempt: `failed` means it will be retried.
ATTEMPT_OUTCOMES = ("delivered", "failed", "dead")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.alerts_received = Counter(
            "alertwire_alerts_received", "Alerts accepted by POST /api/v1/alerts, by source.",
            ["source"], registry=self.registry,
        )
        self.deliveries_created = Counter(
            "alertwire_deliveries_created", "Deliveries created by matching triggers.",
            registry=self.registry,
        )
        self.delivery_attempts = Counter(
            "alertwire_delivery_attempts",
            "Delivery attempts by integration and outcome: the delivery's state after the "
            "attempt (delivered; failed, to be retried; dead).",
            ["integration_id", "outcome"], registry=self.registry,
        )
        self.deliveries_cancelled = Counter(
            "alertwire_deliveries_cancelled",
            "Deliveries cancelled unsent because their integration was no longer active.",
            ["integration_id"], registry=self.registry,
        )
        self.attempt_latency = Histogram(
            "alertwire_attempt_latency_seconds",
            "Delivery attempt latency: request start to response headers.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.queue_depth = Gauge(
            "alertwire_queue_depth", "Deliveries waiting to be sent (pending or failed).",
            registry=self.registry,
        )
        self.oldest_pending_age = Gauge(
            "alertwire_oldest_pending_age_seconds",
            "Age of the oldest delivery still waiting to be sent (0 when none is).",
            registry=self.registry,
        )
        self.integrations = Gauge(
            "alertwire_integrations", "Integrations by status.", ["status"],
            registry=self.registry,
        )
        # Known label values start at zero, so rate() and absent() work from the first scrape.
        for source in SOURCES:
            self.alerts_received.labels(source)
        for status in INTEGRATION_STATUSES:
            self.integrations.labels(status).set(0)

    def alert_received(self, source: str) -> None:
        self.alerts_received.labels(source).inc()

    def attempt(self, integration_id: str, outcome: str, latency_ms: float | None) -> None:
        self.delivery_attempts.labels(integration_id, outcome).inc()
        if latency_ms is not None:
            self.attempt_latency.observe(latency_ms / 1000)

    def cancelled(self, integration_id: str) -> None:
        self.deliveries_cancelled.labels(integration_id).inc()

    def set_database_figures(
        self, queue_depth: int, oldest_pending_age: float, integrations: Mapping[str, int]
    ) -> None:
        """The shared figures, as read from the database at scrape time."""
        self.queue_depth.set(queue_depth)
        self.oldest_pending_age.set(oldest_pending_age)
        for status in {*INTEGRATION_STATUSES, *integrations}:
            self.integrations.labels(status).set(integrations.get(status, 0))

    def render(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)
