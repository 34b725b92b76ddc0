"""`/api/v1/deliveries`: the delivery log and replays (SPEC §5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from alertwire.api.deps import Admin, Reader, ServicesDep
from alertwire.api.openapi import error_responses
from alertwire.api.schemas import Page, iso
from alertwire.domain.integrations import JsonInt
from alertwire.store import Delivery

router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"])


class AttemptOut(BaseModel):
    id: str
    attempted_at: str | None
    status_code: int | None
    latency_ms: float | None
    error: str | None
    request: dict[str, Any]
    response: dict[str, Any] | None


class DeliveryOut(BaseModel):
    id: str
    alert_id: str | None
    integration_id: str
    trigger_id: str | None
    status: str
    attempt_count: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    is_fallback: bool
    fallback_of: str | None  # the dead delivery this fallback stands in for
    fallback_delivery_id: str | None  # the fallback this dead delivery caused
    created_at: str | None
    delivered_at: str | None
    attempts: list[AttemptOut] | None = None

    @classmethod
    def build(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id, alert_id=d.alert_id, integration_id=d.integration_id,
            trigger_id=d.trigger_id, status=d.status, attempt_count=d.attempt_count,
            next_attempt_at=iso(d.next_attempt_at), last_status_code=d.last_status_code,
            last_error=d.last_error, is_fallback=d.is_fallback, fallback_of=d.fallback_of,
            fallback_delivery_id=d.fallback_delivery_id, created_at=iso(d.created_at),
            delivered_at=iso(d.delivered_at),
            attempts=None if d.attempts is None else [
                AttemptOut(
                    id=a["id"], attempted_at=iso(a["attempted_at"]),
                    status_code=a["status_code"], latency_ms=a["latency_ms"], error=a["error"],
                    request={"method": a["request_method"], "url": a["request_url"],
                             "headers": a["request_headers"]},
                    response=None if a["response_headers"] is None else {
                        "headers": a["response_headers"], "body": a["response_body"]},
                ) for a in d.attempts
            ],
        )


@router.get("", response_model=Page[DeliveryOut], response_model_exclude_none=False)
async def list_deliveries(
    services: ServicesDep, _: Reader,
    integration_id: str | None = None, trigger_id: str | None = None,
    alert_id: str | None = None,
    status: Literal["pending", "delivered", "failed", "dead", "cancelled"] | None = None,
    include: Literal["attempts"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, cursor: str | None = None,
) -> Page[DeliveryOut]:
    """Newest first; `include=attempts` adds each delivery's attempts."""
    items, next_cursor = await services.store.deliveries.page(
        integration_id=integration_id, trigger_id=trigger_id, alert_id=alert_id, status=status,
        limit=limit, cursor=cursor, include_attempts=include == "attempts",
    )
    return Page(items=[DeliveryOut.build(d) for d in items], next_cursor=next_cursor)


class RetryDead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration_id: str | None = None  # None: dead deliveries of every integration
    cursor: str | None = None  # the `next_cursor` of the previous call
    limit: Annotated[JsonInt, Field(ge=1, le=1000)] = 100


class RetryDeadOut(BaseModel):
    retried: int
    ids: list[str]
    remaining: int  # dead deliveries after these, still to retry
    next_cursor: str | None


@router.post("/retry-dead", response_model=RetryDeadOut, responses=error_responses(404))
async def retry_dead(body: RetryDead, services: ServicesDep, _: Admin) -> RetryDeadOut:
    """Queue dead deliveries again, `limit` at a time, oldest first: call again with
    `next_cursor` until it is null (each delivery is retried once per walk)."""
    ids, remaining, next_cursor = await services.store.deliveries.retry_dead(
        integration_id=body.integration_id, cursor=body.cursor, limit=body.limit)
    services.wake_workers()
    return RetryDeadOut(retried=len(ids), ids=ids, remaining=remaining, next_cursor=next_cursor)


@router.get("/{delivery_id}", response_model=DeliveryOut)
async def get_delivery(delivery_id: str, services: ServicesDep, _: Reader) -> DeliveryOut:
    return DeliveryOut.build(await services.store.deliveries.get(delivery_id))


@router.post("/{delivery_id}/retry", response_model=DeliveryOut,
             responses=error_responses(409))
async def retry_delivery(delivery_id: str, services: ServicesDep, _: Admin) -> DeliveryOut:
    """Replay a delivered, dead or cancelled delivery, or send a failed one now instead of at
    its next retry (409 while it is pending or being sent)."""
    delivery = await services.store.deliveries.retry(delivery_id)
    services.wake_workers()
    return DeliveryOut.build(delivery)
