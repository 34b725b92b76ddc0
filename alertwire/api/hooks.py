"""`/hooks/{bin_id}`: the inspector's capture endpoint. Any method, no auth (SPEC §7)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from alertwire.api.bodies import read_limited
from alertwire.api.deps import ServicesDep
from alertwire.domain.bins import MAX_CAPTURE_BYTES

router = APIRouter(tags=["inspector"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def capture(bin_id: str, request: Request, services: ServicesDep) -> Response:
    """Record the request (method, path, query, ordered headers, raw body, client IP) and
    answer with the bin's configured status, body, headers and delay."""
    found = await services.store.bins.get(bin_id)
    body = await read_limited(request, MAX_CAPTURE_BYTES, "1 MiB per bin request")
    await services.store.bins.capture(
        bin_id, method=request.method, path=request.url.path, query=request.url.query,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
        body=body, ip=request.client.host if request.client else None,
        max_requests=found.max_requests,
    )
    services.hub.notify(bin_id)
    answer = found.response
    if answer.delay:
        await asyncio.sleep(answer.delay)
    return Response(content=answer.body.encode() if answer.has_body() else b"",
                    status_code=answer.status,
                    media_type=answer.content_type, headers=answer.headers)


_ANY: dict[str, Any] = {"*/*": {"schema": {}}}
# A bin answers what its owner configured: any status, content type and body.
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The bin's configured answer (by default 200, text/plain, empty)",
          "content": _ANY},
    "default": {"description": "The bin's configured answer (status, content type, headers, "
                               "body, after its delay)", "content": _ANY},
    404: {"description": "No bin with this id (a JSON error), or the bin's configured answer",
          "content": _ANY},
    413: {"description": "The body is over 1 MiB (a JSON error), or the bin's configured answer",
          "content": _ANY},
}
_ANY_BODY = {"requestBody": {"required": False, "content": _ANY,
                             "description": "Anything: recorded byte for byte"}}
_BELOW = {"parameters": [{"name": "path", "in": "path", "required": True,
                          "description": "Any path below the bin, recorded as sent",
                          "schema": {"type": "string"}}]}

# One route per method and path, so each gets its own OpenAPI operation id.
for _method in METHODS:
    for _path, _suffix in (("/hooks/{bin_id}", ""), ("/hooks/{bin_id}/{path:path}", "_below")):
        _extra = (_ANY_BODY if _method in ("POST", "PUT", "PATCH", "DELETE") else {}) \
            | (_BELOW if _suffix else {})
        router.add_api_route(_path, capture, methods=[_method], responses=_ANSWERS,
                             response_class=Response,
                             operation_id=f"capture_{_method.lower()}{_suffix}",
                             openapi_extra=_extra or None)
