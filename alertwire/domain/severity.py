"""Severity: KubeArmor's 1-10 scale, Falco's priorities mapped onto it, threat-level bands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

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
    """The alert's severity on the 1-10 scale, or None when it states none."""
    value = alert.get("Severity")
    if value is not None:
        try:
            number = int(float(value))
        except (TypeError, ValueError):
            number = None
        if number is not None:
            return max(1, min(10, number))
    priority = alert.get("priority")
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
