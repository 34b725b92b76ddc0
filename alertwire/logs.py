"""Structured logs (SPEC §9): one JSON object per line on stderr.

Every event carries `time`, `level`, `logger` and `message`, plus the fields given as
`extra=` (a delivery attempt adds its ids, status, outcome, latency and error). Every string
is passed through `redact_text` on its way out, and libraries log at WARNING or above only:
their debug output can hold SQL parameters and HTTP headers.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from alertwire.domain.redaction import redact_text

HANDLER_NAME = "alertwire-json"
# What every LogRecord has; anything else on a record came in through `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName",
}


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {str(k): _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and key not in event:
                event[key] = _redacted(value)
        if record.exc_info:
            event["exception"] = redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            event["stack"] = redact_text(self.formatStack(record.stack_info))
        return json.dumps(event, ensure_ascii=False)


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """JSON lines on `stream` (stderr): alertwire's own loggers at `level`, libraries at
    WARNING or above. Calling it again replaces the handler it installed before."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(max(numeric, logging.WARNING))
    logging.getLogger("alertwire").setLevel(numeric)
