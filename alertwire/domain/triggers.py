"""Triggers (SPEC §4): a saved filter routing matching alerts to integrations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from alertwire.domain.filters import Filter, FilterError, parse
from alertwire.domain.severity import ThreatLevel, threat_level_of

Frequency = Literal["realtime", "daily", "weekly", "monthly"]
SUPPORTED_FREQUENCIES = ("realtime",)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def check_filter(text: str) -> str:
    try:
        parse(text)
    except FilterError as exc:
        raise ValueError(str(exc)) from None
    return text


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=100)]
    filter: Annotated[str, Field(min_length=1, max_length=4096)]
    channels: Annotated[list[str], Field(min_length=1, max_length=50)]
    frequency: Frequency = "realtime"
    threat_level: ThreatLevel | None = None
    enabled: bool = True

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str) -> str:
        return check_filter(value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, value: str) -> str:
        if value not in SUPPORTED_FREQUENCIES:
            raise ValueError(f"{value!r} digests are not available yet; use 'realtime'")
        return value


class TriggerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    filter: str | None = None
    channels: list[str] | None = None
    frequency: str | None = None
    threat_level: str | None = None
    enabled: bool | None = None


class FilterTest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    filter: str
    threat_level: ThreatLevel | None = None

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str) -> str:
        return check_filter(value)


@dataclass(frozen=True)
class Matcher:
    """A trigger's filter and threat level, compiled once, applied to every alert."""

    filter: Filter
    threat_level: ThreatLevel | None

    @classmethod
    def compile(cls, text: str, threat_level: str | None) -> Matcher:
        return cls(parse(text), threat_level)  # type: ignore[arg-type]

    def matches(self, alert: Mapping[str, Any]) -> bool:
        if self.threat_level is not None and threat_level_of(alert) != self.threat_level:
            return False
        return self.filter.matches(alert)
