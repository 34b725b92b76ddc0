"""Fitting text and JSON into a destination's limits, visibly: what is cut says how much."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def dumps(value: Any, *, indent: int | None = None) -> str:
    """The one JSON spelling of rendered bodies: UTF-8 text, compact unless indented."""
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)


def json_bytes(value: Any) -> bytes:
    return dumps(value).encode()


def json_size(value: Any) -> int:
    return len(json_bytes(value))


def marker(left_out: int) -> str:
    return f"… {left_out} more characters"


def _identity(text: str) -> str:
    return text


def truncate(
    text: str, limit: int, *, escape: Callable[[str], str] = _identity,
    measure: Callable[[str], int] = len,
) -> str:
    """`escape(text)` if it measures at most `limit`; otherwise the longest escaped prefix that
    fits together with `… N more characters` (N counted in the original text). `measure` is
    `len` for character limits; pass a byte or JSON measure for size limits."""
    whole = escape(text)
    if measure(whole) <= limit:
        return whole
    # Every escape and measure used counts at least one per character, so no prefix longer
    # than `limit` can fit: the search stays within `limit`, however long the text.
    low, high = 0, min(len(text), limit)  # invariant: a prefix of `low` characters fits
    while low < high:
        mid = (low + high + 1) // 2
        if measure(escape(text[:mid]) + marker(len(text) - mid)) <= limit:
            low = mid
        else:
            high = mid - 1
    cut = escape(text[:low]) + marker(len(text) - low)
    if measure(cut) > limit:  # the limit cannot even hold the marker
        return escape(text[: max(0, limit)])[:limit]
    return cut


def one_line(text: str) -> str:
    """Summaries and titles are single lines at every destination."""
    return " ".join(text.split())


def cap_strings(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` cut visibly (keys are left alone)."""
    if isinstance(value, str):
        return value if len(value) <= limit else truncate(value, limit)
    if isinstance(value, dict):
        return {key: cap_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [cap_strings(item, limit) for item in value]
    return value


_STRING_CAPS = (65536, 16384, 4096, 1024, 256, 64)


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_string(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_string(v) for v in value), default=0)
    return 0


def shrink_json(value: Any, max_bytes: int) -> Any:
    """`value` if its JSON fits `max_bytes`; else the same structure with long strings cut
    visibly; else (too many small values) its JSON text as one visibly cut string."""
    if json_size(value) <= max_bytes:
        return value
    longest = _longest_string(value)
    for cap in _STRING_CAPS:
        if cap >= longest:
            continue  # cutting at this length changes nothing
        capped = cap_strings(value, cap)
        if json_size(capped) <= max_bytes:
            return capped
    return truncate(dumps(value), max_bytes, measure=json_size)
