"""Request dependencies: the running services and bearer-token authorization (SPEC §8)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from alertwire.delivery.http import HttpClient
from alertwire.delivery.scheduler import Scheduler
from alertwire.delivery.worker import DeliveryWorker
from alertwire.domain.tokens import Scope, grants
from alertwire.inspector.hub import BinHub
from alertwire.inspector.own_bins import OwnBins
from alertwire.metrics import Metrics
from alertwire.settings import Settings
from alertwire.store import ApiToken, Store
from alertwire.store.notify import DeliveryListener


@dataclass
class Services:
    """What every request may use; built once by the app's lifespan."""

    settings: Settings
    store: Store
    http: HttpClient
    hub: BinHub
    own_bins: OwnBins
    metrics: Metrics = field(default_factory=Metrics)
    worker: DeliveryWorker | None = None
    scheduler: Scheduler | None = None
    listener: DeliveryListener | None = None

    def wake_workers(self) -> None:
        """Deliveries were committed: the in-process worker claims them now."""
        if self.worker is not None:
            self.worker.wake()


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency in its threadpool, a thread hop
    # on every request.
    return services_of(request)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
_bearer = HTTPBearer(auto_error=False, description="An alertwire API token")


def basic_auth_token(request: Request) -> str | None:
    """The token in `Authorization: Basic` (the password, or the user name when the password
    is empty), or None. Senders that cannot set headers, such as Falco's `http_output`, put
    credentials in the URL (`http://falco:TOKEN@host/api/v1/alerts`) and libcurl sends them
    this way."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return password or user or None


async def authorize(request: Request, services: Services, scope: Scope) -> ApiToken:
    """The request's token, if its scopes grant `scope`: 401 without one, 403 beyond it. The
    token comes as `Authorization: Bearer <token>`, or as HTTP Basic credentials."""
    challenge = {"WWW-Authenticate": "Bearer"}
    bearer_scheme, bearer = get_authorization_scheme_param(request.headers.get("authorization"))
    secret = bearer if bearer and bearer_scheme.lower() == "bearer" else basic_auth_token(request)
    if secret is None:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer <token>)",
                            headers=challenge)
    token = await services.store.tokens.find(secret)
    if token is None:
        raise HTTPException(401, "unknown or revoked token", headers=challenge)
    if not grants(token.scopes, scope):
        held = ", ".join(sorted(token.scopes))
        raise HTTPException(403, f"this token has scope {held}; this needs {scope}")
    return token


def require(scope: Scope) -> Callable[..., Awaitable[ApiToken]]:
    """A dependency admitting tokens whose scopes grant `scope` (`authorize`)."""

    async def dependency(
        request: Request,
        services: ServicesDep,
        # Not read (`authorize` reads the header): it puts the bearer scheme in the OpenAPI
        # document of every operation that needs a token.
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiToken:
        return await authorize(request, services, scope)

    return dependency


Admin = Annotated[ApiToken, Depends(require("admin"))]
Reader = Annotated[ApiToken, Depends(require("read"))]
