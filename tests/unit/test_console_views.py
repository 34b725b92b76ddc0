"""What the alert table shows and the quick filters a click adds: pure functions, no server."""

from __future__ import annotations

from typing import Any

import pytest

from alertwire.console.forms import read_integration, read_trigger
from alertwire.console.session import Form
from alertwire.console.views import alert_cells, caret_line, clause, narrowed
from alertwire.domain.filters import parse

KUBEARMOR: dict[str, Any] = {"Action": "Audit (Block)", "PolicyName": "ksp-file-path-block",
                             "ProcessName": "/bin/sleep", "Severity": "5", "HostName": "node-1"}
FALCO: dict[str, Any] = {"rule": "Write below binary dir", "priority": "Error",
                         "hostname": "localhost", "output_fields": {"proc.name": "touch"}}


def test_cells_read_kubearmor_and_falco_fields() -> None:
    """Namespace/Host falls back to the host for host alerts; Falco's rule and priority stand
    in for PolicyName and Severity."""
    assert [c.text for c in alert_cells(KUBEARMOR)] == [
        "Audit (Block)", "ksp-file-path-block", "/bin/sleep", "5", "node-1"]
    assert [c.text for c in alert_cells(FALCO)] == [
        "", "Write below binary dir", "touch", "Error", "localhost"]
    assert alert_cells(FALCO)[0].clause is None


@pytest.mark.parametrize("alert", [KUBEARMOR, FALCO])
def test_each_quick_filter_selects_the_alert_it_came_from(alert: dict[str, Any]) -> None:
    """Whatever the value holds (spaces, parentheses, dots in field names), the clause
    parses and matches the alert it was taken from."""
    for cell in alert_cells(alert):
        if cell.clause is not None:
            assert parse(cell.clause).matches(alert), cell.clause


def test_clause_quotes_only_when_needed() -> None:
    assert clause(("Action",), "Block") == "Action = Block"
    assert clause(("Action",), "Audit (Block)") == 'Action = "Audit (Block)"'
    assert clause(("output_fields", "proc.name"), "touch") == 'output_fields."proc.name" = touch'
    assert clause(("Message",), 'say "hi"') == 'Message = "say \\"hi\\""'


def test_narrowing_keeps_the_filter_as_typed() -> None:
    assert narrowed("", "Action = Block") == "Action = Block"
    assert narrowed("Severity >= 5", "Action = Block") == "Severity >= 5 AND Action = Block"
    assert narrowed("a = 1 OR b = 2", "c = 3") == "(a = 1 OR b = 2) AND c = 3"
    assert narrowed("Action = Block AND x = 1", "Action = Block") == "Action = Block AND x = 1"
    assert narrowed("Action = ", "Action = Block") == "Action = Block"  # broken: replaced


def test_caret_marks_the_error_position() -> None:
    assert caret_line("Action Block", 7) == ("Action ", "B", "lock")
    assert caret_line("Action =", 8) == ("Action =", " ", "")


def test_integration_form_reads_rows_codes_and_payload() -> None:
    """Header rows keep their order and skip blank ones; bad codes and JSON are reported on
    their own fields."""
    data, state = read_integration(Form([
        ("name", " SIEM "), ("method", "PUT"), ("url", " https://siem.example.com/x "),
        ("success_codes", "200, 204\n422"), ("test_payload", '{"a": 1}'), ("description", ""),
        ("header_name", "X-One"), ("header_value", "1"), ("header_name", ""),
        ("header_value", ""), ("header_name", "X-Two"), ("header_value", "2"),
    ]))
    assert state.errors == {}
    assert data["success_codes"] == [200, 204, 422]
    assert data["test_payload"] == {"a": 1}
    assert data["description"] is None
    assert list(data["headers"].items()) == [("X-One", "1"), ("X-Two", "2")]
    _, bad = read_integration(Form([
        ("success_codes", "200, OK"), ("test_payload", "{"), ("header_name", ""),
        ("header_value", "orphan")]))
    assert set(bad.errors) == {"success_codes", "test_payload", "headers"}


def test_trigger_form_reports_the_filter_error() -> None:
    data, state = read_trigger(Form([("name", "t"), ("filter", "Action ="), ("channels", "a"),
                                     ("channels", "b"), ("enabled", "on")]))
    assert data["channels"] == ["a", "b"]
    assert data["enabled"] is True
    assert data["threat_level"] is None
    assert state.errors["filter"].startswith("At position 8: expected a value")
