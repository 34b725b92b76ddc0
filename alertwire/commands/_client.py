"""The command line's way to a server: the JSON API by URL and token, nothing else.

Commands are plain functions; `connect()` gives them an `ApiClient` whose calls block (one
event loop for the whole command, one aiohttp session) and turns every failure into a
message on stderr and exit code 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import aiohttp
import typer

from alertwire.settings import SettingsError, load_settings

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Server URL (ALERTWIRE_URL; default from settings).",
                             show_default=False)
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help="API token (ALERTWIRE_TOKEN; default: the saved admin token).",
                 show_default=False),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable JSON on stdout (errors on stderr).")
]
TIMEOUT = aiohttp.ClientTimeout(total=600, sock_connect=10)


class Failure(Exception):
    """A command cannot go on: the message says why (and, from the server, its answer)."""

    def __init__(self, message: str, status: int | None = None,
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body or {}

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"error": self.body.get("error", "error"),
                                 "message": self.message}
        if self.status is not None:
            found["status"] = self.status
        return found | {k: v for k, v in self.body.items() if k not in ("error", "message")}

    def as_text(self) -> str:
        return f"error: {self.message}" + (f" (HTTP {self.status})" if self.status else "")


def client_target(url: str | None, token: str | None) -> tuple[str, str]:
    """The server's URL and the token: options first, then ALERTWIRE_URL / ALERTWIRE_TOKEN,
    then the local settings and the admin token saved in the data directory."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    url = url or os.environ.get("ALERTWIRE_URL") or settings.base_url
    token = token or os.environ.get("ALERTWIRE_TOKEN") or settings.admin_token
    if not token:
        from alertwire.bootstrap import ADMIN_TOKEN_FILE  # the server's side: only when needed

        saved = settings.data_dir / ADMIN_TOKEN_FILE
        if saved.exists():
            token = saved.read_text().strip()
    if not token:
        typer.echo("error: no API token: pass --token, set ALERTWIRE_TOKEN, or run where the "
                   "server's data directory holds admin-token", err=True)
        raise typer.Exit(2)
    return url.rstrip("/"), token


class ApiClient:
    """Blocking calls to the JSON API; each answers the decoded JSON (None for a 204)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self._token = token
        self._runner: asyncio.Runner | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> ApiClient:
        self._runner = asyncio.Runner()

        async def open_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self._token}"}, timeout=TIMEOUT)

        self._session = self._runner.run(open_session())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None and self._session is not None
        self._runner.run(self._session.close())
        self._runner.close()

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None, raw: bytes | None = None) -> Any:
        assert self._runner is not None
        return self._runner.run(self._request(method, path, params, body, raw))

    async def _request(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
                       raw: bytes | None) -> Any:
        assert self._session is not None
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        headers = {"Content-Type": "application/json"} if raw is not None else None
        try:
            async with self._session.request(
                method, self.url + path, params=query, headers=headers,
                json=body if raw is None and body is not None else None, data=raw,
            ) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Failure(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        try:
            decoded = json.loads(text) if text else None
        except ValueError:
            decoded = None
        if status >= 400:
            if isinstance(decoded, dict) and isinstance(decoded.get("message"), str):
                raise Failure(decoded["message"], status, decoded)
            raise Failure(text.strip()[:500] or "no message", status)
        return decoded

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request("POST", path, params=params, body=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params)

    def every(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, following `next_cursor`."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.get(path, **params, limit=500, cursor=cursor)
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


@contextmanager
def connect(url: str | None, token: str | None, as_json: bool) -> Iterator[ApiClient]:
    """An API client for one command; a `Failure` inside ends the command with its message
    on stderr (JSON with `--json`) and exit code 1."""
    base, secret = client_target(url, token)
    try:
        with ApiClient(base, secret) as api:
            yield api
    except Failure as exc:
        fail(exc, as_json)


def fail(exc: Failure, as_json: bool) -> NoReturn:
    if as_json:
        print(json.dumps(exc.as_json(), ensure_ascii=False), file=sys.stderr)
    else:
        typer.echo(exc.as_text(), err=True)
    raise typer.Exit(1)


def find_integration(api: ApiClient, ref: str) -> dict[str, Any]:
    """An integration by id or by name (case-insensitive, as the server compares names)."""
    return _find(api, "integration", ref, search=ref)


def find_trigger(api: ApiClient, ref: str) -> dict[str, Any]:
    """A trigger by id or by name (case-insensitive)."""
    return _find(api, "trigger", ref)


def _find(api: ApiClient, kind: str, ref: str, **query: str) -> dict[str, Any]:
    collection = f"/api/v1/{kind}s"
    if ref.startswith({"integration": "itg_", "trigger": "trg_"}[kind]):
        try:
            found: dict[str, Any] = api.get(f"{collection}/{ref}")
            return found
        except Failure as exc:
            if exc.status != 404:
                raise
    for item in api.every(collection, **query):
        if item["name"].lower() == ref.lower():
            return item
    raise Failure(f"no {kind} named {ref!r} (see `alertwire {kind}s list`)")


def integration_names(api: ApiClient) -> dict[str, str]:
    """Integration id → name, to show names where the API gives ids."""
    return {i["id"]: i["name"] for i in api.every("/api/v1/integrations")}


def confirm(question: str, yes: bool, as_json: bool) -> None:
    """Ask before something that cannot be undone; without a terminal, --yes is needed."""
    if yes:
        return
    if not sys.stdin.isatty():
        fail(Failure(f"{question} Pass --yes to confirm (no terminal to ask on)."), as_json)
    if not typer.confirm(question, err=True):
        typer.echo("cancelled", err=True)
        raise typer.Exit(1)
