"""Fire drills: a clearly labelled test alert, and which integrations it reaches and why.

A drill asks "if this alert came in now, where would it go?" and then really sends it once to
each integration that would get it. Routing is judged here, without I/O: the triggers'
filters and threat levels with the same `Matcher` as the ingest path, the integrations'
status, the triggers' `enabled`. Silences and throttles are deliberately left out: a drill
tests the routes and the destinations, and a silence or a throttle would hide exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from alertwire.domain.filters import FilterError
from alertwire.domain.severity import threat_level_of
from alertwire.domain.triggers import DIGEST_FREQUENCIES, Matcher

DRILL_LABEL = "[alertwire fire drill — test, no action needed]"
# Where the label goes: KubeArmor's `Message`, else Falco's `output`, else a new `Message`.
_MESSAGE_FIELDS = ("Message", "output")

TRIGGER_DISABLED = "trigger is disabled"
Outcome = Literal["delivered", "failed", "skipped"]


class DrillIntegration(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def disabled_reason(self) -> str | None: ...


class DrillTrigger(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def filter(self) -> str: ...
    @property
    def threat_level(self) -> str | None: ...
    @property
    def frequency(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def channels(self) -> list[str]: ...


def label_alert(alert: Mapping[str, Any], drill_id: str) -> dict[str, Any]:
    """The alert to send: `alertwire_drill: true` and the drill's id first (a receiver can
    drop drills by them), then the alert's fields, its message prefixed with `DRILL_LABEL`
    so a person reading it in Slack or a ticket sees at once that nothing happened."""
    labelled: dict[str, Any] = {"alertwire_drill": True, "alertwire_drill_id": drill_id}
    labelled.update((k, v) for k, v in alert.items() if k not in labelled)
    for name in _MESSAGE_FIELDS:
        if isinstance(labelled.get(name), str):
            labelled[name] = f"{DRILL_LABEL} {labelled[name]}"
            return labelled
    if "Message" in labelled:  # a message that is not text: keep it, as JSON, after the label
        labelled["Message"] = f"{DRILL_LABEL} {json.dumps(labelled['Message'])}"
    else:
        labelled["Message"] = DRILL_LABEL
    return labelled


@dataclass(frozen=True)
class TriggerCheck:
    """One trigger routing to an integration: whether it would send the drill alert there."""

    trigger_id: str
    name: str
    matched: bool
    reason: str | None  # why not; for a digest that matched, that it is sent now anyway


@dataclass(frozen=True)
class DrillPlan:
    """An integration and whether the drill sends to it (`skip` is None) or why not."""

    integration_id: str
    name: str
    skip: str | None
    triggers: tuple[TriggerCheck, ...]


def check_trigger(trigger: DrillTrigger, alert: Mapping[str, Any]) -> TriggerCheck:
    """The ingest path's verdict on `alert` for this trigger, and why not when it is no."""
    def no(reason: str) -> TriggerCheck:
        return TriggerCheck(trigger.id, trigger.name, False, reason)

    if not trigger.enabled:
        return no(TRIGGER_DISABLED)
    try:
        matcher = Matcher.compile(trigger.filter, trigger.threat_level)
    except FilterError as exc:
        return no(f"filter does not parse: {exc}")
    if not matcher.matches(alert):
        level = threat_level_of(alert)
        if matcher.threat_level is not None and level != matcher.threat_level:
            return no(f"threat level did not match: {matcher.threat_level} (the drill alert's "
                      f"is {level or 'none: it has no Severity'})")
        return no(f"filter did not match: {trigger.filter}")
    if trigger.frequency in DIGEST_FREQUENCIES:
        return TriggerCheck(trigger.id, trigger.name, True,
                            f"a {trigger.frequency} digest trigger: the drill alert is sent "
                            "now, on its own, not held for the digest")
    return TriggerCheck(trigger.id, trigger.name, True, None)


def plan(
    integrations: Sequence[DrillIntegration], triggers: Sequence[DrillTrigger],
    alert: Mapping[str, Any],
) -> list[DrillPlan]:
    """For every integration, in the order given: send (one request, however many triggers
    match) or the reason not to. `alert` is the alert as it would arrive, without the drill's
    label, so that filters on `Message` judge it as they would judge the real one."""
    checks = {t.id: check_trigger(t, alert) for t in triggers}
    routing: dict[str, list[TriggerCheck]] = {}
    for trigger in sorted(triggers, key=lambda t: (t.name.lower(), t.id)):
        for integration_id in dict.fromkeys(trigger.channels):
            routing.setdefault(integration_id, []).append(checks[trigger.id])
    plans = []
    for integration in integrations:
        found = tuple(routing.get(integration.id, ()))
        plans.append(DrillPlan(integration.id, integration.name,
                               _skip_reason(integration, found), found))
    return plans


def _skip_reason(integration: DrillIntegration, checks: Sequence[TriggerCheck]) -> str | None:
    if integration.status == "disabled":
        why = f" ({integration.disabled_reason})" if integration.disabled_reason else ""
        return f"integration is disabled{why}"
    if integration.status != "active":
        return "integration is a draft (not connected)"
    if any(c.matched for c in checks):
        return None
    # "filter did not match: <filter>" of each enabled trigger, named: "…: <trigger>: <filter>"
    named = [f"{head}: {c.name}: {rest}" for c in checks if c.reason != TRIGGER_DISABLED
             for head, _, rest in [(c.reason or "").partition(": ")]]
    if not named:
        return "no enabled trigger routes to it"
    return "; ".join(named)


def failure_reason(error: str | None, error_kind: str | None) -> str:
    """A failed send's reason: an SSRF refusal says it was the guard (no packet was sent)."""
    if error_kind == "refused":
        return f"refused by the SSRF guard: {(error or '').removeprefix('refused: ')}"
    return error or "failed"
