"""Digest triggers (SPEC §4): period boundaries in the trigger's time zone, and the summary
the deliveries of a period carry.

A period's alerts are split into parts of at most DIGEST_ALERT_CAP alerts (SPEC §6: "a digest
too large for one message is split into several"); each part is one delivery per channel
and carries the counts of the whole period, `"part": {"index": k, "count": n}` and only its
own alerts, newest first (part 1 holds the newest). So that a storm cannot become thousands
of messages, a period has at most DIGEST_MAX_PARTS parts; the oldest alerts beyond them are
listed in none, and the last part counts them in `alerts_left_out` (0 everywhere else).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alertwire.domain.filters import lookup
from alertwire.domain.severity import severity_of

DIGEST_ALERT_CAP = 50
DIGEST_MAX_PARTS = 20  # 1,000 alerts listed per period and channel at most
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


def build_digest_parts(
    trigger_name: str, frequency: str, tz: str, start: float, end: float,
    alerts: Iterable[DigestAlert], cap: int = DIGEST_ALERT_CAP,
    max_parts: int = DIGEST_MAX_PARTS,
) -> list[dict[str, Any]]:
    """The digest of a period as parts: each has the counts by policy, action, severity and
    namespace/host and the first and last seen of the whole period, its part number, and
    its own alerts (at most `cap`, newest first). Alerts beyond `max_parts` parts (the
    oldest) are listed in none; the last part counts them in `alerts_left_out`. A period
    without alerts is one part listing none."""
    by_policy: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    by_place: Counter[str] = Counter()
    # Newest first; alerts received together (one request) in the order they were sent.
    ordered = sorted(alerts, key=lambda a: (a.received_at, a.id), reverse=True)
    for item in ordered:
        by_policy[_value(item.alert, "PolicyName", "rule")] += 1
        by_action[_value(item.alert, "Action")] += 1
        severity = severity_of(item.alert)
        by_severity["(none)" if severity is None else str(severity)] += 1
        by_place[_value(item.alert, "NamespaceName", "HostName", "hostname")] += 1
    total = len(ordered)
    head = {
        "type": "alertwire.digest",
        "trigger": trigger_name,
        "frequency": frequency,
        "timezone": tz,
        "period": {"start": _iso(start), "end": _iso(end)},
        "total": total,
        "first_seen": _iso(ordered[-1].received_at) if ordered else None,
        "last_seen": _iso(ordered[0].received_at) if ordered else None,
        "counts": {
            "PolicyName": dict(by_policy.most_common()),
            "Action": dict(by_action.most_common()),
            "Severity": dict(by_severity.most_common()),
            "Namespace/Host": dict(by_place.most_common()),
        },
    }
    count = max(1, min(max_parts, math.ceil(total / cap)))
    listed = ordered[:count * cap]
    parts: list[dict[str, Any]] = []
    for index in range(count):
        own = listed[index * cap:(index + 1) * cap]
        parts.append({
            **head,
            "part": {"index": index + 1, "count": count},
            "alerts": [{"id": a.id, "received_at": _iso(a.received_at), "source": a.source,
                        "alert": dict(a.alert)} for a in own],
            "alerts_left_out": total - len(listed) if index == count - 1 else 0,
        })
    return parts


def build_digest(
    trigger_name: str, frequency: str, tz: str, start: float, end: float,
    alerts: Iterable[DigestAlert], cap: int = DIGEST_ALERT_CAP,
) -> dict[str, Any]:
    """The whole period in one message: the counts, the newest alerts up to `cap`, and how
    many were left out (a one-part `build_digest_parts`)."""
    (digest,) = build_digest_parts(trigger_name, frequency, tz, start, end, alerts, cap,
                                   max_parts=1)
    return digest
