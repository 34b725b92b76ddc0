"""Per-integration limits shared by every worker (SPEC §5): a concurrency cap, an optional
rate limit (a token bucket) and a circuit breaker that pauses an endpoint failing with 5xx
or network errors, then lets one probe through before resuming."""

from __future__ import annotations

import math
from dataclasses import dataclass

CIRCUIT_THRESHOLD = 5  # consecutive failures that open the circuit
DEFAULT_CIRCUIT_COOLDOWN = 30.0  # seconds the circuit stays open before a probe


@dataclass(frozen=True)
class IntegrationLimits:
    max_concurrency: int
    rate_limit: float | None  # requests per second
    rate_tokens: float | None
    rate_checked_at: float | None
    circuit_open_until: float | None


def refill(limits: IntegrationLimits, now: float) -> float:
    """Tokens available now; a bucket holds at most one second's worth (at least one)."""
    assert limits.rate_limit is not None
    size = max(1.0, limits.rate_limit)
    if limits.rate_tokens is None or limits.rate_checked_at is None:
        return size
    return min(size, limits.rate_tokens + (now - limits.rate_checked_at) * limits.rate_limit)


def free_capacity(limits: IntegrationLimits, in_flight: int, now: float) -> int:
    """How many more deliveries to this integration may start now, across all workers."""
    free = limits.max_concurrency - in_flight
    if limits.circuit_open_until is not None:
        if limits.circuit_open_until > now:
            return 0  # open: the endpoint rests
        free = min(free, 1 - in_flight)  # half-open: a single probe
    if limits.rate_limit is not None:
        free = min(free, math.floor(refill(limits, now)))
    return max(0, free)
