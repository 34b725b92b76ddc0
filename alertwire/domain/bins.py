"""Inspector bins (SPEC §7): what a bin answers, and how a captured request reads."""

from __future__ import annotations

import base64
import shlex
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alertwire.domain.integrations import validate_headers

MAX_CAPTURE_BYTES = 1024 * 1024
MAX_DELAY_SECONDS = 10.0
DEFAULT_MAX_REQUESTS = 500
# Hop-by-hop and framing headers: never copied into a replay or a curl command.
_NOT_REPLAYED = {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
                 "upgrade", "te", "trailer", "proxy-connection"}


class BinResponse(BaseModel):
    """What the bin answers to every request it captures."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[int, Field(ge=100, le=599)] = 200
    body: Annotated[str, Field(max_length=65536)] = ""
    content_type: Annotated[str, Field(min_length=1, max_length=200)] = "text/plain"
    headers: dict[str, str] = Field(default_factory=dict)
    delay: Annotated[float, Field(ge=0, le=MAX_DELAY_SECONDS)] = 0.0

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, item in value.items():
            if name.lower() in _NOT_REPLAYED or name.lower() == "content-type":
                raise ValueError(f"{name!r} is set by the bin itself")
            _latin1(name, item)
        # Token names, no CR/LF/NUL, no repeats: a bad header would break every answer.
        return validate_headers(value)

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, value: str) -> str:
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError("must not contain CR, LF or NUL")
        return _latin1("Content-Type", value)


def _latin1(name: str, value: str) -> str:
    """HTTP/1.1 header values are bytes: what is sent must be Latin-1 text."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"value of {name!r} has characters a header cannot carry "
                         "(Latin-1 only)") from None
    return value


class BinSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] = "bin"
    response: BinResponse = Field(default_factory=BinResponse)
    max_requests: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_MAX_REQUESTS


class BinPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    response: BinResponse | None = None
    max_requests: Annotated[int, Field(ge=1, le=10_000)] | None = None


def body_fields(body: bytes) -> dict[str, Any]:
    """`body` as text when it is UTF-8, else null with `body_base64`."""
    try:
        return {"body": body.decode("utf-8"), "body_base64": None}
    except UnicodeDecodeError:
        return {"body": None, "body_base64": base64.b64encode(body).decode()}


def replayable_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, v) for n, v in headers if n.lower() not in _NOT_REPLAYED]


def as_curl(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> str:
    """A shell command that sends the same request again ("copy as curl")."""
    parts = ["curl", "-X", method, shlex.quote(url)]
    for name, value in replayable_headers(headers):
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        try:
            parts += ["--data-raw", shlex.quote(body.decode("utf-8"))]
        except UnicodeDecodeError:
            encoded = base64.b64encode(body).decode()
            return f"echo {encoded} | base64 -d | " + " ".join([*parts, "--data-binary", "@-"])
    return " ".join(parts)
