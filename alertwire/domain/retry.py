"""What an attempt's outcome means, and when to try again (SPEC §5)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal

Verdict = Literal["delivered", "retry", "dead", "gone"]
JITTER = 0.2
_RETRYABLE_STATUS = frozenset({408, 425, 429})


def classify(status: int | None, success_codes: Sequence[int], error_kind: str | None) -> Verdict:
    """`status` None means no HTTP answer (`error_kind` says why)."""
    if status is None:
        # A refused target or a malformed URL will not get better by waiting.
        return "dead" if error_kind in ("refused", "invalid_url") else "retry"
    if status in success_codes:
        return "delivered"
    if status == 410:
        return "gone"
    if status in _RETRYABLE_STATUS or 500 <= status <= 599:
        return "retry"
    return "dead"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RetryPolicy:
    schedule: Sequence[float]  # waits after the 1st, 2nd, … failed attempt

    def next_delay(
        self, attempts_made: int, retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds until the next attempt, or None when the schedule is used up (dead).

        Each step gets ±20 % jitter; `Retry-After` is honoured, capped at the next-but-one
        step so a receiver cannot park a delivery for days.
        """
        step = attempts_made - 1
        if step >= len(self.schedule):
            return None
        rand = (rng or random).uniform(1 - JITTER, 1 + JITTER)
        delay = self.schedule[step] * rand
        if retry_after is not None:
            cap = self.schedule[min(step + 1, len(self.schedule) - 1)]
            delay = max(delay, min(retry_after, cap))
        return delay
