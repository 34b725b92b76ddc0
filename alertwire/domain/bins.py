"""Inspector bins (SPEC §7): what a bin answers, and how a captured request reads."""

from __future__ import annotations

import base64
import re
import shlex
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alertwire.domain.integrations import JsonFloat, JsonInt, validate_headers

MAX_CAPTURE_BYTES = 1024 * 1024
MAX_DELAY_SECONDS = 10.0
DEFAULT_MAX_REQUESTS = 500
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}\s*(;.*)?$")
# Hop-by-hop and framing headers: never copied into a replay or a curl command.
_NOT_REPLAYED = {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
                 "upgrade", "te", "trailer", "proxy-connection"}


class BinResponse(BaseModel):
    """What the bin answers to every request it captures."""

    model_config = ConfigDict(extra="forbid")

    # A final answer: 1xx are interim responses, which HTTP never ends an exchange with.
    status: Annotated[JsonInt, Field(ge=200, le=599)] = 200
    body: Annotated[str, Field(max_length=65536)] = ""
    content_type: Annotated[str, Field(min_length=1, max_length=200)] = "text/plain"
    headers: dict[str, str] = Field(default_factory=dict)
    delay: Annotated[JsonFloat, Field(ge=0, le=MAX_DELAY_SECONDS)] = 0.0

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
        if not _MEDIA_TYPE.match(value):
            raise ValueError(f"{value!r} is not a media type: write type/subtype, e.g. "
                             "application/json or text/plain; charset=utf-8")
        return _latin1("Content-Type", value)

    def has_body(self) -> bool:
        """204 and 304 answers carry no body, whatever `body` says."""
        return self.status not in (204, 304)


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
    max_requests: Annotated[JsonInt, Field(ge=1, le=10_000)] = DEFAULT_MAX_REQUESTS


class BinPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    response: BinResponse | None = None
    max_requests: Annotated[JsonInt, Field(ge=1, le=10_000)] | None = None


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
