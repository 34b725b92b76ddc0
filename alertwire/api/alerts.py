"""`/api/v1/alerts`: alerts in (SPEC §3) and the alert list."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from alertwire.api.bodies import BufferedBody, announced_over, read_limited
from alertwire.api.deps import Reader, Services, ServicesDep, authorize, services_of
from alertwire.api.openapi import error_responses
from alertwire.api.schemas import iso
from alertwire.domain.alerts import MAX_BODY_BYTES, IncomingAlert, parse_alerts
from alertwire.domain.filters import FilterError, parse
from alertwire.errors import AlertwireError, Invalid
from alertwire.store import StoredAlert

PATH = "/api/v1/alerts"
router = APIRouter(prefix=PATH, tags=["alerts"])

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
    # Most requests never get here: `AlertIntake` answers them. This route answers the rest,
    # errors included, and is what the OpenAPI document describes.
    services = services_of(request)
    await authorize(request, services, "ingest")
    return await _accept(services, parse_alerts(
        await read_limited(request, MAX_BODY_BYTES, "10 MiB")))


async def _accept(services: Services, incoming: list[IncomingAlert]) -> dict[str, object]:
    result = await services.store.alerts.ingest(incoming)
    for item in incoming:
        services.metrics.alert_received(item.source)
    services.metrics.deliveries_created.inc(result.deliveries)
    if result.waiting:
        services.wake_workers()
    return {"accepted": len(result.ids), "ids": result.ids}


class AlertIntake:
    """`POST /api/v1/alerts` the short way (ASGI middleware): a request with a token that
    may ingest and a body that parses is stored and answered here, without FastAPI's routing,
    dependency resolution and serialisation, which cost more CPU than storing one alert.
    Anything else (no token, a bad body, one over the limit) is handed on untouched to the
    `ingest` route, which answers with the error it always gave."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if announced_over(Headers(scope=scope), MAX_BODY_BYTES) is not None:
            await self.app(scope, receive, send)  # the route refuses it unread
            return
        buffered = await BufferedBody.read(receive, MAX_BODY_BYTES)
        request = Request(scope)
        services = services_of(request)
        incoming: list[IncomingAlert] | None = None
        if buffered.complete and buffered.size <= MAX_BODY_BYTES:
            try:
                await authorize(request, services, "ingest")
                incoming = parse_alerts(buffered.body())
            except (AlertwireError, HTTPException):
                incoming = None
        if incoming is None:
            await self.app(scope, buffered.replay, send)
            return
        answer = json.dumps(await _accept(services, incoming), separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": 202, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


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
