"""Every error answers JSON `{"error", "message", "field"?, "errors"?}` saying what and where."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from alertwire.errors import AlertwireError


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _alertwire_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AlertwireError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.field, **exc.extra), status_code=exc.status_code
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    for err in errors:
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            where = err.get("loc", ("body", 0))[-1]
            return JSONResponse(
                error_body(
                    "malformed_json",
                    f"body is not valid JSON: {ctx.get('error', 'parse error')} "
                    f"(at character {where})",
                ),
                status_code=400,
            )
    details: list[dict[str, Any]] = []
    for err in errors:
        field = _location(tuple(err.get("loc", ())))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        detail: dict[str, Any] = {"field": field, "message": message}
        line = (err.get("ctx") or {}).get("line")
        if isinstance(line, int):  # a custom template's error names its line
            detail["line"] = line
        details.append(detail)
    first = details[0] if details else {"field": "body", "message": "invalid request"}
    extra = {"line": first["line"]} if "line" in first else {}
    return JSONResponse(
        error_body("invalid", f"{first['field']}: {first['message']}", first["field"],
                   errors=details, **extra),
        status_code=422,
    )


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods of the resource at this path, as /openapi.json documents them: literal paths
    first (`/api/v1/integrations/preview` is not an integration id), then templates. Pages
    outside the document: every method some route takes. (Starlette's 405 named only the
    first route's method, though GET and POST /api/v1/alerts are two routes.)"""
    path = request.url.path
    documented: dict[str, Any] = request.app.openapi()["paths"]
    found = documented.get(path)
    if found is None:
        found = next((ops for template, ops in documented.items()
                      if "{" in template and _template(template).fullmatch(path)), None)
    if found is not None:
        return [method for method in METHODS if method.lower() in found]
    return [method for method in METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                   for route in request.app.router.routes)]


def _template(path: str) -> re.Pattern[str]:
    """`/hooks/{bin_id}/{path}` → a pattern: one segment per parameter, any rest for `path`."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile("".join(
        (".+" if part == "{path}" else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    message, headers = str(exc.detail), exc.headers
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        message = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        headers = {"Allow": ", ".join(allowed)}
    return JSONResponse(
        error_body(codes.get(exc.status_code, "error"), message),
        status_code=exc.status_code,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(AlertwireError, _alertwire_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
