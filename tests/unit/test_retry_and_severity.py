"""Retry decisions (SPEC §5), severity bands (SPEC §4) and durations."""

from __future__ import annotations

import random

import pytest

from alertwire.domain.durations import parse_duration
from alertwire.domain.retry import RetryPolicy, classify, parse_retry_after
from alertwire.domain.severity import severity_of, threat_level_of
from alertwire.settings import SettingsError, load_settings

SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@pytest.mark.parametrize(
    ("status", "kind", "verdict"),
    [
        (200, None, "delivered"), (204, None, "delivered"), (422, None, "dead"),
        (400, None, "dead"), (404, None, "dead"), (410, None, "gone"), (408, None, "retry"),
        (425, None, "retry"), (429, None, "retry"), (500, None, "retry"), (503, None, "retry"),
        (None, "timeout", "retry"), (None, "connect", "retry"), (None, "tls", "retry"),
        (None, "refused", "dead"), (None, "invalid_url", "dead"),
    ],
)
def test_classification(status: int | None, kind: str | None, verdict: str) -> None:
    """Which outcomes retry, which are permanent, and which disable the integration."""
    assert classify(status, [200, 201, 202, 204], kind) == verdict


def test_listed_422_counts_as_delivered() -> None:
    """Success codes decide: a 422 listed by the integration is a delivery."""
    assert classify(422, [200, 204, 422], None) == "delivered"


def test_schedule_with_jitter_then_dead() -> None:
    """Each step is within ±20 % of the schedule; after the last step comes `dead`."""
    policy = RetryPolicy(SCHEDULE)
    rng = random.Random(7)
    for attempt, step in enumerate(SCHEDULE, start=1):
        delays = [policy.next_delay(attempt, rng=rng) for _ in range(200)]
        assert all(d is not None and step * 0.8 <= d <= step * 1.2 for d in delays)
        assert len({round(d or 0, 3) for d in delays}) > 50  # really jittered
    assert policy.next_delay(len(SCHEDULE) + 1) is None


def test_retry_after_is_honoured_up_to_the_next_but_one_step() -> None:
    """Retry-After lengthens the wait, but never beyond the step after next."""
    policy = RetryPolicy(SCHEDULE)
    rng = random.Random(1)
    assert policy.next_delay(1, retry_after=120, rng=rng) == 120
    assert policy.next_delay(1, retry_after=10_000, rng=rng) == 300
    delay = policy.next_delay(1, retry_after=1, rng=rng)
    assert delay is not None and 4 <= delay <= 6


def test_retry_after_forms() -> None:
    """Delta-seconds and HTTP dates both parse."""
    assert parse_retry_after("30", 0) == 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert parse_retry_after("soon", 0) is None


def test_severity_and_threat_levels() -> None:
    """KubeArmor severities and Falco priorities share one scale and one set of bands."""
    assert severity_of({"Severity": "5"}) == 5
    assert threat_level_of({"Severity": "1"}) == "low"
    assert threat_level_of({"Severity": "4"}) == "medium"
    assert threat_level_of({"Severity": "7"}) == "high"
    assert threat_level_of({"priority": "Critical"}) == "high"
    assert threat_level_of({"priority": "Warning"}) == "medium"
    assert threat_level_of({"priority": "Debug"}) == "low"
    assert threat_level_of({"Action": "Block"}) is None


def test_durations() -> None:
    """`30s`, `10m`, `1h`, `1d`; anything else is refused with the accepted form."""
    assert [parse_duration(t) for t in ("30s", "10m", "1h", "1d")] == [30, 600, 3600, 86400]
    with pytest.raises(ValueError, match="30s, 10m"):
        parse_duration("10 minutes")


def test_retry_schedule_setting() -> None:
    """ALERTWIRE_RETRY_SCHEDULE takes comma-separated seconds, and says so when wrong."""
    assert load_settings({"ALERTWIRE_RETRY_SCHEDULE": "1, 2,3"}).retry_schedule == (1, 2, 3)
    with pytest.raises(SettingsError, match="ALERTWIRE_RETRY_SCHEDULE"):
        load_settings({"ALERTWIRE_RETRY_SCHEDULE": "1,two"})


def test_severity_and_priority_are_found_whatever_their_case() -> None:
    """As filters find `severity >= 7`, a threat level finds `severity` and `Priority`."""
    assert severity_of({"severity": "8"}) == 8 and threat_level_of({"severity": "8"}) == "high"
    assert severity_of({"Priority": "Critical"}) == 8
    assert severity_of({"Severity": "2", "severity": "9"}) == 2  # the exact spelling first
