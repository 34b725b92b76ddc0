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

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/integrations/drill")
async def drill_page(request: Request, viewer: ViewerDep) -> Response:
    """What a drill does, and the button (a reload of a report lands here, not in a resend)."""
    return render(request, "drill.html", report=None, alert="")


@router.post("/integrations/drill")
async def run_drill_now(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    report = await run_drill(services.store, services.http,
                             timeout=services.settings.delivery_timeout)
    return render(request, "drill.html", report=report,
                  alert=json.dumps(report.alert, indent=2, ensure_ascii=False))
