"""Reconnect and resend delays for the alert sources: exponential, capped, with jitter so
many sources that lost the same server do not all come back in the same instant."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """`next()` is a delay drawn from [ceiling/2, ceiling], the ceiling doubling from
    `initial` up to `cap` with each failure; `reset()` after a success."""

    initial: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.cap:
            raise ValueError(f"backoff needs 0 < initial ({self.initial}) <= cap ({self.cap})")

    def next(self) -> float:
        ceiling = min(self.cap, self.initial * 2.0 ** min(self.failures, 62))
        self.failures += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
