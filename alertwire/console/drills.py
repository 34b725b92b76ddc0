"""Settings → Integrations → Run fire drill: the labelled test alert through every trigger
to every integration, and the report as a table (issue #12). The same `run_drill` as
`POST /api/v1/drills`; nothing is stored, so the report is the answer to the POST."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from alertwire.api.deps import ServicesDep
from alertwire.console.pages import ConsoleRoute, render
from alertwire.console.session import ChangeForm, ViewerDep
from alertwire.delivery.drill import run_drill
from alertwire.domain.drills import plan
from alertwire.domain.samples import kubearmor_file_integrity_alert
from alertwire.store import Integration, Trigger
from alertwire.store.paging import every

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/integrations/drill")
async def drill_page(request: Request, services: ServicesDep, viewer: ViewerDep) -> Response:
    """What a drill does, who it would reach, and the button: the confirmation before
    real messages go out (and where a reload of a report lands, not in a resend)."""
    integrations: list[Integration] = await every(services.store.integrations.page)
    triggers: list[Trigger] = await every(services.store.triggers.page)
    reached = [p.name for p in plan(integrations, triggers, kubearmor_file_integrity_alert())
               if p.skip is None]
    return render(request, "drill.html", report=None, alert="", reached=reached)


@router.post("/integrations/drill")
async def run_drill_now(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    report = await run_drill(services.store, services.http,
                             timeout=services.settings.delivery_timeout)
    return render(request, "drill.html", report=report,
                  alert=json.dumps(report.alert, indent=2, ensure_ascii=False))
