"""Silences (SPEC §4 storm control): a time window, optionally narrowed by a filter, during
which matching alerts are stored and counted but not delivered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from alertwire.domain.durations import parse_duration
from alertwire.domain.filters import Filter, parse
from alertwire.domain.triggers import check_filter


class SilenceSpec(BaseModel):
    """`ends_at`, or `duration` from `starts_at` (default: now)."""

    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=1000)] = ""
    filter: Annotated[str | None, Field(max_length=4096)] = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    duration: str | None = None

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_filter(value)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _window(self) -> SilenceSpec:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give either ends_at or duration (e.g. \"2h\")")
        return self

    def window(self, now: float) -> tuple[float, float]:
        start = self.starts_at.timestamp() if self.starts_at else now
        if self.duration is not None:
            end = start + parse_duration(self.duration)
        else:
            assert self.ends_at is not None
            end = self.ends_at.timestamp()
        if end <= start:
            raise ValueError("the silence must end after it starts")
        return start, end


@dataclass(frozen=True)
class ActiveSilence:
    id: str
    filter: Filter | None

    def matches(self, alert: Mapping[str, Any]) -> bool:
        return self.filter is None or self.filter.matches(alert)

    @classmethod
    def compile(cls, silence_id: str, text: str | None) -> ActiveSilence:
        return cls(silence_id, None if text is None else parse(text))
