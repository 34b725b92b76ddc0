"""Fire drills without I/O: how the test alert is labelled, and which integrations it reaches
and why not (alertwire.domain.drills)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alertwire.domain.drills import DRILL_LABEL, failure_reason, label_alert, plan
from alertwire.domain.samples import kubearmor_file_integrity_alert


@dataclass(frozen=True)
class Itg:
    id: str
    name: str
    status: str = "active"
    disabled_reason: str | None = None


@dataclass(frozen=True)
class Trg:
    id: str
    name: str
    channels: list[str] = field(default_factory=list)
    filter: str = "Action = Block"
    threat_level: str | None = None
    frequency: str = "realtime"
    enabled: bool = True


def test_label_goes_first_and_cannot_be_overridden() -> None:
    """`alertwire_drill: true` and the drill id lead the alert; an alert that carries its own
    `alertwire_drill: false` does not unlabel the drill; the other fields keep their order."""
    labelled = label_alert({"alertwire_drill": False, "Action": "Block", "Message": "m",
                            "PID": 1}, "drl_1")
    assert list(labelled) == ["alertwire_drill", "alertwire_drill_id", "Action", "Message", "PID"]
    assert labelled["alertwire_drill"] is True and labelled["alertwire_drill_id"] == "drl_1"
    assert labelled["Message"] == f"{DRILL_LABEL} m"


def test_label_in_the_message_a_reader_sees() -> None:
    """KubeArmor's `Message`, else Falco's `output`, else a new `Message`; a message that is
    not text is kept, as JSON, after the label. The original is not changed."""
    falco = {"output": "Write below binary dir", "priority": "Error"}
    assert label_alert(falco, "d")["output"] == f"{DRILL_LABEL} Write below binary dir"
    assert falco["output"] == "Write below binary dir"
    assert label_alert({"event": "x"}, "d")["Message"] == DRILL_LABEL
    assert label_alert({"Message": {"a": 1}}, "d")["Message"] == f'{DRILL_LABEL} {{"a": 1}}'
    assert label_alert({"Message": 5, "output": "o"}, "d")["output"] == f"{DRILL_LABEL} o"


def test_plan_says_why_each_integration_is_skipped() -> None:
    """Integration status first (disabled, draft), then the triggers: none enabled, or each
    enabled one's mismatch named. Every trigger routing to an integration is listed, in
    name order, matched or not."""
    alert = kubearmor_file_integrity_alert(0)
    integrations = [
        Itg("i1", "sent"), Itg("i2", "off", "disabled", "disabled by a user"),
        Itg("i3", "draft", "draft"), Itg("i4", "missed"), Itg("i5", "lonely"),
        Itg("i6", "unrouted"),
    ]
    triggers = [
        Trg("t2", "b-blocks", ["i1", "i2", "i3"]),
        Trg("t1", "a-falco", ["i1", "i4"], filter="priority = Error"),
        Trg("t3", "c-high", ["i4"], threat_level="high"),
        Trg("t4", "d-off", ["i5"], enabled=False),
    ]
    plans = {p.name: p for p in plan(integrations, triggers, alert)}
    assert list(plans) == ["sent", "off", "draft", "missed", "lonely", "unrouted"]
    assert plans["sent"].skip is None
    assert [(c.name, c.matched) for c in plans["sent"].triggers] == [
        ("a-falco", False), ("b-blocks", True)]
    assert plans["off"].skip == "integration is disabled (disabled by a user)"
    assert plans["draft"].skip == "integration is a draft (not connected)"
    assert plans["missed"].skip == (
        "filter did not match: a-falco: priority = Error; "
        "threat level did not match: c-high: high (the drill alert's is medium)")
    assert plans["lonely"].skip == "no enabled trigger routes to it"
    assert plans["lonely"].triggers[0].reason == "trigger is disabled"
    assert plans["unrouted"].skip == "no enabled trigger routes to it"
    assert plans["unrouted"].triggers == ()


def test_plan_matches_like_the_ingest_path() -> None:
    """The trigger's filter and threat level decide, as at ingest: numeric Severity, dotted
    paths, case-insensitive field names; an alert without Severity has no threat level."""
    integrations = [Itg("i1", "hook")]
    alert = {"Severity": "8", "Owner": {"Name": "mysql"}}
    routed = plan(integrations, [Trg("t", "t", ["i1"], filter="owner.name = mysql AND "
                                     "severity >= 7", threat_level="high")], alert)
    assert routed[0].skip is None
    no_severity = plan(integrations, [Trg("t", "t", ["i1"], threat_level="low")], {"Action": "Block"})
    assert no_severity[0].skip == (
        "threat level did not match: t: low (the drill alert's is none: it has no Severity)")


def test_digest_triggers_send_at_once_and_say_so() -> None:
    """A digest trigger that matches sends the drill alert now; its entry says why."""
    (planned,) = plan([Itg("i1", "hook")], [Trg("t", "weekly", ["i1"], frequency="weekly")],
                      kubearmor_file_integrity_alert(0))
    assert planned.skip is None
    assert planned.triggers[0].matched
    assert planned.triggers[0].reason == ("a weekly digest trigger: the drill alert is sent now, "
                                          "on its own, not held for the digest")


def test_a_filter_that_no_longer_parses_is_a_reason_not_a_crash() -> None:
    """A stored filter the current grammar refuses is reported for that trigger."""
    (planned,) = plan([Itg("i1", "hook")], [Trg("t", "old", ["i1"], filter="Action =")], {})
    assert planned.skip is not None
    assert planned.skip.startswith("filter does not parse: old: at position")


def test_failure_reasons() -> None:
    """An SSRF refusal names the guard; other errors read as the HTTP client wrote them."""
    assert failure_reason("refused: 10.0.0.1 is a private address", "refused") == (
        "refused by the SSRF guard: 10.0.0.1 is a private address")
    assert failure_reason("timed out after 15.0 s", "timeout") == "timed out after 15.0 s"
