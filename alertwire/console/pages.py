"""Rendering console pages: the Jinja2 environment, redirects with a flash message, static
files, and the route class that turns session and domain errors into pages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.staticfiles import StaticFiles

from alertwire.console.forms import sentence
from alertwire.console.session import (
    BadForm,
    Forbidden,
    LoginRequired,
    Viewer,
    write_session,
)
from alertwire.errors import AlertwireError

HERE = Path(__file__).parent
# Deliveries a user may send again now (a delivered one only from its own page: "Send again").
RETRYABLE = ("failed", "dead", "cancelled")
STATIC_DIR = HERE / "static"

# Everything is served by alertwire itself: no inline scripts, no other origins.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _static_versions() -> dict[str, str]:
    """Content hashes for cache-busting URLs (`/static/app.css?v=…`)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in STATIC_DIR.iterdir() if path.is_file()
    }


_VERSIONS = _static_versions()


def static_url(name: str) -> str:
    return f"/static/{name}?v={_VERSIONS.get(name, '0')}"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def format_time(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def pretty_text(text: str | None) -> str:
    """JSON text indented for reading (keys in their order); anything else as it is."""
    if not text:
        return text or ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


environment = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals.update(static_url=static_url, retryable=RETRYABLE)
environment.filters.update(time=format_time, iso=iso_time, pretty_text=pretty_text,
                           sentence=sentence, urlquote=lambda s: quote(str(s), safe=""))


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    flash = viewer.session.flash if viewer is not None else None
    html = environment.get_template(template).render(
        request=request, viewer=viewer, csrf=viewer.csrf if viewer else context.pop("csrf", ""),
        flash=flash, path=request.url.path, **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if viewer is not None and flash:
        write_session(request, response, viewer.with_flash(None))  # shown once
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
    """303 to `url` (POST → redirect → GET), carrying a one-time message when given."""
    response = RedirectResponse(url, status_code=303)
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if flash and viewer is not None:
        write_session(request, response, viewer.with_flash(flash))
    return response


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": title, "message": message}, status_code=status_code)
    return render(request, "error.html", status_code=status_code, title=title, message=message)


def login_redirect(request: Request) -> Response:
    if wants_json(request):
        return JSONResponse({"error": "login required",
                             "message": "your session ended: reload the page and log in"},
                            status_code=401)
    target = "/login"
    if request.method == "GET" and request.url.path not in ("/", "/login"):
        target += "?next=" + quote(request.url.path + (f"?{request.url.query}"
                                                       if request.url.query else ""), safe="")
    return RedirectResponse(target, status_code=303)


class ConsoleRoute(APIRoute):
    """Console routes answer HTML: no session → /login, a refused change → a 403 page,
    domain errors → a page saying what went wrong; every answer gets the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = login_redirect(request)
            except Forbidden as exc:
                response = error_page(request, 403, "Forbidden", str(exc))
            except BadForm as exc:
                response = error_page(request, 400, "Bad request", str(exc))
            except RequestValidationError as exc:
                where = ", ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', 'invalid')}"
                    for e in exc.errors())
                response = error_page(request, 422, "Bad request", where)
            except AlertwireError as exc:
                titles = {404: "Not found", 409: "Conflict", 413: "Too large"}
                response = error_page(request, exc.status_code,
                                      titles.get(exc.status_code, "Error"), exc.message)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return console_handler
