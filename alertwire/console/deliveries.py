"""Deliveries: per integration and per alert, every attempt with what was sent and what came
back, and Retry (SPEC §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from alertwire.api.deps import ServicesDep
from alertwire.console.alerts import integration_names, trigger_names
from alertwire.console.auth import safe_next
from alertwire.console.pages import ConsoleRoute, redirect, render
from alertwire.console.session import ChangeForm, ViewerDep
from alertwire.errors import Conflict, NotFound
from alertwire.store.deliveries import STATES

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50


@router.get("/deliveries")
async def deliveries_page(
    request: Request, services: ServicesDep, viewer: ViewerDep,
    integration_id: Annotated[str, Query(max_length=100)] = "",
    alert_id: Annotated[str, Query(max_length=100)] = "",
    trigger_id: Annotated[str, Query(max_length=100)] = "",
    status: str = "", cursor: str | None = None,
) -> Response:
    items, next_cursor = await services.store.deliveries.page(
        integration_id=integration_id or None, alert_id=alert_id.strip() or None,
        trigger_id=trigger_id or None, status=status if status in STATES else None,
        limit=PAGE_SIZE, cursor=cursor)
    return render(
        request, "deliveries.html", deliveries=items, integrations=await integration_names(services),
        triggers=await trigger_names(services), statuses=STATES,
        selected={"integration_id": integration_id, "alert_id": alert_id.strip(),
                  "trigger_id": trigger_id, "status": status},
        next_cursor=next_cursor, paged=cursor is not None,
    )


@router.get("/deliveries/{delivery_id}")
async def delivery_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                        delivery_id: str) -> Response:
    store = services.store.deliveries
    delivery = await store.get(delivery_id)
    body = await store.body(delivery_id)
    if body is not None:  # as it leaves: through the redaction rules that apply now
        try:
            own = (await services.store.integrations.get(delivery.integration_id)).redaction_rules
        except NotFound:
            own = []
        redactor = await services.store.redaction.redactor(own)
        body = redactor.redact_json(body.encode()).decode()
    return render(
        request, "delivery.html", delivery=delivery, body=body,
        integrations=await integration_names(services), triggers=await trigger_names(services),
    )


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, services: ServicesDep, form: ChangeForm,
                         delivery_id: str) -> Response:
    back = safe_next(form.get("next") or f"/deliveries/{delivery_id}")
    try:
        await services.store.deliveries.retry(delivery_id)
    except Conflict as exc:
        return redirect(request, back, f"Not retried: {exc.message}.")
    services.wake_workers()
    return redirect(request, back, "Queued again: it is being sent now.")
