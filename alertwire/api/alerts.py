"""`/api/v1/alerts`: alerts in (SPEC §3) and the alert list."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from alertwire.api.bodies import read_limited
from alertwire.api.deps import Reader, ServicesDep, authorize, services_of
from alertwire.api.openapi import error_responses
from alertwire.api.schemas import iso
from alertwire.domain.alerts import MAX_BODY_BYTES, parse_alerts
from alertwire.domain.filters import FilterError, parse
from alertwire.errors import Invalid
from alertwire.store import StoredAlert

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_ALERT_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"},
                                           "maxItems": 10000}],
            "description": "One alert (KubeArmor, Falco or any JSON object) or an array.",
        }}},
    }
}
_ALERT_DOC = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "received_at": {"type": "string"},
                   "source": {"type": "string", "enum": ["kubearmor", "falco", "generic"]},
                   "alert": {"type": "object"}},
}


def alert_json(alert: StoredAlert) -> str:
    """The §0 shape with the alert's own text spliced in, so it reads exactly as received."""
    head = json.dumps({"id": alert.id, "received_at": iso(alert.received_at),
                       "source": alert.source})
    return f'{head[:-1]}, "alert": {alert.body}}}'


def invalid_filter(exc: FilterError) -> Invalid:
    error = Invalid(f"filter: {exc}", field="filter")
    error.extra = {"position": exc.position, "expected": exc.expected}
    return error


@router.post(
    "", status_code=202, openapi_extra=_ALERT_BODY_DOC | {"security": [{"HTTPBearer": []}]},
    responses={**error_responses(413), 202: {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"accepted": {"type": "integer"},
                                         "ids": {"type": "array", "items": {"type": "string"}}},
        "required": ["accepted", "ids"],
    }}}}},
)
async def ingest(request: Request) -> dict[str, object]:
    """Store the alerts and the deliveries they cause, durably, then answer 202."""
    # The busiest operation takes no FastAPI dependencies: resolving them cost more CPU than
    # storing a single alert (`test_single_alert_request_work`).
    services = services_of(request)
    await authorize(request, services, "ingest")
    incoming = parse_alerts(await read_limited(request, MAX_BODY_BYTES, "10 MiB"))
    result = await services.store.alerts.ingest(incoming)
    for item in incoming:
        services.metrics.alert_received(item.source)
    services.metrics.deliveries_created.inc(result.deliveries)
    if result.waiting:
        services.wake_workers()
    return {"accepted": len(result.ids), "ids": result.ids}


@router.get("", responses={200: {"content": {"application/json": {"schema": {
    "type": "object", "properties": {"items": {"type": "array", "items": _ALERT_DOC},
                                     "next_cursor": {"type": ["string", "null"]}},
}}}}})
async def list_alerts(
    services: ServicesDep, _: Reader,
    filter: Annotated[str | None, Query(max_length=4096, description="SPEC §4 expression")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Response:
    """Newest first. With a filter, at most 50,000 alerts are looked at per page; the cursor
    then continues from where the search stopped."""
    if filter:
        try:
            matcher = parse(filter)
        except FilterError as exc:
            raise invalid_filter(exc) from None
        items, next_cursor = await services.store.alerts.scan(
            lambda a: matcher.matches(a.parsed()), limit=limit, cursor=cursor)
    else:
        items, next_cursor = await services.store.alerts.scan(
            lambda a: True, limit=limit, cursor=cursor)
    body = '{"items": [' + ", ".join(alert_json(a) for a in items) + "], " \
        + f'"next_cursor": {json.dumps(next_cursor)}}}'
    return Response(body, media_type="application/json")


@router.get("/{alert_id}", responses={200: {"content": {"application/json": {
    "schema": _ALERT_DOC}}}})
async def get_alert(alert_id: str, services: ServicesDep, _: Reader) -> Response:
    return Response(alert_json(await services.store.alerts.get(alert_id)),
                    media_type="application/json")
