"""`/api/v1/silences`: windows during which matching alerts are kept but not delivered."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from alertwire.api.deps import Admin, Reader, ServicesDep
from alertwire.api.schemas import iso
from alertwire.domain.silences import SilenceSpec
from alertwire.store import Silence

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])


class SilenceOut(BaseModel):
    id: str
    comment: str
    filter: str | None
    starts_at: str | None
    ends_at: str | None
    matched_count: int  # alerts stored but not delivered because of this silence
    created_at: str | None

    @classmethod
    def build(cls, s: Silence) -> SilenceOut:
        return cls(id=s.id, comment=s.comment, filter=s.filter, starts_at=iso(s.starts_at),
                   ends_at=iso(s.ends_at), matched_count=s.matched_count,
                   created_at=iso(s.created_at))


@router.post("", status_code=201, response_model=SilenceOut)
async def create_silence(spec: SilenceSpec, services: ServicesDep, _: Admin) -> SilenceOut:
    """From `starts_at` (default now) until `ends_at` or for `duration` (e.g. "2h"); with a
    `filter`, only matching alerts are silenced."""
    return SilenceOut.build(await services.store.silences.create(spec))


@router.get("", response_model=list[SilenceOut])
async def list_silences(services: ServicesDep, _: Reader) -> list[SilenceOut]:
    return [SilenceOut.build(s) for s in await services.store.silences.all()]


@router.post("/{silence_id}/expire", response_model=SilenceOut)
async def expire_silence(silence_id: str, services: ServicesDep, _: Admin) -> SilenceOut:
    """End the silence now; it stays listed with its count."""
    return SilenceOut.build(await services.store.silences.expire(silence_id))


@router.delete("/{silence_id}", status_code=204)
async def delete_silence(silence_id: str, services: ServicesDep, _: Admin) -> Response:
    await services.store.silences.delete(silence_id)
    return Response(status_code=204)
