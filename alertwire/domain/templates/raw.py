"""`raw`: the alert exactly as received, byte for byte (SPEC §5: "you will get the raw log
data").

Limits: none of its own, by design: the body is what the source sent, so the only limit is
the receiving server's (alertwire accepts alerts of up to 10 MiB per request, SPEC §3). A
digest is sent as its JSON (`domain/digests.py`): one part of at most 50 alerts per
delivery.
"""

from __future__ import annotations

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions


class RawOptions(TemplateOptions):
    """`raw` takes no options."""


def render(options: RawOptions, body: bytes) -> Rendered:
    return Rendered(JSON, body)


TEMPLATE = Template("raw", "The alert exactly as received (default).", RawOptions, render)
