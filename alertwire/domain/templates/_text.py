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


def items_marker(left_out: int) -> str:
    return f"… {left_out} more items"


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
# When cutting strings is not enough, lists are cut too (strings then at most this long).
_LIST_STRING_CAP = 256


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_string(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_string(v) for v in value), default=0)
    return 0


def _longest_list(value: Any) -> int:
    if isinstance(value, dict):
        return max((_longest_list(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max(len(value), max((_longest_list(v) for v in value), default=0))
    return 0


def cap_lists(value: Any, limit: int) -> Any:
    """`value` with every list longer than `limit` cut to its first `limit - 1` items and a
    last item saying `… N more items`."""
    if isinstance(value, dict):
        return {key: cap_lists(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) <= limit:
            return [cap_lists(item, limit) for item in value]
        kept = max(0, limit - 1)
        return [cap_lists(item, limit) for item in value[:kept]] + [
            items_marker(len(value) - kept)]
    return value


def shrink_json(value: Any, max_bytes: int, size: Callable[[Any], int] = json_size) -> Any:
    """`value` if its JSON fits `max_bytes`; else the same structure with long strings cut
    visibly; else also with long lists cut visibly (`… N more items`: a digest keeps as
    many of its alerts as fit); else (too many small values) its JSON text as one visibly
    cut string. `size` measures a value (by default: the bytes of its UTF-8 JSON)."""
    if size(value) <= max_bytes:
        return value
    longest = _longest_string(value)
    for cap in _STRING_CAPS:
        if cap >= longest or cap >= max_bytes:
            continue  # cutting at this length changes nothing, or cannot fit anyway
        capped = cap_strings(value, cap)
        if size(capped) <= max_bytes:
            return capped
    strings = cap_strings(value, _LIST_STRING_CAP)
    # The most list items that fit, by halving: fewer items make the JSON smaller (but for
    # the marker replacing them, hence the check of each candidate).
    low, high = 0, _longest_list(strings) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if size(cap_lists(strings, mid)) <= max_bytes:
            low = mid
        else:
            high = mid - 1
    if low >= 2:  # at least one item beside the marker
        return cap_lists(strings, low)
    return truncate(dumps(value), max_bytes, measure=size)


def fit_lines(
    lines: list[str], limit: int, more: Callable[[int], str], *,
    escape: Callable[[str], str] = _identity, measure: Callable[[str], int] = len,
) -> str:
    """As many whole lines as fit in `limit` (joined by newlines, each escaped), then a last
    line `more(N)` saying how many were left out; a first line too long for the limit is cut
    visibly rather than left out."""
    if not lines:
        return ""
    whole = "\n".join(escape(line) for line in lines)
    if measure(whole) <= limit:
        return whole
    kept: list[str] = []
    for index, line in enumerate(lines):
        candidate = [*kept, escape(line)]
        tail = more(len(lines) - index - 1)
        if measure("\n".join([*candidate, escape(tail)])) > limit:
            break
        kept = candidate
    left = len(lines) - len(kept)
    text = "\n".join([*kept, escape(more(left))])
    if not kept or measure(text) > limit:
        # Not even one line fits beside the note: cut the text itself visibly instead.
        return truncate("\n".join(lines), limit, escape=escape, measure=measure)
    return text


def join_within(items: list[str], limit: int, more: Callable[[int], str],
                separator: str = ", ") -> str:
    """`items` joined, as many whole items as fit in `limit` characters followed by
    `more(N)` for the rest (e.g. `… and 180 more tags`)."""
    whole = separator.join(items)
    if len(whole) <= limit:
        return whole
    kept: list[str] = []
    size = 0
    for index, item in enumerate(items):
        grown = size + (len(separator) if kept else 0) + len(item)
        if grown + len(" " + more(len(items) - index - 1)) > limit:
            break
        kept.append(item)
        size = grown
    if not kept:
        return truncate(whole, limit)
    return separator.join(kept) + " " + more(len(items) - len(kept))
