"""Time-ordered opaque ids: newest-first paging is a primary-key scan."""

from __future__ import annotations

import secrets
import time

_last_us = 0


def ordered_id(prefix: str) -> str:
    """`prefix_` + microseconds (strictly increasing within this process) + randomness."""
    global _last_us
    now_us = time.time_ns() // 1000
    _last_us = now_us if now_us > _last_us else _last_us + 1
    return f"{prefix}_{_last_us:014x}{secrets.token_hex(4)}"
