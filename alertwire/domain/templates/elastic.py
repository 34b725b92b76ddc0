"""`elastic`: one Elasticsearch document, for `POST /<index>/_doc` (or a data stream's
`_create`), with `@timestamp`.

The document follows the Elastic Common Schema where a field has an obvious home
(https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html): `@timestamp`,
`message`, `event.kind`/`module`/`dataset`/`action`/`severity`, `rule.name`, `host.name`,
`process.executable`/`command_line`/`parent.executable`, `orchestrator.*`, `container.*`,
`tags`. The alert as received goes under `alert` (or another field), as an object or, when
its fields would clash with an index's mappings, as a JSON string.

Limits: Elasticsearch takes requests up to `http.max_content_length` (100 MB by default),
far above anything worth indexing as one alert, so a document is kept under MAX_BYTES =
1,000,000 bytes (a conservative choice, like Splunk's). Documented limits that refuse a
document: a term longer than 32,766 bytes in a `keyword` field without `ignore_above`
("immense term"), so every string is cut visibly to STRING_BYTES (`… 312 more characters`);
`index.mapping.total_fields.limit` (1,000 fields per index by default; dynamic mapping gives a
string two, text and keyword); `index.mapping.depth.limit` (20); and a field that is a value in
one place and an object in another (Falco's `container.image` beside
`container.image.repository`: Elasticsearch expands dots in names into objects). An alert that
would map more than MAX_ALERT_FIELDS fields, nest deeper than the depth limit or clash with
itself that way is sent as JSON text in `alertwire.alert_json` instead, and
`alertwire.alert_note` says why.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, summarize
from alertwire.domain.templates._text import dumps, json_bytes, json_size, shrink_json, truncate

MAX_BYTES = 1_000_000
STRING_BYTES = 32_766  # Lucene's longest term
# Of the 1,000 fields an index maps by default, what one alert may take (the summary fields
# and others' alerts need the rest).
MAX_ALERT_FIELDS = 600
MAX_DEPTH = 20


class ElasticOptions(TemplateOptions):
    alert_field: str = Field("alert", pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$",
                             description="Where the alert as received goes.")
    alert_encoding: Literal["object", "string"] = Field(
        "object", description="`string` stores the alert as one JSON text (no mapping "
                              "conflicts between sources).")


def _prune(value: dict[str, Any]) -> dict[str, Any]:
    """Drop empty members, so absent facts do not become null fields."""
    pruned: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            item = _prune(item)
        if item not in (None, {}, [], ""):
            pruned[key] = item
    return pruned


def _utf8_size(text: str) -> int:
    return len(text.encode())


def cap_string_bytes(value: Any) -> Any:
    """`value` with every string longer than STRING_BYTES (UTF-8) cut visibly."""
    if isinstance(value, str):
        if len(value) * 4 <= STRING_BYTES or _utf8_size(value) <= STRING_BYTES:
            return value
        return truncate(value, STRING_BYTES, measure=_utf8_size)
    if isinstance(value, dict):
        return {key: cap_string_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [cap_string_bytes(item) for item in value]
    return value


def mapping_problem(alert: Any, prefix: tuple[str, ...]) -> str | None:
    """Why dynamic mapping would refuse `alert` stored at `prefix`, if it would: too many
    fields, too deep, or a name that is a value in one place and an object in another."""
    objects: set[tuple[str, ...]] = set()
    values: dict[tuple[str, ...], bool] = {}  # path -> is a string (text + keyword)

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, path)
        elif isinstance(value, dict):
            objects.add(path)
            for key, item in value.items():
                names = tuple(str(key).split("."))
                # `a.b` is the field b of an object a.
                objects.update(path + names[:i] for i in range(1, len(names)))
                walk(item, path + names)
        elif value is not None:
            values[path] = values.get(path, False) or isinstance(value, str)

    walk(alert, prefix)
    clash = sorted(objects & set(values))
    if clash:
        name = ".".join(clash[0])
        return f"{name} is both a value and an object, which one document cannot map"
    fields = len(objects) + len(values) + sum(values.values())
    if fields > MAX_ALERT_FIELDS:
        return (f"the alert would map {fields} fields, more than the {MAX_ALERT_FIELDS} "
                f"one alert may take of an index's default 1,000")
    depth = max((len(p) for p in (*objects, *values)), default=0)
    if depth > MAX_DEPTH:
        return f"the alert nests {depth} levels deep, more than the {MAX_DEPTH} allowed"
    return None


def document(summary: Summary, options: ElasticOptions) -> dict[str, Any]:
    ts = summary.timestamp if summary.timestamp is not None else time.time()
    doc: dict[str, Any] = _prune({
        "@timestamp": datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "message": summary.headline,
        "event": {"kind": "alert", "module": summary.kind,
                  "dataset": f"alertwire.{summary.kind}", "action": summary.action,
                  "severity": summary.severity},
        "rule": {"name": summary.policy},
        "host": {"name": summary.host},
        "process": {"executable": summary.process, "command_line": summary.command,
                    "parent": {"executable": summary.parent_process}},
        "orchestrator": {"cluster": {"name": summary.cluster}, "namespace": summary.namespace,
                         "resource": {"name": summary.pod,
                                      "type": "pod" if summary.pod else None}},
        "container": {"name": summary.container, "image": {"name": summary.image}},
        "tags": list(summary.tags),
        "alertwire": {"resource": summary.resource, "operation": summary.operation,
                      "result": summary.result,
                      "severity_label": summary.severity_label},
    })
    doc = cap_string_bytes(doc)
    problem = None if options.alert_encoding == "string" else mapping_problem(
        summary.alert, tuple(options.alert_field.split(".")))
    if options.alert_encoding == "string" or problem:
        field, value = options.alert_field, dumps(summary.alert)
        if problem:
            doc.setdefault("alertwire", {})["alert_note"] = (
                f"{problem}; the alert is sent as JSON text in alertwire.alert_json")
            field = "alertwire.alert_json"
        # One string: within a keyword term and within the document.
        room = min(STRING_BYTES, MAX_BYTES - json_size(doc) - 100)
        text = truncate(value, room, measure=_utf8_size)
        if field == "alertwire.alert_json":
            doc["alertwire"]["alert_json"] = text
        else:
            doc[field] = text
        return doc
    alert = cap_string_bytes(summary.alert)
    doc[options.alert_field] = shrink_json(alert, MAX_BYTES - json_size(doc)
                                           - len(options.alert_field) - 10)
    return doc


def render(options: ElasticOptions, body: bytes) -> Rendered:
    return Rendered(JSON, json_bytes(document(summarize(body), options)))


TEMPLATE = Template("elastic", "Elasticsearch: one document with @timestamp.", ElasticOptions,
                    render)
