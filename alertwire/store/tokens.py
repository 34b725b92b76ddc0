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


class TokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

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
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    api_tokens.select().where(api_tokens.c.token_hash == hash_token(token))
                )
            ).first()
        return _row(row) if row is not None else None

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
        return result.rowcount > 0
