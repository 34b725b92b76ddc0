"""`/api/v1/bins`: the request inspector's bins, their captures, live stream and replay (§7)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel

from alertwire.api.deps import Admin, Reader, Services, ServicesDep
from alertwire.api.schemas import TestResult, iso
from alertwire.domain.bins import BinPatch, BinResponse, BinSpec, as_curl, body_fields
from alertwire.domain.integrations import validate_url
from alertwire.errors import Invalid
from alertwire.inspector.replay import replay
from alertwire.store import Bin, CapturedRequest

router = APIRouter(prefix="/api/v1/bins", tags=["inspector"])
STREAM_KEEPALIVE_SECONDS = 15.0


class BinOut(BaseModel):
    id: str
    name: str
    url: str
    response: BinResponse
    max_requests: int
    created_at: str | None


class CapturedOut(BaseModel):
    id: str
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: str | None
    body_base64: str | None
    size: int
    ip: str | None
    received_at: str | None


class CapturedPage(BaseModel):
    items: list[CapturedOut]
    next_cursor: str | None


class ReplayIn(BaseModel):
    url: str


def bin_url(services: ServicesDep, bin_id: str) -> str:
    return f"{services.settings.base_url}/hooks/{bin_id}"


def bin_out(services: ServicesDep, found: Bin) -> BinOut:
    return BinOut(id=found.id, name=found.name, url=bin_url(services, found.id),
                  response=found.response, max_requests=found.max_requests,
                  created_at=iso(found.created_at))


def captured_out(request: CapturedRequest) -> CapturedOut:
    return CapturedOut(
        id=request.id, method=request.method, path=request.path, query=request.query,
        headers=request.headers, size=request.size, ip=request.ip,
        received_at=iso(request.received_at), **body_fields(request.body),
    )


def curl_command(services: Services, captured: CapturedRequest) -> str:
    """The captured request as a curl command that sends it to the bin again."""
    url = services.settings.base_url + captured.path
    if captured.query:
        url += "?" + captured.query
    return as_curl(captured.method, url, captured.headers, captured.body)


async def replay_captured(services: Services, bin_id: str, request_id: str,
                          url: str) -> TestResult:
    """Send a captured request to `url` from the server, through the SSRF guard."""
    try:
        url = validate_url(url)
    except ValueError as exc:
        raise Invalid(f"url: {exc}", field="url") from None
    captured = await services.store.bins.request(bin_id, request_id)
    result = await replay(services.http, captured, url,
                          timeout=services.settings.delivery_timeout,
                          redactor=await services.store.redaction.redactor())
    return TestResult(**result)


@router.post("", status_code=201, response_model=BinOut)
async def create_bin(services: ServicesDep, _: Admin, spec: BinSpec | None = None) -> BinOut:
    """A new bin; its `url` takes any method and records what arrives."""
    return bin_out(services, await services.store.bins.create(spec or BinSpec()))


@router.get("", response_model=list[BinOut])
async def list_bins(services: ServicesDep, _: Reader) -> list[BinOut]:
    return [bin_out(services, b) for b in await services.store.bins.all()]


@router.get("/{bin_id}", response_model=BinOut)
async def get_bin(bin_id: str, services: ServicesDep, _: Reader) -> BinOut:
    return bin_out(services, await services.store.bins.get(bin_id))


@router.patch("/{bin_id}", response_model=BinOut)
async def update_bin(bin_id: str, patch: BinPatch, services: ServicesDep, _: Admin) -> BinOut:
    """Change the name, the cap or the response (status, body, content type, headers, delay)."""
    current = await services.store.bins.get(bin_id)
    merged = BinSpec(name=current.name, response=current.response,
                     max_requests=current.max_requests)
    spec = merged.model_copy(update=patch.model_dump(exclude_unset=True, exclude_none=True))
    if patch.response is not None:
        spec = spec.model_copy(update={"response": patch.response})
    return bin_out(services, await services.store.bins.update(bin_id, spec))


@router.delete("/{bin_id}", status_code=204)
async def delete_bin(bin_id: str, services: ServicesDep, _: Admin) -> Response:
    await services.store.bins.delete(bin_id)
    return Response(status_code=204)


@router.get("/{bin_id}/requests", response_model=CapturedPage)
async def list_requests(
    bin_id: str, services: ServicesDep, _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
) -> CapturedPage:
    """Captured requests, newest first."""
    await services.store.bins.get(bin_id)
    items, next_cursor = await services.store.bins.requests(bin_id, limit=limit, cursor=cursor)
    return CapturedPage(items=[captured_out(r) for r in items], next_cursor=next_cursor)


@router.get("/{bin_id}/requests/{request_id}", response_model=CapturedOut)
async def get_request(
    bin_id: str, request_id: str, services: ServicesDep, _: Reader
) -> CapturedOut:
    return captured_out(await services.store.bins.request(bin_id, request_id))


@router.get("/{bin_id}/requests/{request_id}/curl", response_class=PlainTextResponse)
async def request_as_curl(
    bin_id: str, request_id: str, services: ServicesDep, _: Reader
) -> str:
    """The captured request as a curl command that sends it to the bin again."""
    return curl_command(services, await services.store.bins.request(bin_id, request_id))


@router.post("/{bin_id}/requests/{request_id}/replay", response_model=TestResult)
async def replay_request(
    bin_id: str, request_id: str, body: ReplayIn, services: ServicesDep, _: Admin
) -> TestResult:
    """Send the captured request to `url` from the server, through the SSRF guard."""
    return await replay_captured(services, bin_id, request_id, body.url)


@router.get("/{bin_id}/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(
    bin_id: str, request: Request, services: ServicesDep, _: Reader,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events: one `request` event per capture from now on (or after
    `Last-Event-ID` when reconnecting), with a comment line as keep-alive."""
    if last_event_id is None:
        newest, _cursor = await services.store.bins.requests(bin_id, limit=1)
        last_event_id = newest[0].id if newest else ""
    return await capture_events(request, services, bin_id, last_event_id,
                                lambda item: captured_out(item).model_dump())


async def capture_events(
    request: Request, services: Services, bin_id: str, after: str,
    data: Callable[[CapturedRequest], dict[str, Any]],
) -> StreamingResponse:
    """The SSE stream of a bin's captures newer than the request id `after` ("": all), each
    event's data being `data(capture)`; the console's live list uses it too."""
    await services.store.bins.get(bin_id)

    async def events() -> AsyncIterator[str]:
        last = after
        yield ": connected\n\n"
        while not await request.is_disconnected():
            items, _cursor = await services.store.bins.requests(bin_id, limit=100, after=last)
            for item in items:
                yield f"id: {item.id}\nevent: request\ndata: {json.dumps(data(item))}\n\n"
                last = item.id
            if not items:
                await services.hub.wait(bin_id, STREAM_KEEPALIVE_SECONDS)
                yield ": keep-alive\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
