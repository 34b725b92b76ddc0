"""`alertwire config export` and `alertwire config apply`: integrations and triggers as a
YAML file kept in version control, secrets as `${ENV_VAR}` references (SPEC §9)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from alertwire.commands._client import (
    Failure,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
)
from alertwire.commands._output import emit_json
from alertwire.commands._yaml import ConfigFileError, dump, load
from alertwire.domain.references import MissingVariables, resolve

app = typer.Typer(help="Configuration as code: export and apply integrations and triggers.",
                  no_args_is_help=True)

HOW_TO_READ = {
    "header": "header {key} of {integration}",
    "template_option": "template option {key} of {integration}",
    "signing_secret": "signing secret of {integration} "
                      "(`alertwire integrations secret {quoted}` shows it)",
}


def _header(secrets: list[dict[str, Any]], server: str) -> str:
    lines = [
        "alertwire configuration: integrations and triggers, keyed by name.",
        f"Exported from {server} by `alertwire config export`.",
        "Apply with `alertwire config apply FILE`: --dry-run shows the changes first; objects",
        "on the server but not in this file are kept unless --prune is given.",
    ]
    if secrets:
        width = max(len(s["variable"]) for s in secrets)
        lines += ["Secrets are not in this file: each is a ${VARIABLE} that apply reads from "
                  "the environment:"]
        lines += [f"  {s['variable'].ljust(width)}  "
                  + HOW_TO_READ[s["kind"]].format(**s, quoted=shlex.quote(s["integration"]))
                  for s in secrets]
    return "".join(f"# {line}\n" for line in lines)


@app.command("export")
def export(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of stdout.", show_default=False)] = None,
    signing_secrets: Annotated[bool, typer.Option(
        "--signing-secrets/--no-signing-secrets",
        help="Refer to each integration's signing secret; without, apply leaves them be.")] = True,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Print every integration and trigger as YAML (`> alertwire.yaml`).

    Secrets are written as references, never in clear:
    ${ALERTWIRE_SECRET_<INTEGRATION>_HEADER_<HEADER>}, ${…_OPTION_<OPTION>} and
    ${…_SIGNING_SECRET}."""
    with connect(url, token, as_json) as api:
        found = api.get("/api/v1/config", signing_secrets=str(signing_secrets).lower())
        server = api.url
    if as_json:
        text = json.dumps(found, indent=2, ensure_ascii=False) + "\n"
    else:
        text = _header(found["secrets"], server) + dump(found["config"])
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
    if as_json:
        return
    config = found["config"]
    where = f" to {output}" if output else ""
    typer.echo(f"exported {len(config['integrations'])} integration(s) and "
               f"{len(config['triggers'])} trigger(s){where}", err=True)
    if found["secrets"]:
        typer.echo("secrets are not exported; before `alertwire config apply`, set: "
                   + ", ".join(s["variable"] for s in found["secrets"]), err=True)


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _field_line(change: dict[str, Any], action: str) -> str:
    name, old, new = change["field"], change["old"], change["new"]
    if change["secret"]:
        what = "set" if old is None else "removed" if new is None else "changed"
        return f"    {name}: (secret, {what})"
    if action == "create":
        return f"    {name}: {_value(new)}"
    suffix = " (Test Connection, then Connect)" if name == "status" and new == "active" else ""
    return f"    {name}: {_value(old)} → {_value(new)}{suffix}"


SIGNS = {"create": "+", "update": "~", "delete": "-"}


def show_plan(result: dict[str, Any], source: str) -> None:
    """Each change, its fields, and one line that says what happened."""
    for change in result["changes"]:
        typer.echo(f"{SIGNS[change['action']]} {change['action']} {change['kind']} "
                   f"{change['name']!r}")
        for field in change["fields"]:
            typer.echo(_field_line(field, change["action"]))
    if result["not_in_file"]:
        kept = ", ".join(f"{r['kind']} {r['name']!r}" for r in result["not_in_file"])
        typer.echo(f"kept, not in {source} (--prune deletes them): {kept}")
    counts = {a: sum(c["action"] == a for c in result["changes"])
              for a in ("create", "update", "delete")}
    unchanged = len(result["unchanged"])
    if not result["changes"]:
        typer.echo(f"no changes: the server already matches {source} "
                   f"({unchanged} object{'s' if unchanged != 1 else ''})")
    elif result["dry_run"]:
        typer.echo(f"dry run: {counts['create']} to create, {counts['update']} to update, "
                   f"{counts['delete']} to delete, {unchanged} unchanged; nothing was changed")
    else:
        typer.echo(f"applied: {counts['create']} created, {counts['update']} updated, "
                   f"{counts['delete']} deleted, {unchanged} unchanged")


@app.command("apply")
def apply(
    file: Annotated[str, typer.Argument(help="The YAML file (- for stdin).", show_default=False)],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show the changes (per object and field) and change nothing.")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Also delete integrations and triggers the file leaves out.")] = False,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Make the server match FILE (create and update by name; --prune also deletes).

    Each ${VAR} in the file is read from the environment. Applying the same file again
    changes nothing."""
    source = "stdin" if file == "-" else file
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        document = resolve(load(text, source), os.environ)
    except OSError as exc:
        fail(Failure(f"cannot read {source}: {exc.strerror or exc}"), as_json)
    except (ConfigFileError, MissingVariables) as exc:
        fail(Failure(f"{source}: {exc}" if isinstance(exc, MissingVariables) else str(exc)),
             as_json)
    with connect(url, token, as_json) as api:
        try:
            result = api.post("/api/v1/config/apply",
                              {"config": document, "dry_run": dry_run, "prune": prune})
        except Failure as exc:
            if exc.status == 422:  # about the file: say which, and where in it
                exc.message = f"{source}: {exc.message.removeprefix('config.')}"
            raise
    if as_json:
        emit_json(result)
    else:
        show_plan(result, source)
    for failure in result["failures"]:
        if not as_json:
            typer.echo(f"error: {failure['kind']} {failure['name']!r}: {failure['message']}",
                       err=True)
    if result["failures"]:
        raise typer.Exit(1)
