"""The OpenAPI document at `/openapi.json` (SPEC §0): every response an operation can give,
errors in the one error shape, and examples taken from upstream samples.

FastAPI documents the success answers and its own validation errors. `complete` adds what it
cannot see: 401/403 wherever a token is needed, 404 wherever a path names a resource, 400
wherever a JSON body is parsed, each with `ErrorOut`; routes declare the rest themselves
(409, 413, 503) with `error_responses`. The examples are the KubeArmor alerts and logs and
Falco events in `examples/`, byte-for-byte copies of the upstream samples.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

EXAMPLES_DIR = Path(__file__).parent / "examples"
REF = "#/components/schemas/{model}"
# Bins answer whatever their owner configured (any status, body and content type), so their
# capture operations keep exactly what they declare.
_CAPTURE_PREFIX = "/hooks/"


class ErrorDetail(BaseModel):
    field: str
    message: str
    line: int | None = None  # a custom template's line


class ErrorOut(BaseModel):
    """Every error answer: a code (`error`), what is wrong and where (`message`), and the
    field at fault when there is one (SPEC §0)."""

    error: str
    message: str
    field: str | None = None
    errors: list[ErrorDetail] | None = None  # every invalid field, for 422
    line: int | None = None  # custom templates: the line at fault
    position: int | None = None  # filter expressions: where the parse failed
    expected: str | None = None  # filter expressions: what was expected there


ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Malformed body: not JSON, not UTF-8, or not the shape the operation takes",
          {"error": "malformed_json",
           "message": "body is not valid JSON: Expecting value (at character 0)"}),
    401: ("No bearer token, or an unknown or revoked one",
          {"error": "unauthorized",
           "message": "missing bearer token (Authorization: Bearer <token>)"}),
    403: ("The token's scopes do not allow this operation",
          {"error": "forbidden", "message": "this token has scope ingest; this needs read"}),
    404: ("Nothing with this id",
          {"error": "not_found", "message": "no integration with id 'int_0123'"}),
    409: ("The resource's state does not allow this now",
          {"error": "conflict",
           "message": "test the current configuration successfully before connecting"}),
    413: ("The body is over the limit",
          {"error": "too_large",
           "message": "body is 11534336 bytes; the limit is 10485760 bytes (10 MiB)"}),
    422: ("A field or an expression is invalid: `field` names it, `errors` lists every one",
          {"error": "invalid",
           "message": "filter: at position 9: expected a value, found end of input",
           "field": "filter", "position": 9, "expected": "a value",
           "errors": [{"field": "filter",
                       "message": "at position 9: expected a value, found end of input"}]}),
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that may answer these errors."""
    return {code: _error_response(code) for code in codes}


def _error_response(code: int) -> dict[str, Any]:
    description, example = ERRORS[code]
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": REF.format(model="ErrorOut")}, "example": example}}}


@cache
def alert_samples() -> dict[str, Any]:
    """The upstream samples by name (e.g. `kubearmor-alerts-fim-touch-block-saas`), each
    parsed exactly as it is in its file."""
    return {
        path.relative_to(EXAMPLES_DIR).with_suffix("").as_posix().replace("/", "-"):
            json.loads(path.read_bytes())
        for path in sorted(EXAMPLES_DIR.rglob("*.json"))
    }


def _summary(name: str) -> str:
    source, _, rest = name.partition("-")
    if source == "falco":
        return f"Falco event ({rest})"
    kind, _, rest = rest.partition("-")
    return f"KubeArmor {'alert' if kind == 'alerts' else 'log'} ({rest})"


def _stored(alert_id: str, source: str, alert: Any) -> dict[str, Any]:
    return {"id": alert_id, "received_at": "2026-03-01T09:30:12.345Z", "source": source,
            "alert": alert}


def _request_examples() -> dict[tuple[str, str], dict[str, Any]]:
    samples = alert_samples()
    fim = samples["kubearmor-alerts-fim-touch-block-saas"]
    falco = samples["falco-falco-write-below-binary-dir"]
    alerts = {name: {"summary": _summary(name), "value": value} for name, value in samples.items()}
    alerts["batch"] = {"summary": "An array: a KubeArmor alert and a Falco event",
                       "value": [fim, falco]}
    return {
        ("post", "/api/v1/alerts"): alerts,
        ("post", "/api/v1/integrations"): {
            "bin": {"summary": "Raw alerts to an inspector bin", "value": {
                "name": "inspector", "url": "http://127.0.0.1:8080/hooks/bin_0123456789abcdef",
                "method": "POST", "success_codes": [200, 204]}},
            "slack": {"summary": "A Slack incoming webhook", "value": {
                "name": "slack-secops", "template": "slack",
                "url": "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
                "description": "#secops channel"}},
            "github": {"summary": "GitHub repository_dispatch", "value": {
                "name": "github-dispatch", "template": "github_dispatch",
                "url": "https://api.github.com/repos/acme/response/dispatches",
                "headers": {"Authorization": "token ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                            "Accept": "application/vnd.github+json"}}},
        },
        ("post", "/api/v1/integrations/preview"): {
            "slack": {"summary": "A Slack message for a KubeArmor alert",
                      "value": {"template": "slack", "alert": fim}},
            "raw-falco": {"summary": "A Falco event as sent raw",
                          "value": {"template": "raw", "alert": falco}},
        },
        ("post", "/api/v1/triggers"): {
            "realtime": {"summary": "High-severity blocks, as they happen", "value": {
                "name": "fim-blocks", "filter": "Action = Block AND Severity >= 5",
                "channels": ["int_0123456789abcdef"], "frequency": "realtime",
                "throttle": {"group_by": ["PolicyName"], "period": "10m"}}},
            "digest": {"summary": "A daily digest of Falco errors", "value": {
                "name": "falco-daily", "filter": "priority = Error",
                "channels": ["int_0123456789abcdef"], "frequency": "daily"}},
        },
        ("post", "/api/v1/triggers/test-filter"): {
            "policies": {"summary": "Alerts of two policies", "value": {
                "filter": "PolicyName IN (harden-file-integrity-monitoring, ksp-file-path-block)"}},
            "falco": {"summary": "A Falco output field", "value": {
                "filter": 'output_fields."fd.name" ~ /bin/'}},
        },
        ("post", "/api/v1/silences"): {
            "maintenance": {"summary": "Two hours of staging maintenance", "value": {
                "comment": "staging maintenance", "filter": "NamespaceName = staging",
                "duration": "2h"}},
        },
        ("post", "/api/v1/drills"): {
            "sample": {"summary": "The sample KubeArmor alert (an empty body does the same)",
                       "value": {}},
            "falco": {"summary": "A Falco event of your own", "value": {"alert": falco}},
        },
        ("post", "/api/v1/tokens"): {
            "falco": {"summary": "A token Falco's http_output posts alerts with",
                      "value": {"name": "falco-prod", "scopes": ["ingest"]}},
        },
    }


def _response_examples() -> dict[tuple[str, str, str], Any]:
    samples = alert_samples()
    fim = samples["kubearmor-alerts-fim-touch-block-saas"]
    falco = samples["falco-falco-write-below-binary-dir"]
    return {
        ("post", "/api/v1/alerts", "202"): {"accepted": 2, "ids": [
            "alr_0661616dcc7ca0163bb40001", "alr_0661616dcc7ca0163bb40002"]},
        ("get", "/api/v1/alerts/{alert_id}", "200"):
            _stored("alr_0661616dcc7ca0163bb40001", "kubearmor", fim),
        ("get", "/api/v1/alerts", "200"): {"items": [
            _stored("alr_0661616dcc7ca0163bb40002", "falco", falco),
            _stored("alr_0661616dcc7ca0163bb40001", "kubearmor", fim)],
            "next_cursor": None},
        ("post", "/api/v1/drills", "200"): _drill_example(fim),
        ("post", "/api/v1/triggers/test-filter", "200"): {
            "matched": 1, "total": 2,
            "sample": [_stored("alr_0661616dcc7ca0163bb40001", "kubearmor", fim)]},
    }


def _drill_example(alert: dict[str, Any]) -> dict[str, Any]:
    drill_id = "drl_5c0ffee0d15ea5e0b0a7"
    labelled = {"alertwire_drill": True, "alertwire_drill_id": drill_id} | alert
    labelled["Message"] = f"[alertwire fire drill — test, no action needed] {alert['Message']}"

    def trigger(n: int, name: str, matched: bool, reason: str | None) -> dict[str, Any]:
        return {"trigger_id": f"trg_0123456789abcdef000{n}", "name": name,
                "matched": matched, "reason": reason}

    def integration(n: int, name: str, status: str, reason: str | None, code: int | None,
                    latency: float | None, triggers: list[dict[str, Any]]) -> dict[str, Any]:
        return {"integration_id": f"itg_0123456789abcdef000{n}", "name": name,
                "status": status, "reason": reason, "status_code": code,
                "latency_ms": latency, "triggers": triggers}

    blocks = trigger(1, "fim-blocks", True, None)
    return {
        "id": drill_id, "started_at": "2026-03-01T09:30:12.345Z",
        "finished_at": "2026-03-01T09:30:12.702Z", "alert": labelled,
        "summary": {"delivered": 1, "failed": 1, "skipped": 2},
        "integrations": [
            integration(1, "jira-sec", "skipped",
                        "filter did not match: falco-errors: priority = Error", None, None,
                        [trigger(2, "falco-errors", False,
                                 "filter did not match: priority = Error")]),
            integration(2, "pagerduty", "skipped", "integration is a draft (not connected)",
                        None, None, []),
            integration(3, "siem", "failed",
                        "status 500 is not one of the success codes 200, 204", 500, 41.7,
                        [blocks]),
            integration(4, "slack-secops", "delivered", None, 200, 312.4, [blocks]),
        ],
    }


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers, the error schema and the examples to FastAPI's document."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _, defs = models_json_schema([(ErrorOut, "serialization")], ref_template=REF)
    schemas.update(defs.get("$defs", {}))
    requests, responses = _request_examples(), _response_examples()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            if not path.startswith(_CAPTURE_PREFIX):
                _add_errors(path, operation, answers)
            examples = requests.get((method, path))
            if examples is not None:
                content = operation["requestBody"]["content"]["application/json"]
                content["examples"] = examples
            for code, answer in answers.items():
                example = responses.get((method, path, code))
                if example is not None:
                    answer["content"]["application/json"]["example"] = example
    if not _mentions(doc["paths"], "HTTPValidationError"):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return doc


def _add_errors(path: str, operation: dict[str, Any], answers: dict[str, Any]) -> None:
    if "422" in answers and _mentions(answers["422"], "HTTPValidationError"):
        # FastAPI's own shape; alertwire answers every 422 with ErrorOut (errors.install).
        answers["422"] = _error_response(422)
    if operation.get("security"):
        answers.setdefault("401", _error_response(401))
        answers.setdefault("403", _error_response(403))
    if "{" in path:
        answers.setdefault("404", _error_response(404))
    if "requestBody" in operation:
        answers.setdefault("400", _error_response(400))
        answers.setdefault("413", _error_response(413))
    for code in list(answers):
        if code.isdigit() and int(code) in ERRORS and "content" not in answers[code]:
            answers[code] = _error_response(int(code))
    operation["responses"] = dict(sorted(answers.items()))


def _mentions(value: Any, name: str) -> bool:
    return f"/{name}\"" in json.dumps(value)


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes,
            ))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
