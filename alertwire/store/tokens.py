"""API tokens: stored hashed, looked up by hash."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from alertwire.domain.crypto import new_id
from alertwire.domain.tokens import hash_token
from alertwire.store.db import writing
from alertwire.store.schema import api_tokens


@dataclass(frozen=True)
class ApiToken:
    id: str
    name: str
    scopes: frozenset[str]
    created_at: float
    last_used_at: float | None


def _row(row: sa.Row[tuple[object, ...]]) -> ApiToken:
    m = row._mapping
    return ApiToken(
        id=m["id"], name=m["name"], scopes=frozenset(m["scopes"]),
        created_at=m["created_at"], last_used_at=m["last_used_at"],
    )


# Known tokens are remembered this long, so a request does not pay a SELECT for its token
# (SPEC §10 single-alert ingest). A revocation takes effect at once in the process that made
# it and within this many seconds in other processes sharing the database.
TOKEN_CACHE_SECONDS = 2.0
TOKEN_CACHE_SIZE = 1024


class TokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._known: dict[str, tuple[ApiToken, float]] = {}  # by hash: token, when read

    async def create(self, token: str, name: str, scopes: list[str]) -> ApiToken:
        created = ApiToken(
            id=new_id("tok"), name=name, scopes=frozenset(scopes),
            created_at=time.time(), last_used_at=None,
        )
        async with writing(self._engine) as conn:
            await conn.execute(
                api_tokens.insert().values(
                    id=created.id, name=name, token_hash=hash_token(token),
                    scopes=sorted(created.scopes), created_at=created.created_at,
                )
            )
        return created

    async def ensure(self, token: str, name: str, scopes: list[str]) -> None:
        """Store `token` unless it is already known (a seeded admin token, on every start)."""
        if await self.find(token) is None:
            await self.create(token, name, scopes)

    async def find(self, token: str) -> ApiToken | None:
        digest = hash_token(token)
        now = time.monotonic()
        known = self._known.get(digest)
        if known is not None and now - known[1] < TOKEN_CACHE_SECONDS:
            return known[0]
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(api_tokens.select().where(api_tokens.c.token_hash == digest))
            ).first()
        if row is None:  # unknown tokens are not remembered: nobody can fill the cache
            self._known.pop(digest, None)
            return None
        if len(self._known) >= TOKEN_CACHE_SIZE:
            self._known.clear()
        found = _row(row)
        self._known[digest] = (found, now)
        return found

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(api_tokens)))
                       .scalar_one())

    async def all(self) -> list[ApiToken]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(api_tokens.select().order_by(api_tokens.c.created_at)))
        return [_row(r) for r in rows]

    async def delete(self, token_id: str) -> bool:
        async with writing(self._engine) as conn:
            result = await conn.execute(api_tokens.delete().where(api_tokens.c.id == token_id))
        self._known.clear()
        return result.rowcount > 0
