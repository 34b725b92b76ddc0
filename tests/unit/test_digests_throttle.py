"""Digest periods in a trigger's time zone, the digest summary, throttle groups, silences."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from alertwire.domain.digests import (
    DigestAlert,
    build_digest,
    build_digest_parts,
    completed_periods,
    period_start,
)
from alertwire.domain.silences import SilenceSpec
from alertwire.domain.triggers import Throttle, TriggerSpec, group_key

BERLIN = "Europe/Berlin"


def ts(text: str, tz: str = BERLIN) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def test_periods_start_at_local_midnight_monday_and_the_first() -> None:
    """Daily, weekly and monthly periods begin at the trigger's local midnight."""
    at = ts("2026-11-26 15:30")  # a Thursday
    assert period_start("daily", BERLIN, at) == ts("2026-11-26 00:00")
    assert period_start("weekly", BERLIN, at) == ts("2026-11-23 00:00")
    assert period_start("monthly", BERLIN, at) == ts("2026-11-01 00:00")
    assert period_start("daily", "UTC", at) == ts("2026-11-26 00:00", "UTC")


def test_dst_day_is_23_hours() -> None:
    """The day clocks go forward is a 23-hour period in Berlin."""
    ((start, end),) = completed_periods("daily", BERLIN, ts("2026-03-29 00:00"),
                                        ts("2026-03-30 00:00"))
    assert end - start == 23 * 3600


def test_completed_periods_catch_up_once_each() -> None:
    """After three days down, the three missed daily periods are due, oldest first; the
    current, unfinished day is not."""
    created = ts("2026-11-20 10:00")
    periods = completed_periods("daily", BERLIN, created, ts("2026-11-23 09:00"))
    assert periods == [
        (created, ts("2026-11-21 00:00")),
        (ts("2026-11-21 00:00"), ts("2026-11-22 00:00")),
        (ts("2026-11-22 00:00"), ts("2026-11-23 00:00")),
    ]
    assert completed_periods("daily", BERLIN, ts("2026-11-23 00:00"),
                             ts("2026-11-23 23:59")) == []
    month = completed_periods("monthly", BERLIN, ts("2026-11-05 00:00"), ts("2026-12-01 00:01"))
    assert month == [(ts("2026-11-05 00:00"), ts("2026-12-01 00:00"))]


def test_digest_summary_counts_and_cap() -> None:
    """Counts by policy, action, severity and namespace/host, first/last seen, and the
    newest alerts up to the cap with the number left out."""
    alerts = [
        DigestAlert(f"a{i}", 1000.0 + i, "kubearmor",
                    {"PolicyName": "p1" if i % 3 else "p2", "Action": "Block",
                     "Severity": str(1 + i % 10), "NamespaceName": "prod"})
        for i in range(60)
    ] + [DigestAlert("f1", 2000.0, "falco", {"rule": "Write below binary dir",
                                             "priority": "Error", "hostname": "node-1"})]
    digest = build_digest("Blocked", "daily", "UTC", 0.0, 86400.0, alerts, cap=50)
    assert digest["total"] == 61
    assert digest["counts"]["PolicyName"] == {"p1": 40, "p2": 20, "Write below binary dir": 1}
    assert digest["counts"]["Action"] == {"Block": 60, "(none)": 1}
    assert digest["counts"]["Namespace/Host"] == {"prod": 60, "node-1": 1}
    assert digest["counts"]["Severity"]["7"] == 7  # 6 KubeArmor "7" + Falco Error
    assert digest["first_seen"] == "1970-01-01T00:16:40Z"
    assert digest["last_seen"] == "1970-01-01T00:33:20Z"
    assert len(digest["alerts"]) == 50 and digest["alerts_left_out"] == 11
    assert digest["alerts"][0]["id"] == "f1"  # newest first


def test_throttle_validation_and_groups() -> None:
    """Throttles need fields and a duration; they apply to realtime triggers only; the
    group of an alert is its values of the group_by fields."""
    Throttle(group_by=["PolicyName"], period="10m")
    with pytest.raises(ValidationError):
        Throttle(group_by=[], period="10m")
    with pytest.raises(ValidationError):
        Throttle(group_by=["PolicyName"], period="ten minutes")
    with pytest.raises(ValidationError, match="realtime"):
        TriggerSpec(name="t", filter="Action = Block", channels=["i"], frequency="daily",
                    throttle=Throttle(group_by=["PolicyName"], period="1m"))
    with pytest.raises(ValidationError, match="IANA"):
        TriggerSpec(name="t", filter="Action = Block", channels=["i"], timezone="Mars/Olympus")
    a = {"PolicyName": "p", "HostName": "h1", "Owner": {"Name": "x"}}
    assert group_key(a, ["PolicyName", "HostName"]) == group_key(dict(a), ["PolicyName",
                                                                         "HostName"])
    assert group_key(a, ["PolicyName"]) != group_key({"PolicyName": "q"}, ["PolicyName"])
    assert group_key(a, ["Owner.Name"]) == '["x"]'
    assert group_key({}, ["PolicyName"]) == "[null]"


def test_silence_window() -> None:
    """A silence needs an end or a duration, and must end after it starts."""
    assert SilenceSpec(duration="2h").window(1000.0) == (1000.0, 8200.0)
    with pytest.raises(ValidationError):
        SilenceSpec()
    with pytest.raises(ValidationError):
        SilenceSpec(filter="Action =", duration="1h")
    with pytest.raises(ValueError):
        SilenceSpec(starts_at=datetime(2026, 1, 2, tzinfo=ZoneInfo("UTC")),
                    ends_at=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))).window(0)


def test_digest_parts_split_the_alerts_and_cap_their_number() -> None:
    """Parts hold at most `cap` alerts each, newest first, with the whole period's counts;
    beyond `max_parts` the oldest are listed in none and the last part counts them."""
    alerts = [DigestAlert(f"a{i}", 1000.0 + i, "kubearmor", {"Action": "Block"})
              for i in range(8)]
    parts = build_digest_parts("Blocked", "daily", "UTC", 0.0, 86400.0, alerts, cap=3,
                               max_parts=2)
    assert [p["part"] for p in parts] == [{"index": 1, "count": 2}, {"index": 2, "count": 2}]
    assert [[a["id"] for a in p["alerts"]] for p in parts] == [["a7", "a6", "a5"],
                                                               ["a4", "a3", "a2"]]
    assert [p["alerts_left_out"] for p in parts] == [0, 2]
    assert all(p["total"] == 8 and p["counts"]["Action"] == {"Block": 8} for p in parts)
    roomy = build_digest_parts("Blocked", "daily", "UTC", 0.0, 86400.0, alerts, cap=3)
    assert len(roomy) == 3 and sum(len(p["alerts"]) for p in roomy) == 8
    assert [p["alerts_left_out"] for p in roomy] == [0, 0, 0]
    (empty,) = build_digest_parts("Blocked", "daily", "UTC", 0.0, 86400.0, [])
    assert empty["total"] == 0 and empty["alerts"] == [] and empty["part"]["count"] == 1
