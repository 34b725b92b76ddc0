"""Integrations, their Test Connection results and signing secrets. Secrets are encrypted here."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alertwire.domain import templates
from alertwire.domain.crypto import Cipher, new_id
from alertwire.domain.integrations import IntegrationConfig, IntegrationCreate
from alertwire.domain.redaction import RedactionRule
from alertwire.domain.signing import generate_secret
from alertwire.errors import Conflict, Invalid, NotFound
from alertwire.store.db import writing
from alertwire.store.paging import decode_cursor, encode_cursor
from alertwire.store.schema import integration_tests, integrations, trigger_channels, triggers

# How long the previous signing secret keeps signing after a rotation.
ROTATION_OVERLAP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Integration:
    id: str
    name: str
    method: str
    url: str
    success_codes: list[int]
    test_payload: Any  # None: send the sample alert
    description: str | None
    headers: dict[str, str]  # decrypted
    template: str
    template_options: dict[str, Any]
    secret: str
    previous_secret: str | None
    previous_secret_until: float | None
    status: str
    disabled_reason: str | None
    fallback_id: str | None
    failing_since: float | None
    created_at: float
    updated_at: float
    max_concurrency: int = 10
    rate_limit: float | None = None
    circuit_open_until: float | None = None
    redaction_rules: list[RedactionRule] = field(default_factory=list)

    def config(self) -> IntegrationConfig:
        return IntegrationConfig(
            method=self.method,
            url=self.url, success_codes=self.success_codes, test_payload=self.test_payload,
            headers=self.headers, template=self.template, template_options=self.template_options,
            redaction_rules=self.redaction_rules,
        )

    def fields(self) -> dict[str, Any]:
        """The integration as `IntegrationCreate` fields: the base an edit changes."""
        return {
            "name": self.name, "method": self.method, "url": self.url,
            "success_codes": self.success_codes, "test_payload": self.test_payload,
            "description": self.description, "headers": self.headers,
            "template": self.template, "template_options": self.template_options,
            "redaction_rules": [r.model_dump() for r in self.redaction_rules],
            "fallback": self.fallback_id, "max_concurrency": self.max_concurrency,
            "rate_limit": self.rate_limit,
        }

    def signing_secrets(self, now: float) -> list[str]:
        """The secrets that sign right now: during a rotation, the new one and the old one."""
        if self.previous_secret and (self.previous_secret_until or 0) > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


@dataclass(frozen=True)
class TestRecord:
    id: str
    integration_id: str
    config_fingerprint: str
    ok: bool
    result: dict[str, Any]
    created_at: float


class IntegrationStore:
    def __init__(self, engine: AsyncEngine, cipher: Cipher) -> None:
        self._engine = engine
        self._cipher = cipher

    def fingerprint(self, config: IntegrationConfig) -> str:
        return self._cipher.fingerprint(config.fingerprint_source())

    def _from_row(self, row: sa.Row[Any]) -> Integration:
        m = row._mapping
        return Integration(
            id=m["id"], name=m["name"], method=m["method"], url=m["url"],
            success_codes=list(m["success_codes"]),
            test_payload=None if m["test_payload"] is None else json.loads(m["test_payload"]),
            description=m["description"],
            headers=json.loads(self._cipher.decrypt(m["headers_enc"])),
            template=m["template"],
            template_options=self._open_options(m["template"], m["template_options"]),
            secret=self._cipher.decrypt(m["secret_enc"]),
            previous_secret=(
                self._cipher.decrypt(m["previous_secret_enc"])
                if m["previous_secret_enc"] else None
            ),
            previous_secret_until=m["previous_secret_until"], status=m["status"],
            disabled_reason=m["disabled_reason"], fallback_id=m["fallback_id"],
            failing_since=m["failing_since"], created_at=m["created_at"],
            updated_at=m["updated_at"], max_concurrency=m["max_concurrency"],
            rate_limit=m["rate_limit"], circuit_open_until=m["circuit_open_until"],
            redaction_rules=[RedactionRule.model_validate(r) for r in m["redaction_rules"] or ()],
        )

    def _values(self, spec: IntegrationCreate) -> dict[str, Any]:
        return {
            "name": spec.name, "name_key": spec.name.lower(), "method": spec.method,
            "url": spec.url, "success_codes": spec.success_codes,
            "test_payload": None if spec.test_payload is None else json.dumps(spec.test_payload),
            "description": spec.description,
            "headers_enc": self._cipher.encrypt(json.dumps(spec.headers)),
            "template": spec.template,
            "template_options": self._seal_options(spec.template, spec.template_options),
            "fallback_id": spec.fallback, "max_concurrency": spec.max_concurrency,
            "rate_limit": spec.rate_limit,
            "redaction_rules": [r.model_dump() for r in spec.redaction_rules]
            or None,
        }

    def _seal_options(self, template: str, options: dict[str, Any]) -> dict[str, Any]:
        """Secret options (`templates.secret_options`) stored as `{"encrypted": <token>}`."""
        secret = templates.secret_options(template)
        return {name: {"encrypted": self._cipher.encrypt(json.dumps(value))}
                if name in secret else value for name, value in options.items()}

    def _open_options(self, template: str, stored: dict[str, Any]) -> dict[str, Any]:
        # A secret option still in clear (saved before it was marked secret) reads as it is,
        # and is encrypted the next time the integration is saved.
        secret = templates.secret_options(template)
        return {name: json.loads(self._cipher.decrypt(value["encrypted"]))
                if name in secret and isinstance(value, dict) else value
                for name, value in stored.items()}

    async def _check_fallback(self, conn: AsyncConnection, spec: IntegrationCreate,
                              own_id: str | None) -> None:
        if spec.fallback is None:
            return
        if spec.fallback == own_id:
            raise Invalid("an integration cannot be its own fallback", field="fallback")
        chain = [spec.fallback]
        while True:  # follow the fallbacks of the fallback: none may lead back here
            row = (await conn.execute(
                sa.select(integrations.c.name, integrations.c.fallback_id)
                .where(integrations.c.id == chain[-1])
            )).first()
            if row is None:
                if len(chain) == 1:
                    raise Invalid(f"no integration with id {spec.fallback!r}", field="fallback")
                return
            if row.fallback_id is None or row.fallback_id in chain:
                return  # an end, or a loop that was already there and does not pass here
            if row.fallback_id == own_id:
                raise Invalid(
                    f"fallback cycle: {spec.name} → {row.name if len(chain) == 1 else '…'} → "
                    f"{spec.name}: a dead delivery would have nowhere to end",
                    field="fallback")
            chain.append(row.fallback_id)

    async def create(self, spec: IntegrationCreate) -> Integration:
        now = time.time()
        integration_id = new_id("itg")
        values = self._values(spec) | {
            "id": integration_id, "secret_enc": self._cipher.encrypt(generate_secret()),
            "status": "draft", "created_at": now, "updated_at": now,
        }
        try:
            async with writing(self._engine) as conn:
                await self._check_fallback(conn, spec, None)
                await conn.execute(integrations.insert().values(**values))
        except IntegrityError:
            raise _duplicate_name(spec.name) from None
        return await self.get(integration_id)

    async def get(self, integration_id: str) -> Integration:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(integrations.select().where(integrations.c.id == integration_id))
            ).first()
        if row is None:
            raise NotFound(f"no integration with id {integration_id!r}")
        return self._from_row(row)

    async def page(
        self, *, search: str | None = None, status: str | None = None,
        limit: int = 100, cursor: str | None = None,
    ) -> tuple[list[Integration], str | None]:
        """Integrations by name; `search` matches name, URL or description, case-insensitively."""
        query = integrations.select().order_by(integrations.c.name_key, integrations.c.id)
        if search:
            pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%")\
                .replace("_", "\\_") + "%"
            query = query.where(sa.or_(
                integrations.c.name_key.like(pattern, escape="\\"),
                sa.func.lower(integrations.c.url).like(pattern, escape="\\"),
                sa.func.lower(integrations.c.description).like(pattern, escape="\\"),
            ))
        if status:
            query = query.where(integrations.c.status == status)
        if cursor:
            name_key, last_id = decode_cursor(cursor, 2)
            query = query.where(
                sa.tuple_(integrations.c.name_key, integrations.c.id) > sa.tuple_(
                    sa.literal(name_key), sa.literal(last_id))
            )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        items = [self._from_row(r) for r in rows[:limit]]
        next_cursor = (
            encode_cursor(items[-1].name.lower(), items[-1].id) if len(rows) > limit else None
        )
        return items, next_cursor

    async def update(self, integration_id: str, spec: IntegrationCreate) -> Integration:
        values = self._values(spec) | {"updated_at": time.time()}
        try:
            async with writing(self._engine) as conn:
                await self._check_fallback(conn, spec, integration_id)
                result = await conn.execute(
                    integrations.update().where(integrations.c.id == integration_id).values(**values)
                )
        except IntegrityError:
            raise _duplicate_name(spec.name) from None
        if result.rowcount == 0:
            raise NotFound(f"no integration with id {integration_id!r}")
        return await self.get(integration_id)

    async def triggers_using(self, integration_id: str) -> list[tuple[str, str]]:
        query = (
            sa.select(triggers.c.id, triggers.c.name)
            .join(trigger_channels, trigger_channels.c.trigger_id == triggers.c.id)
            .where(trigger_channels.c.integration_id == integration_id)
            .order_by(triggers.c.name_key)
        )
        async with self._engine.connect() as conn:
            return [(r.id, r.name) for r in await conn.execute(query)]

    async def delete(self, integration_id: str, *, force: bool = False) -> None:
        """Delete; refused while a trigger routes to it, unless `force` (then it leaves them)."""
        async with writing(self._engine) as conn:
            if not force:
                used = (await conn.execute(
                    sa.select(triggers.c.name)
                    .join(trigger_channels, trigger_channels.c.trigger_id == triggers.c.id)
                    .where(trigger_channels.c.integration_id == integration_id)
                    .order_by(triggers.c.name_key)
                )).scalars().all()
                if used:
                    raise Conflict(
                        f"integration is used by trigger(s) {', '.join(used)}; "
                        "remove it from them first or delete with ?force=true"
                    )
            await conn.execute(
                integrations.update().where(integrations.c.fallback_id == integration_id)
                .values(fallback_id=None)
            )
            result = await conn.execute(
                integrations.delete().where(integrations.c.id == integration_id)
            )
        if result.rowcount == 0:
            raise NotFound(f"no integration with id {integration_id!r}")

    async def record_test(
        self, integration_id: str, fingerprint: str, ok: bool, result: dict[str, Any]
    ) -> TestRecord:
        record = TestRecord(
            id=new_id("tst"), integration_id=integration_id, config_fingerprint=fingerprint,
            ok=ok, result=result, created_at=time.time(),
        )
        async with writing(self._engine) as conn:
            await conn.execute(integration_tests.insert().values(
                id=record.id, integration_id=integration_id, config_fingerprint=fingerprint,
                ok=ok, result=result, created_at=record.created_at,
            ))
        return record

    async def latest_test(self, integration_id: str) -> TestRecord | None:
        return (await self.latest_tests([integration_id])).get(integration_id)

    async def latest_tests(self, integration_ids: list[str]) -> dict[str, TestRecord]:
        """The newest Test Connection result of each integration that has one."""
        if not integration_ids:
            return {}
        newest = (
            sa.select(
                integration_tests.c.integration_id,
                sa.func.max(integration_tests.c.created_at).label("created_at"),
            )
            .where(integration_tests.c.integration_id.in_(integration_ids))
            .group_by(integration_tests.c.integration_id)
            .subquery()
        )
        query = integration_tests.select().join(newest, sa.and_(
            newest.c.integration_id == integration_tests.c.integration_id,
            newest.c.created_at == integration_tests.c.created_at,
        ))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        records: dict[str, TestRecord] = {}
        for row in rows:
            m = row._mapping
            records[m["integration_id"]] = TestRecord(
                id=m["id"], integration_id=m["integration_id"],
                config_fingerprint=m["config_fingerprint"], ok=bool(m["ok"]),
                result=dict(m["result"]), created_at=m["created_at"],
            )
        return records

    async def set_status(
        self, integration_id: str, status: str, reason: str | None = None
    ) -> Integration:
        async with writing(self._engine) as conn:
            result = await conn.execute(
                integrations.update().where(integrations.c.id == integration_id).values(
                    status=status, disabled_reason=reason, updated_at=time.time(),
                    failing_since=None,
                )
            )
        if result.rowcount == 0:
            raise NotFound(f"no integration with id {integration_id!r}")
        return await self.get(integration_id)

    async def set_secret(self, integration_id: str, secret: str, *, keep_previous: bool) -> None:
        """Sign with `secret` from now on; with `keep_previous` the one it replaces keeps
        signing for a day, as after a rotation (receivers switch without losing messages)."""
        current = await self.get(integration_id)
        if secret == current.secret:
            return
        now = time.time()
        values: dict[str, Any] = {"secret_enc": self._cipher.encrypt(secret), "updated_at": now,
                                  "previous_secret_enc": None, "previous_secret_until": None}
        if keep_previous:
            values |= {"previous_secret_enc": self._cipher.encrypt(current.secret),
                       "previous_secret_until": now + ROTATION_OVERLAP_SECONDS}
        async with writing(self._engine) as conn:
            await conn.execute(
                integrations.update().where(integrations.c.id == integration_id).values(**values)
            )

    async def count_by_status(self) -> dict[str, int]:
        """How many integrations are in each status (for monitoring)."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(integrations.c.status, sa.func.count()).group_by(integrations.c.status))
            return {status: int(n) for status, n in rows}

    async def rotate_secret(self, integration_id: str) -> Integration:
        """A new signing secret; the old one keeps signing for a day so receivers can switch."""
        current = await self.get(integration_id)
        now = time.time()
        async with writing(self._engine) as conn:
            await conn.execute(
                integrations.update().where(integrations.c.id == integration_id).values(
                    secret_enc=self._cipher.encrypt(generate_secret()),
                    previous_secret_enc=self._cipher.encrypt(current.secret),
                    previous_secret_until=now + ROTATION_OVERLAP_SECONDS,
                    updated_at=now,
                )
            )
        return await self.get(integration_id)


def _duplicate_name(name: str) -> Invalid:
    return Invalid(f"an integration named {name!r} already exists (names are case-insensitive)",
                   field="name")
