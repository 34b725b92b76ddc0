"""Prometheus metrics (SPEC §9): what came in, what went out, and what is waiting."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry(auto_describe=True)

alerts_received = Counter(
    "alertwire_alerts_received", "Alerts accepted by POST /api/v1/alerts.", ["source"],
    registry=registry,
)
deliveries_created = Counter(
    "alertwire_deliveries_created", "Deliveries created by matching triggers.", registry=registry,
)
attempts = Counter(
    "alertwire_attempts", "Delivery attempts by resulting delivery state.", ["outcome"],
    registry=registry,
)
attempt_latency = Histogram(
    "alertwire_attempt_latency_seconds", "Time from request start to response headers.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
    registry=registry,
)
queue_depth = Gauge(
    "alertwire_queue_depth", "Deliveries waiting to be sent (pending or failed).",
    registry=registry,
)
oldest_pending_age = Gauge(
    "alertwire_oldest_pending_age_seconds", "Age of the oldest delivery still waiting.",
    registry=registry,
)
