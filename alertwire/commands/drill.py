"""`alertwire drill`: a fire drill, a labelled test alert through every trigger to every
integration, and what each integration did with it (issue #12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from alertwire.commands._client import JsonOption, TokenOption, UrlOption, connect
from alertwire.commands._output import emit_json, emit_table

# Reasons are the point of a drill's table: long enough for "refused by the SSRF guard: …"
# and a filter, cut only when absurd.
REASON_WIDTH = 200


def _alert(text: str) -> dict[str, Any]:
    try:
        raw = Path(text[1:]).read_text() if text.startswith("@") else text
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {text[1:]}: {exc.strerror or exc}") from None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("an alert is a JSON object")
    return value


def drill(
    alert: Annotated[str | None, typer.Option(
        "--alert", help="The alert to send, as JSON or @FILE (default: the sample KubeArmor "
        "alert).", show_default=False)] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Fire drill: send a labelled test alert now through every enabled trigger to every
    active integration it matches, and show each integration's result.

    Exits 1 when a send failed (skipped integrations do not count)."""
    body = {} if alert is None else {"alert": _alert(alert)}
    with connect(url, token, as_json) as api:
        report = api.post("/api/v1/drills", body)
    if as_json:
        emit_json(report)
    else:
        emit_table(
            ("INTEGRATION", "RESULT", "STATUS", "LATENCY", "REASON"),
            [(i["name"], i["status"], i["status_code"],
              None if i["latency_ms"] is None else f"{i['latency_ms']:.0f} ms", i["reason"])
             for i in report["integrations"]],
            "no integrations: the drill had nowhere to go", width=REASON_WIDTH,
        )
        counts = report["summary"]
        typer.echo(f"drill {report['id']}: {counts['delivered']} delivered, "
                   f"{counts['failed']} failed, {counts['skipped']} skipped")
    if report["summary"]["failed"]:
        raise typer.Exit(1)
