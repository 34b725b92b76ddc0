"""Digest triggers (SPEC §4): period boundaries in the trigger's time zone, and the summary
one delivery carries for a whole period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alertwire.domain.filters import lookup
from alertwire.domain.severity import severity_of

DIGEST_ALERT_CAP = 50
# Catching up after a long outage sends at most this many past periods per trigger.
MAX_CATCH_UP_PERIODS = 31


def period_start(frequency: str, tz: str, at: float) -> float:
    """Start of the period holding `at`: local midnight, Monday midnight, or the 1st."""
    local = datetime.fromtimestamp(at, ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if frequency == "weekly":
        start -= timedelta(days=start.weekday())
    elif frequency == "monthly":
        start = start.replace(day=1)
    # Re-localise: the wall-clock midnight may have a different UTC offset than `at` (DST).
    return start.replace(tzinfo=None).replace(tzinfo=ZoneInfo(tz)).timestamp()


def next_period_start(frequency: str, tz: str, start: float) -> float:
    local = datetime.fromtimestamp(start, ZoneInfo(tz)).replace(tzinfo=None)
    if frequency == "daily":
        nxt = local + timedelta(days=1)
    elif frequency == "weekly":
        nxt = local + timedelta(days=7)
    else:
        nxt = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt.replace(tzinfo=ZoneInfo(tz)).timestamp()


def completed_periods(frequency: str, tz: str, sent_until: float, now: float) -> list[
        tuple[float, float]]:
    """Periods that ended after `sent_until` and by `now`, oldest first."""
    periods: list[tuple[float, float]] = []
    start = period_start(frequency, tz, sent_until)
    while True:
        end = next_period_start(frequency, tz, start)
        if end > now:
            break
        if end > sent_until:
            periods.append((max(start, sent_until), end))
        start = end
    return periods[-MAX_CATCH_UP_PERIODS:]


@dataclass(frozen=True)
class DigestAlert:
    id: str
    received_at: float
    source: str
    alert: Mapping[str, Any]


def _value(alert: Mapping[str, Any], *names: str) -> str:
    for name in names:
        found, value = lookup(alert, name.split("."))
        if found and value not in (None, ""):
            return str(value)
    return "(none)"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_digest(
    trigger_name: str, frequency: str, tz: str, start: float, end: float,
    alerts: Iterable[DigestAlert], cap: int = DIGEST_ALERT_CAP,
) -> dict[str, Any]:
    """Counts by policy, action, severity and namespace/host; first and last seen; the
    newest alerts up to `cap`, and how many were left out."""
    by_policy: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    by_place: Counter[str] = Counter()
    included: list[dict[str, Any]] = []
    total = 0
    first = last = None
    for item in sorted(alerts, key=lambda a: a.received_at):
        total += 1
        first = item.received_at if first is None else first
        last = item.received_at
        by_policy[_value(item.alert, "PolicyName", "rule")] += 1
        by_action[_value(item.alert, "Action")] += 1
        severity = severity_of(item.alert)
        by_severity["(none)" if severity is None else str(severity)] += 1
        by_place[_value(item.alert, "NamespaceName", "HostName", "hostname")] += 1
        included.append({"id": item.id, "received_at": _iso(item.received_at),
                         "source": item.source, "alert": dict(item.alert)})
    kept = included[-cap:][::-1]
    return {
        "type": "alertwire.digest",
        "trigger": trigger_name,
        "frequency": frequency,
        "timezone": tz,
        "period": {"start": _iso(start), "end": _iso(end)},
        "total": total,
        "first_seen": None if first is None else _iso(first),
        "last_seen": None if last is None else _iso(last),
        "counts": {
            "PolicyName": dict(by_policy.most_common()),
            "Action": dict(by_action.most_common()),
            "Severity": dict(by_severity.most_common()),
            "Namespace/Host": dict(by_place.most_common()),
        },
        "alerts": kept,
        "alerts_left_out": total - len(kept),
    }
