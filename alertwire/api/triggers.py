"""`/api/v1/triggers`: saved filters routing alerts to integrations (SPEC §4)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ValidationError

from alertwire.api.alerts import invalid_filter
from alertwire.api.deps import Admin, Reader, ServicesDep
from alertwire.api.schemas import Page, iso
from alertwire.domain.filters import FilterError
from alertwire.domain.triggers import FilterTest, Matcher, Throttle, TriggerPatch, TriggerSpec
from alertwire.errors import Invalid
from alertwire.store import Trigger

router = APIRouter(prefix="/api/v1/triggers", tags=["triggers"])


class TriggerOut(BaseModel):
    id: str
    name: str
    filter: str
    channels: list[str]
    frequency: str
    threat_level: str | None
    throttle: Throttle | None
    timezone: str
    enabled: bool
    created_at: str | None
    updated_at: str | None
    digest_sent_until: str | None

    @classmethod
    def build(cls, trigger: Trigger) -> TriggerOut:
        return cls(
            id=trigger.id, name=trigger.name, filter=trigger.filter, channels=trigger.channels,
            frequency=trigger.frequency, threat_level=trigger.threat_level,
            throttle=trigger.throttle, timezone=trigger.timezone,
            enabled=trigger.enabled, created_at=iso(trigger.created_at),
            updated_at=iso(trigger.updated_at), digest_sent_until=iso(trigger.digest_sent_until),
        )


class FilterTestOut(BaseModel):
    matched: int
    total: int
    sample: list[dict[str, Any]]


def validate_spec(data: dict[str, Any]) -> TriggerSpec:
    """Validate merged fields, answering 422 with the first bad field."""
    try:
        return TriggerSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        raise Invalid(f"{field}: {err['msg'].removeprefix('Value error, ')}", field=field) from None


@router.post("", status_code=201, response_model=TriggerOut)
async def create_trigger(spec: TriggerSpec, services: ServicesDep, _: Admin) -> TriggerOut:
    return TriggerOut.build(await services.store.triggers.create(spec))


@router.get("", response_model=Page[TriggerOut])
async def list_triggers(
    services: ServicesDep, _: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None, integration_id: str | None = None,
) -> Page[TriggerOut]:
    items, next_cursor = await services.store.triggers.page(
        limit=limit, cursor=cursor, integration_id=integration_id)
    return Page(items=[TriggerOut.build(t) for t in items], next_cursor=next_cursor)


@router.post("/test-filter", response_model=FilterTestOut)
async def test_filter(body: FilterTest, services: ServicesDep, _: Reader) -> FilterTestOut:
    """Test Filter: how many stored alerts match, and the newest ten of them."""
    try:
        matcher = Matcher.compile(body.filter, body.threat_level)
    except FilterError as exc:
        raise invalid_filter(exc) from None
    matched, total, sample = await services.store.alerts.count_matching(matcher)
    return FilterTestOut(
        matched=matched, total=total,
        sample=[{"id": a.id, "received_at": iso(a.received_at), "source": a.source,
                 "alert": json.loads(a.body)} for a in sample],
    )


@router.get("/{trigger_id}", response_model=TriggerOut)
async def get_trigger(trigger_id: str, services: ServicesDep, _: Reader) -> TriggerOut:
    return TriggerOut.build(await services.store.triggers.get(trigger_id))


@router.patch("/{trigger_id}", response_model=TriggerOut)
async def update_trigger(
    trigger_id: str, patch: TriggerPatch, services: ServicesDep, _: Admin
) -> TriggerOut:
    current = await services.store.triggers.get(trigger_id)
    merged = current.fields() | patch.model_dump(exclude_unset=True)
    spec = validate_spec(merged)
    return TriggerOut.build(await services.store.triggers.update(trigger_id, spec))


@router.delete("/{trigger_id}", status_code=204)
async def delete_trigger(trigger_id: str, services: ServicesDep, _: Admin) -> Response:
    await services.store.triggers.delete(trigger_id)
    return Response(status_code=204)
