"""Logging in with an API token, and out (SPEC §8)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from alertwire.api.deps import ServicesDep
from alertwire.console.pages import ConsoleRoute, redirect, render
from alertwire.console.session import (
    Forbidden,
    PostedForm,
    SessionData,
    ViewerDep,
    check_csrf,
    clear_session,
    read_form,
    read_session,
    write_session,
)
from alertwire.domain.tokens import grants

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
HOME = "/alerts"


def safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect (`//evil.example`, `https://…`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME
    return target


@router.get("/")
async def home(viewer: ViewerDep) -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
async def login_page(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    # A session without a token protects the login form itself with a CSRF token.
    session = read_session(request)
    if session is not None and session.token is not None:
        found = await services.store.tokens.find(session.token)
        if found is not None and grants(found.scopes, "read"):
            return RedirectResponse(safe_next(next), status_code=303)
    fresh = session is None
    if session is None:
        session = SessionData.new()
    response = render(request, "login.html", csrf=session.csrf, next=safe_next(next),
                      error=None)
    if fresh:
        write_session(request, response, session)
    return response


@router.post("/login")
async def login(request: Request, services: ServicesDep) -> Response:
    form = await read_form(request)
    session = read_session(request)
    if session is None:
        raise Forbidden("The login form expired (or cookies are off): reload the page.")
    check_csrf(request, session, form)
    token = form.get("token").strip()
    next_page = safe_next(form.get("next"))
    found = await services.store.tokens.find(token) if token else None
    error = None
    if found is None:
        error = "Unknown or revoked token."
    elif not grants(found.scopes, "read"):
        error = (f"This token has scope {', '.join(sorted(found.scopes))}: it may only send "
                 "alerts. Log in with an admin or read token.")
    if error is not None:
        return render(request, "login.html", status_code=401, csrf=session.csrf,
                      next=next_page, error=error)
    response = RedirectResponse(next_page, status_code=303)
    write_session(request, response, SessionData.new(token))  # a new CSRF token, too
    return response


@router.post("/logout")
async def logout(request: Request, viewer: ViewerDep, form: PostedForm) -> Response:
    response = redirect(request, "/login")
    clear_session(request, response)
    return response
