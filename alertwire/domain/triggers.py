"""Triggers (SPEC §4): a saved filter routing matching alerts to integrations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from alertwire.domain.durations import parse_duration
from alertwire.domain.filters import Filter, FilterError, lookup, parse
from alertwire.domain.integrations import JsonBool
from alertwire.domain.severity import ThreatLevel, threat_level_of

Frequency = Literal["realtime", "daily", "weekly", "monthly"]
DIGEST_FREQUENCIES = ("daily", "weekly", "monthly")


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def check_filter(text: str) -> str:
    try:
        parse(text)
    except FilterError as exc:
        raise ValueError(str(exc)) from None
    return text


class Throttle(BaseModel):
    """At most one delivery per group per period; the rest are counted (SPEC §4)."""

    model_config = ConfigDict(extra="forbid")

    group_by: Annotated[list[str], Field(min_length=1, max_length=10)]
    period: str

    @field_validator("group_by")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip() or len(name) > 200:
                raise ValueError(f"{name!r} is not a field name")
        return value

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def seconds(self) -> float:
        return parse_duration(self.period)


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=100)]
    filter: Annotated[str, Field(min_length=1, max_length=4096)]
    channels: Annotated[list[str], Field(min_length=1, max_length=50)]
    frequency: Frequency = "realtime"
    threat_level: ThreatLevel | None = None
    throttle: Throttle | None = None
    timezone: str = "UTC"
    enabled: JsonBool = True

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @field_validator("throttle")
    @classmethod
    def _throttle_is_realtime(cls, value: Throttle | None, info: ValidationInfo) -> Throttle | None:
        # A field validator (not a model one) so the error names the field `throttle`.
        if value is not None and info.data.get("frequency", "realtime") != "realtime":
            raise ValueError("throttle applies to realtime triggers; digests are already "
                             "one delivery per period")
        return value

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: str) -> str:
        return check_filter(value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class TriggerPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    filter: str | None = None
    channels: list[str] | None = None
    frequency: str | None = None
    threat_level: str | None = None
    throttle: dict[str, Any] | None = None
    timezone: str | None = None
    enabled: JsonBool | None = None


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


def group_key(alert: Mapping[str, Any], group_by: list[str]) -> str:
    """The throttle group an alert belongs to: its values of the `group_by` fields."""
    values = []
    for name in group_by:
        found, value = lookup(alert, name.split("."))
        values.append(value if found else None)
    return json.dumps(values, separators=(",", ":"), sort_keys=True, default=str)[:512]
