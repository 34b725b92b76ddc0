"""Severity: KubeArmor's 1-10 scale, Falco's priorities mapped onto it, threat-level bands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from alertwire.domain.filters import lookup

ThreatLevel = Literal["high", "medium", "low"]

# SPEC §4: high = 7-10, medium = 4-6, low = 1-3 (KubeArmor severities).
THREAT_BANDS: dict[str, tuple[int, int]] = {"high": (7, 10), "medium": (4, 6), "low": (1, 3)}

# Falco priorities placed on KubeArmor's scale, so one threat level covers both sources.
FALCO_PRIORITY_SEVERITY: dict[str, int] = {
    "emergency": 10, "alert": 9, "critical": 8, "error": 7,
    "warning": 5, "notice": 4,
    "informational": 2, "info": 2, "debug": 1,
}


def severity_of(alert: Mapping[str, Any]) -> int | None:
    """The alert's severity on the 1-10 scale, or None when it states none. `Severity` and
    `priority` are found whatever their case, as filters find fields."""
    value = lookup(alert, ("Severity",))[1]
    if value is not None:
        try:
            number = int(float(value))
        except (TypeError, ValueError):
            number = None
        if number is not None:
            return max(1, min(10, number))
    priority = lookup(alert, ("priority",))[1]
    if isinstance(priority, str):
        return FALCO_PRIORITY_SEVERITY.get(priority.lower())
    return None


def threat_level_of(alert: Mapping[str, Any]) -> ThreatLevel | None:
    severity = severity_of(alert)
    if severity is None:
        return None
    for level, (low, high) in THREAT_BANDS.items():
        if low <= severity <= high:
            return level  # type: ignore[return-value]
    return None


# ---------------------------------------------------------------- destination severity mapping
# One table for every destination template, keyed by the 1-10 scale above (Falco priorities
# reach it through FALCO_PRIORITY_SEVERITY). The bands follow the threat levels: high (7-10)
# pages, medium (4-6) warns, low (1-3) informs. An alert stating no severity is treated as
# medium, so it is neither lost in the noise nor pages anyone at night.
PagerDutySeverity = Literal["critical", "error", "warning", "info"]


@dataclass(frozen=True)
class DestinationSeverity:
    pagerduty: PagerDutySeverity
    servicenow_urgency: int  # 1 High, 2 Medium, 3 Low
    servicenow_impact: int  # 1 High, 2 Medium, 3 Low; ServiceNow derives priority from both
    servicenow_priority: str  # what ServiceNow's default matrix makes of urgency x impact
    jira_priority: str  # the names of Jira's default priority scheme


# (lowest severity of the row, its mapping), highest first.
SEVERITY_MAPPING: tuple[tuple[int, DestinationSeverity], ...] = (
    (8, DestinationSeverity("critical", 1, 1, "1 - Critical", "Highest")),
    (7, DestinationSeverity("error", 1, 2, "2 - High", "High")),
    (4, DestinationSeverity("warning", 2, 2, "3 - Moderate", "Medium")),
    (2, DestinationSeverity("info", 3, 2, "4 - Low", "Low")),
    (1, DestinationSeverity("info", 3, 3, "5 - Planning", "Lowest")),
)
UNKNOWN_SEVERITY = DestinationSeverity("warning", 2, 2, "3 - Moderate", "Medium")


def destination_severity(severity: int | None) -> DestinationSeverity:
    """How an alert of this severity (1-10, or None when it states none) is filed."""
    if severity is None:
        return UNKNOWN_SEVERITY
    for lowest, mapping in SEVERITY_MAPPING:
        if severity >= lowest:
            return mapping
    return SEVERITY_MAPPING[-1][1]


# Generic alerts name their severity in words; these are placed on the same scale.
SEVERITY_WORDS: dict[str, int] = FALCO_PRIORITY_SEVERITY | {
    "fatal": 10, "high": 7, "major": 7, "medium": 5, "moderate": 5, "minor": 3, "low": 3,
    "warn": 5, "err": 7, "crit": 8, "information": 2, "trace": 1, "none": 1,
}
_GENERIC_SEVERITY_KEYS = ("severity", "level", "priority", "urgency")


def severity_for_templates(alert: Mapping[str, Any]) -> int | None:
    """`severity_of`, extended for generic alerts to a `severity`/`level`/`priority` field
    holding a number or a word (`critical`, `high`, `warning`, …). Triggers keep using
    `severity_of`: a filter's threat level must not change meaning with this guesswork."""
    found = severity_of(alert)
    if found is not None:
        return found
    lowered = {str(k).lower(): v for k, v in alert.items()}
    for key in _GENERIC_SEVERITY_KEYS:
        value = lowered.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            return max(1, min(10, int(value)))
        if isinstance(value, str):
            word = value.strip().lower()
            if word in SEVERITY_WORDS:
                return SEVERITY_WORDS[word]
            try:
                return max(1, min(10, int(float(word))))
            except ValueError:
                continue
    return None


def severity_text(severity: int | None) -> str:
    """`7/10 (high)`, or `not stated`."""
    if severity is None:
        return "not stated"
    return f"{severity}/10 ({threat_level_for(severity)})"


def threat_level_for(severity: int) -> ThreatLevel:
    for level, (low, high) in THREAT_BANDS.items():
        if low <= severity <= high:
            return level  # type: ignore[return-value]
    return "low"
