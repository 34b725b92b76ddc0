"""`/api/v1/tokens`: API tokens for senders (`ingest`) and dashboards (`read`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from alertwire.api.deps import Admin, ServicesDep
from alertwire.api.openapi import error_responses
from alertwire.api.schemas import iso
from alertwire.domain.tokens import Scope, generate_token
from alertwire.errors import Conflict, NotFound

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenCreate(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1)]


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: str | None
    token: str | None = None  # only in the answer to the create


@router.post("", status_code=201, response_model=TokenOut)
async def create_token(body: TokenCreate, services: ServicesDep, _: Admin) -> TokenOut:
    """The token itself is shown in this answer only; alertwire keeps just its hash."""
    secret = generate_token()
    created = await services.store.tokens.create(secret, body.name, list(body.scopes))
    return TokenOut(id=created.id, name=created.name, scopes=sorted(created.scopes),
                    created_at=iso(created.created_at), token=secret)


@router.get("", response_model=list[TokenOut])
async def list_tokens(services: ServicesDep, _: Admin) -> list[TokenOut]:
    return [
        TokenOut(id=t.id, name=t.name, scopes=sorted(t.scopes), created_at=iso(t.created_at))
        for t in await services.store.tokens.all()
    ]


@router.delete("/{token_id}", status_code=204, responses=error_responses(409))
async def revoke_token(token_id: str, services: ServicesDep, caller: Admin) -> Response:
    """Revoke a token. Not the one this request is made with (409): revoking always leaves
    the caller's admin token, so the API can never be locked out of its last one."""
    if token_id == caller.id:
        raise Conflict(f"this request is authenticated with token {token_id!r}; revoke it "
                       "with another admin token, so that one admin token always remains")
    if not await services.store.tokens.delete(token_id):
        raise NotFound(f"no token with id {token_id!r}")
    return Response(status_code=204)
