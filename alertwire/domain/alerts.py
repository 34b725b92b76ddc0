"""Alerts in (SPEC §3): split a request body into objects, keep each one's exact bytes, and
tell KubeArmor, Falco and anything else apart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from alertwire.errors import AlertwireError, TooLarge

Source = Literal["kubearmor", "falco", "generic"]
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_ALERTS_PER_REQUEST = 10_000


class MalformedBody(AlertwireError):
    status_code = 400
    code = "malformed_body"


def _reject_constant(name: str) -> Any:
    # Python's decoder accepts NaN and Infinity; JSON does not, and receivers would choke.
    raise MalformedBody(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_WHITESPACE = " \t\n\r"
# Fields only KubeArmor's relay emits (alerts and logs alike); any one of them is enough.
_KUBEARMOR_MARKERS = frozenset({
    "PolicyName", "ProcessName", "HostPID", "NamespaceName", "ContainerID", "Operation",
    "Enforcer", "KubeArmorVersion", "ATags", "UpdatedTime", "HostPPID", "ParentProcessName",
})


@dataclass(frozen=True)
class IncomingAlert:
    raw: str  # the object's text exactly as it stood in the request
    alert: dict[str, Any]
    source: Source


def detect_source(alert: dict[str, Any]) -> Source:
    """Falco events carry `rule`, `priority` and `output`; KubeArmor alerts and logs carry
    its process/container fields; everything else is `generic`."""
    if "rule" in alert and "priority" in alert and ("output" in alert or "output_fields" in alert):
        return "falco"
    if not _KUBEARMOR_MARKERS.isdisjoint(alert):
        return "kubearmor"
    return "generic"


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line} column {column}"


def _object_at(text: str, index: int, item: int | None) -> tuple[IncomingAlert, int]:
    label = "body" if item is None else f"item {item}"
    try:
        value, end = _DECODER.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise MalformedBody(
            f"{label}: malformed JSON at {_where(text, exc.pos)}: {exc.msg}"
        ) from None
    except RecursionError:
        raise MalformedBody(f"{label}: JSON nested too deeply") from None
    except MalformedBody as exc:
        raise MalformedBody(f"{label}: {exc.message}") from None
    if not isinstance(value, dict):
        raise MalformedBody(
            f"{label}: expected a JSON object (an alert), found {type(value).__name__}"
            f" at {_where(text, index)}"
        )
    return IncomingAlert(raw=text[index:end], alert=value, source=detect_source(value)), end


def parse_alerts(body: bytes) -> list[IncomingAlert]:
    """One alert object or an array of them; each keeps its exact text. Raises a 400/413
    error that says what is wrong and where; nothing is half-accepted."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} (10 MiB)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"body is not UTF-8 (byte {exc.start})") from None
    index = _skip(text, 0)
    if index == len(text):
        raise MalformedBody("body is empty: send one alert object or an array of them")
    if text[index] != "[":
        alert, end = _object_at(text, index, None)
        if _skip(text, end) != len(text):
            raise MalformedBody(f"body: unexpected data after the alert at {_where(text, end)}")
        return [alert]
    alerts: list[IncomingAlert] = []
    index = _skip(text, index + 1)
    if index < len(text) and text[index] == "]":
        index += 1
    else:
        while True:
            if len(alerts) >= MAX_ALERTS_PER_REQUEST:
                raise TooLarge(
                    f"more than {MAX_ALERTS_PER_REQUEST} alerts in one request; split the array"
                )
            alert, index = _object_at(text, index, len(alerts))
            alerts.append(alert)
            index = _skip(text, index)
            if index < len(text) and text[index] == ",":
                index = _skip(text, index + 1)
                continue
            if index < len(text) and text[index] == "]":
                index += 1
                break
            raise MalformedBody(
                f"item {len(alerts) - 1}: expected ',' or ']' at {_where(text, index)}"
            )
    if _skip(text, index) != len(text):
        raise MalformedBody(f"body: unexpected data after the array at {_where(text, index)}")
    return alerts
