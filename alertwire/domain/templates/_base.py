"""What every destination template is: a name, an options model and a renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

JSON = "application/json"
# Marks an option as a secret in its JSON Schema (`Field(json_schema_extra=SECRET)`): JSON
# Schema's `writeOnly` means "sent by clients, never returned". Such options are encrypted at
# rest and masked on read, like secret header values.
SECRET: JsonDict = {"writeOnly": True}


class TemplateOptions(BaseModel):
    """Base of every template's options: unknown options are refused, naming them."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Rendered:
    content_type: str
    body: bytes
    # Set when the template could not render this alert and `body` is the fallback instead.
    error: str | None = None

    @property
    def is_json(self) -> bool:
        media = self.content_type.split(";", 1)[0].strip().lower()
        return media == JSON or media.endswith("+json")


class TemplateRenderError(Exception):
    """A template (so far only `custom`) could not render an alert; `line` is the template's."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


OptionsT = TypeVar("OptionsT", bound=TemplateOptions)


@dataclass(frozen=True)
class Template(Generic[OptionsT]):
    name: str
    description: str
    options: type[OptionsT]
    render: Callable[[OptionsT, bytes], Rendered]  # options, the alert's bytes as received
