"""`raw`: the alert exactly as received, byte for byte (SPEC §5: "you will get the raw log
data")."""

from __future__ import annotations

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions


class RawOptions(TemplateOptions):
    """`raw` takes no options."""


def render(options: RawOptions, body: bytes) -> Rendered:
    return Rendered(JSON, body)


TEMPLATE = Template("raw", "The alert exactly as received (default).", RawOptions, render)
