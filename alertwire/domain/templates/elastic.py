"""`elastic`: one Elasticsearch document, for `POST /<index>/_doc` (or a data stream's
`_create`), with `@timestamp`.

The document follows the Elastic Common Schema where a field has an obvious home
(https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html): `@timestamp`,
`message`, `event.kind`/`module`/`dataset`/`action`/`severity`, `rule.name`, `host.name`,
`process.executable`/`command_line`/`parent.executable`, `orchestrator.*`, `container.*`,
`tags`. The alert as received goes under `alert` (or another field), as an object or, when
its fields would clash with an index's mappings, as a JSON string.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, summarize
from alertwire.domain.templates._text import dumps, json_bytes


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
    doc[options.alert_field] = (dumps(summary.alert) if options.alert_encoding == "string"
                                else summary.alert)
    return doc


def render(options: ElasticOptions, body: bytes) -> Rendered:
    # Elasticsearch takes requests up to http.max_content_length (100 MB): larger than any
    # alert alertwire accepts (10 MiB), so nothing needs cutting here.
    return Rendered(JSON, json_bytes(document(summarize(body), options)))


TEMPLATE = Template("elastic", "Elasticsearch: one document with @timestamp.", ElasticOptions,
                    render)
