"""`alertwire tokens`: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alertwire.commands._client import (
    ApiClient,
    Failure,
    JsonOption,
    TokenOption,
    UrlOption,
    Yes,
    confirm,
    connect,
)
from alertwire.commands._output import emit_json, emit_table, when

app = typer.Typer(help="API tokens: admin, ingest (may only post alerts) or read.",
                  no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. falco-prod.",
                                        show_default=False)],
    scope: Annotated[list[str], typer.Option(help="admin, ingest or read (repeatable).",
                                             show_default=False)],
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Create an API token; it is printed this once (alertwire keeps only its hash)."""
    with connect(url, token, as_json) as api:
        created = api.post("/api/v1/tokens", {"name": name, "scopes": scope})
    if as_json:
        emit_json(created)
        return
    typer.echo(created["token"])
    typer.echo(f"token {created['name']!r} ({created['id']}, scope {', '.join(created['scopes'])})"
               " is shown only this once: store it now", err=True)


@app.command("list")
def list_tokens(url: UrlOption = None, token: TokenOption = None,
                as_json: JsonOption = False) -> None:
    """List tokens (their names and scopes; the tokens themselves are not kept)."""
    with connect(url, token, as_json) as api:
        items = api.get("/api/v1/tokens")
    if as_json:
        emit_json(items)
        return
    emit_table(("ID", "NAME", "SCOPES", "CREATED"),
               [(t["id"], t["name"], ", ".join(t["scopes"]), when(t["created_at"])) for t in items],
               "no tokens")


def _find(api: ApiClient, ref: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = api.get("/api/v1/tokens")
    by_id = [t for t in items if t["id"] == ref]
    if by_id:
        return by_id[0]
    named = [t for t in items if t["name"] == ref]
    if len(named) == 1:
        return named[0]
    if named:
        raise Failure(f"{len(named)} tokens are named {ref!r}: revoke one by id "
                      f"({', '.join(t['id'] for t in named)})")
    raise Failure(f"no token with id or name {ref!r} (see `alertwire tokens list`)")


@app.command("revoke")
def revoke(
    ref: Annotated[str, typer.Argument(help="The token's id, or its name when unique.",
                                       show_default=False)],
    yes: Yes = False, url: UrlOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: requests with it are refused (401) from now on."""
    with connect(url, token, as_json) as api:
        found = _find(api, ref)
        confirm(f"Revoke token {found['name']!r} ({found['id']})?", yes, as_json)
        api.delete(f"/api/v1/tokens/{found['id']}")
    if as_json:
        emit_json({"revoked": found["id"], "name": found["name"]})
        return
    typer.echo(f"revoked token {found['name']!r} ({found['id']})")
