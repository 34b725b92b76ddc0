"""`/api/v1/drills`: fire drills, a labelled test alert through every trigger to every
integration, reported per integration (issue #12)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from alertwire.api.deps import Admin, ServicesDep
from alertwire.api.schemas import iso
from alertwire.delivery.drill import DrillReport, IntegrationResult, run_drill

router = APIRouter(prefix="/api/v1/drills", tags=["drills"])


class DrillRequest(BaseModel):
    """The alert to send (as a source would post it); without one, the sample KubeArmor
    alert Test Connection sends."""

    model_config = ConfigDict(extra="forbid")

    alert: dict[str, Any] | None = None


class DrillTriggerOut(BaseModel):
    trigger_id: str
    name: str
    matched: bool
    reason: str | None


class DrillIntegrationOut(BaseModel):
    integration_id: str
    name: str
    status: Literal["delivered", "failed", "skipped"]
    reason: str | None  # null when delivered
    status_code: int | None
    latency_ms: float | None
    triggers: list[DrillTriggerOut]

    @classmethod
    def build(cls, result: IntegrationResult) -> DrillIntegrationOut:
        return cls(
            integration_id=result.integration_id, name=result.name, status=result.status,
            reason=result.reason, status_code=result.status_code, latency_ms=result.latency_ms,
            triggers=[DrillTriggerOut(trigger_id=t.trigger_id, name=t.name, matched=t.matched,
                                      reason=t.reason) for t in result.triggers],
        )


class DrillSummary(BaseModel):
    delivered: int
    failed: int
    skipped: int


class DrillOut(BaseModel):
    id: str
    started_at: str
    finished_at: str
    alert: dict[str, Any]  # the alert sent, label included
    summary: DrillSummary
    integrations: list[DrillIntegrationOut]

    @classmethod
    def build(cls, report: DrillReport) -> DrillOut:
        return cls(
            id=report.id, started_at=iso(report.started_at) or "",
            finished_at=iso(report.finished_at) or "", alert=report.alert,
            summary=DrillSummary(**report.summary()),
            integrations=[DrillIntegrationOut.build(r) for r in report.integrations],
        )


@router.post("", response_model=DrillOut)
async def run_fire_drill(
    services: ServicesDep, _: Admin, body: DrillRequest | None = None
) -> DrillOut:
    """Run a fire drill: send a test alert, labelled `alertwire_drill: true` and with
    "[alertwire fire drill — test, no action needed]" before its message, once to every
    active integration that an enabled trigger matching it routes to, now and directly (no
    retries, silences or throttles). Every integration is reported: `delivered`, `failed`
    or `skipped`, with the status code, the latency and the reason. Nothing is stored."""
    report = await run_drill(services.store, services.http,
                             timeout=services.settings.delivery_timeout,
                             alert=body.alert if body is not None else None)
    return DrillOut.build(report)
