"""The documented severity mapping: KubeArmor 1-10 and Falco priorities to PagerDuty
severity, ServiceNow urgency/impact and Jira priority (README, "Severity mapping")."""

from __future__ import annotations

import pytest

from alertwire.domain.severity import (
    destination_severity,
    severity_for_templates,
    severity_of,
)

# severity: (PagerDuty, ServiceNow urgency, impact, Jira priority)
TABLE = {
    10: ("critical", 1, 1, "Highest"), 9: ("critical", 1, 1, "Highest"),
    8: ("critical", 1, 1, "Highest"), 7: ("error", 1, 2, "High"),
    6: ("warning", 2, 2, "Medium"), 5: ("warning", 2, 2, "Medium"),
    4: ("warning", 2, 2, "Medium"), 3: ("info", 3, 2, "Low"), 2: ("info", 3, 2, "Low"),
    1: ("info", 3, 3, "Lowest"), None: ("warning", 2, 2, "Medium"),
}
FALCO = {
    "Emergency": "critical", "Alert": "critical", "Critical": "critical", "Error": "error",
    "Warning": "warning", "Notice": "warning", "Informational": "info", "Debug": "info",
}


@pytest.mark.parametrize(("severity", "expected"), TABLE.items())
def test_kubearmor_severities(severity: int | None, expected: tuple[str, int, int, str]) -> None:
    mapping = destination_severity(severity)
    assert (mapping.pagerduty, mapping.servicenow_urgency, mapping.servicenow_impact,
            mapping.jira_priority) == expected


@pytest.mark.parametrize(("priority", "pagerduty"), FALCO.items())
def test_falco_priorities(priority: str, pagerduty: str) -> None:
    """Falco priorities reach the destinations through the same 1-10 scale."""
    assert destination_severity(severity_of({"priority": priority})).pagerduty == pagerduty


def test_generic_alerts_state_severity_in_words_or_numbers() -> None:
    """Generic alerts: `severity`/`level`/`priority` as a word or a number."""
    assert severity_for_templates({"severity": "critical"}) == 8
    assert severity_for_templates({"level": "HIGH"}) == 7
    assert severity_for_templates({"Severity": "4"}) == 4
    assert severity_for_templates({"severity": 12}) == 10
    assert severity_for_templates({"severity": "whatever"}) is None
