"""What the alert table shows: the columns of the source product, read from KubeArmor or
Falco fields, and the quick filters a click on a cell adds (SPEC §4 expressions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertwire.domain.filters import Comparison, FilterError, Or, Value, lookup, parse

# Column title → the fields it shows, first found wins (KubeArmor, then Falco's names).
COLUMNS: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("Action", (("Action",),)),
    ("PolicyName", (("PolicyName",), ("rule",))),
    ("ProcessName", (("ProcessName",), ("output_fields", "proc.name"))),
    ("Severity", (("Severity",), ("priority",))),
    ("Namespace/Host", (("NamespaceName",), ("HostName",), ("hostname",))),
)


@dataclass(frozen=True)
class Cell:
    text: str
    clause: str | None  # the filter clause selecting this value (None: not filterable)


def clause(path: tuple[str, ...], value: str) -> str:
    """`Field = value`, quoted as the filter language needs (`"Audit (Block)"`)."""
    return str(Comparison(path, "=", (Value(value),)))


def cell(alert: Mapping[str, Any], paths: tuple[tuple[str, ...], ...]) -> Cell:
    for path in paths:
        found, value = lookup(alert, path)
        if not found or value is None or value == "":
            continue
        if isinstance(value, bool):
            return Cell(str(value).lower(), clause(path, str(value).lower()))
        if isinstance(value, str | int | float):
            return Cell(str(value), clause(path, str(value)))
        return Cell(str(value), None)
    return Cell("", None)


def alert_cells(alert: Mapping[str, Any]) -> list[Cell]:
    return [cell(alert, paths) for _, paths in COLUMNS]


def narrowed(current: str, extra: str) -> str:
    """The current filter AND `extra` (as typed, parenthesised when it is an OR)."""
    current = current.strip()
    if not current:
        return extra
    try:
        root = parse(current).root
    except FilterError:
        return extra  # a broken filter is replaced, not extended
    if extra in {str(node) for node in getattr(root, "operands", (root,))}:
        return current
    if isinstance(root, Or):
        current = f"({current})"
    return f"{current} AND {extra}"


def caret_line(text: str, position: int) -> tuple[str, str, str]:
    """The expression split around the error position: (before, at, after), where `at` is
    the character found there (a space at the end, so there is something to underline)."""
    position = max(0, min(position, len(text)))
    return text[:position], text[position:position + 1] or " ", text[position + 1:]


def fan_out(statuses: Sequence[str]) -> str:
    """An alert's deliveries in a few words: `2 deliveries · 1 failed` (the states that need
    a look are named; delivered ones are not)."""
    if not statuses:
        return ""
    counts = Counter(statuses)
    parts = [f"{len(statuses)} deliver{'y' if len(statuses) == 1 else 'ies'}"]
    parts += [f"{counts[s]} {s}" for s in ("failed", "dead", "pending", "cancelled") if counts[s]]
    return " · ".join(parts)
