"""Console sessions (SPEC §8): an encrypted cookie carrying the API token the user logged in
with, an expiry and a CSRF token; the checks every page and every form goes through.

The cookie is sealed with a key derived from the server's secret key for this one purpose,
so it can be neither read nor forged, and every process sharing `ALERTWIRE_SECRET_KEY`
accepts it. The token inside is looked up on every request, so deleting a token ends the
sessions opened with it.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request, Response

from alertwire import bootstrap
from alertwire.api.bodies import read_limited
from alertwire.api.deps import ServicesDep
from alertwire.domain.crypto import Cipher, DecryptionError
from alertwire.domain.tokens import grants
from alertwire.store import ApiToken

COOKIE = "alertwire_session"
LIFETIME_SECONDS = 12 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 1024 * 1024


class LoginRequired(Exception):
    """No valid session: the console answers with a redirect to /login."""


class Forbidden(Exception):
    """A change without a valid CSRF token, or by a token that may only read: 403."""


class BadForm(Exception):
    """A body that is not a URL-encoded form: 400."""


class Sealer:
    """Encrypts small JSON documents for the browser to hold (the session, Test Connection
    results), each tagged with its kind so one can never pass for another."""

    def __init__(self, secret_key: str) -> None:
        self._cipher = Cipher("alertwire-console\0" + secret_key)

    def seal(self, kind: str, content: dict[str, Any]) -> str:
        return self._cipher.encrypt(json.dumps({"kind": kind, **content}))

    def unseal(self, kind: str, sealed: str) -> dict[str, Any] | None:
        try:
            content = json.loads(self._cipher.decrypt(sealed))
        except (DecryptionError, ValueError):
            return None
        if not isinstance(content, dict) or content.get("kind") != kind:
            return None
        return content


def sealer(request: Request) -> Sealer:
    """One per app, built on first use from the secret key the store encrypts with."""
    found: Sealer | None = getattr(request.app.state, "console_sealer", None)
    if found is None:
        found = Sealer(bootstrap.secret_key(request.app.state.services.settings))
        request.app.state.console_sealer = found
    return found


@dataclass(frozen=True)
class SessionData:
    token: str | None  # None before login: the session then only protects the login form
    csrf: str
    expires_at: float
    flash: str | None = None  # a one-time message for the next page shown

    @classmethod
    def new(cls, token: str | None = None) -> SessionData:
        return cls(token=token, csrf=secrets.token_urlsafe(24),
                   expires_at=time.time() + LIFETIME_SECONDS)


def read_session(request: Request) -> SessionData | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    content = sealer(request).unseal("session", raw)
    if content is None:
        return None
    try:
        data = SessionData(token=content["token"], csrf=str(content["csrf"]),
                           expires_at=float(content["expires_at"]), flash=content.get("flash"))
    except (KeyError, TypeError, ValueError):
        return None
    if data.expires_at <= time.time():
        return None
    return data


def write_session(request: Request, response: Response, data: SessionData) -> None:
    value = sealer(request).seal("session", {
        "token": data.token, "csrf": data.csrf, "expires_at": data.expires_at,
        "flash": data.flash,
    })
    response.set_cookie(
        COOKIE, value, max_age=max(0, int(data.expires_at - time.time())), path="/",
        httponly=True, samesite="lax", secure=request.url.scheme == "https",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")


@dataclass(frozen=True)
class Viewer:
    """The logged-in user: their session and the token it was opened with."""

    session: SessionData
    token: ApiToken

    @property
    def can_change(self) -> bool:
        return grants(self.token.scopes, "admin")

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def with_flash(self, message: str | None) -> SessionData:
        return replace(self.session, flash=message)


async def current_viewer(request: Request, services: ServicesDep) -> Viewer:
    data = read_session(request)
    if data is None or data.token is None:
        raise LoginRequired
    token = await services.store.tokens.find(data.token)
    if token is None or not grants(token.scopes, "read"):
        raise LoginRequired
    viewer = Viewer(data, token)
    request.state.viewer = viewer
    return viewer


class Form:
    """A URL-encoded form body: repeated fields (header rows, channels) keep their order."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.pairs if k == name), default)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]


async def read_form(request: Request) -> Form:
    body = await read_limited(request, MAX_FORM_BYTES, "1 MiB per form")
    if not body:
        return Form([])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm("Forms are sent as application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadForm("The form is not UTF-8.") from None
    return Form(pairs)


def check_csrf(request: Request, session: SessionData, form: Form) -> None:
    """The token from the hidden field (forms) or the header (scripts) must be the session's."""
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise Forbidden("The form's CSRF token is missing or out of date: "
                        "reload the page and try again.")


async def posted_form(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Form:
    """A form from a logged-in user, with a valid CSRF token."""
    form = await read_form(request)
    check_csrf(request, viewer.session, form)
    return form


async def change_form(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Form:
    """A form that changes something: CSRF-checked, and only for `admin` tokens."""
    form = await posted_form(request, viewer)
    if not viewer.can_change:
        held = ", ".join(sorted(viewer.token.scopes))
        raise Forbidden(f"You are logged in with a token of scope {held}: changes need admin.")
    return form


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
PostedForm = Annotated[Form, Depends(posted_form)]
ChangeForm = Annotated[Form, Depends(change_form)]
