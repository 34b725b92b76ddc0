"""`alertwire integrations`: list, show, add, test, connect, edit, disable, delete, secret."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
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
    find_integration,
)
from alertwire.commands._output import emit, emit_json, emit_table, fields, when
from alertwire.domain.references import MissingVariables, resolve

app = typer.Typer(help="Webhook integrations: add, test, connect, edit, delete.",
                  no_args_is_help=True)

Ref = Annotated[str, typer.Argument(help="The integration's name or id.", show_default=False)]
Method = Annotated[str | None, typer.Option(help="POST, PUT or GET.", show_default=False)]
SuccessCodes = Annotated[list[int] | None, typer.Option(
    "--success-code", help="A status that counts as delivered (repeatable; replaces the list).",
    show_default=False)]
Headers = Annotated[list[str] | None, typer.Option(
    "--header", help="'Name: value' (repeatable). ${VAR} in the value is read from the "
    "environment, so secrets stay out of shell history.", show_default=False)]
Template = Annotated[str | None, typer.Option(
    help="raw, slack, teams, jira, servicenow, splunk_hec, elastic, pagerduty, "
    "github_dispatch or custom.", show_default=False)]
Options = Annotated[list[str] | None, typer.Option(
    "--option", help="A template option, key=value (repeatable); the value is JSON when it "
    "parses as JSON, else text; ${VAR} is read from the environment.", show_default=False)]
Description = Annotated[str | None, typer.Option(show_default=False)]
TestPayload = Annotated[str | None, typer.Option(
    "--test-payload", help="JSON sent by Test Connection, or @FILE.", show_default=False)]
Fallback = Annotated[str | None, typer.Option(
    help="Integration (name or id) that receives the deliveries that go dead.",
    show_default=False)]
MaxConcurrency = Annotated[int | None, typer.Option(
    "--max-concurrency", help="Requests in flight at once.", show_default=False)]
RateLimit = Annotated[float | None, typer.Option(
    "--rate-limit", help="Requests per second.", show_default=False)]


def _usage(message: str) -> typer.BadParameter:
    return typer.BadParameter(message)


def _env(value: str, what: str) -> str:
    try:
        resolved: str = resolve(value, os.environ)
    except MissingVariables as exc:
        raise _usage(f"{what}: {exc}") from None
    return resolved


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise _usage(f"--header {text!r}: write it as 'Name: value'")
    return name.strip(), _env(value.strip(), f"--header {name.strip()}")


def parse_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise _usage(f"--option {text!r}: write it as key=value")
    value = _env(value, f"--option {key.strip()}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def parse_payload(text: str) -> Any:
    try:
        raw = Path(text[1:]).read_text() if text.startswith("@") else text
    except OSError as exc:
        raise _usage(f"--test-payload: cannot read {text[1:]}: {exc.strerror or exc}") from None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _usage(f"--test-payload is not JSON: {exc}") from None


def _common(api: ApiClient, method: str | None, success_code: list[int] | None,
            template: str | None, description: str | None, test_payload: str | None,
            fallback: str | None, max_concurrency: int | None,
            rate_limit: float | None) -> dict[str, Any]:
    """The fields given on the command line, as the API names them."""
    given: dict[str, Any] = {
        "method": method, "success_codes": success_code or None, "template": template,
        "description": description, "max_concurrency": max_concurrency,
        "rate_limit": rate_limit,
    }
    body = {k: v for k, v in given.items() if v is not None}
    if test_payload is not None:
        body["test_payload"] = parse_payload(test_payload)
    if fallback is not None:
        body["fallback"] = find_integration(api, fallback)["id"]
    return body


def _last_test(item: dict[str, Any]) -> str:
    last = item.get("last_test")
    if not last:
        return "never tested"
    outcome = f"ok ({last['status_code']})" if last["ok"] else \
        f"failed ({last['error'] or last['status_code']})"
    return outcome + ("" if last["current"] else ", before the last edit")


def _next_step(item: dict[str, Any]) -> str:
    quoted = shlex.quote(item["name"])
    if item["status"] == "active":
        return ""
    if (item.get("last_test") or {}).get("ok") and item["last_test"]["current"]:
        return f"next: alertwire integrations connect {quoted}"
    return (f"next: alertwire integrations test {quoted}, then alertwire integrations "
            f"connect {quoted}")


def _summary(item: dict[str, Any]) -> str:
    return f"{item['name']!r} ({item['id']}), {item['status']}"


@app.command("list")
def list_integrations(
    status: Annotated[str | None, typer.Option(help="draft, active or disabled.",
                                               show_default=False)] = None,
    search: Annotated[str | None, typer.Option(help="Text in the name, URL or description.",
                                               show_default=False)] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """List integrations by name."""
    with connect(url, token, as_json) as api:
        items = api.every("/api/v1/integrations", status=status, search=search)
    if as_json:
        emit_json(items)
        return
    emit_table(
        ("NAME", "STATUS", "METHOD", "URL", "TEMPLATE", "LAST TEST", "ID"),
        [(i["name"], i["status"], i["method"], i["url"], i["template"], _last_test(i), i["id"])
         for i in items],
        "no integrations yet: add one with `alertwire integrations add NAME --url URL`",
    )


@app.command("show")
def show(ref: Ref, url: UrlOption = None, token: TokenOption = None,
         as_json: JsonOption = False) -> None:
    """Show one integration (secret header values and options masked)."""
    with connect(url, token, as_json) as api:
        item = find_integration(api, ref)
        fallback = api.get(f"/api/v1/integrations/{item['fallback']}")["name"] \
            if item["fallback"] else None
    if as_json:
        emit_json(item)
        return
    typer.echo(fields([
        ("name", item["name"]), ("id", item["id"]),
        ("status", item["status"] + (f" ({item['disabled_reason']})"
                                     if item["disabled_reason"] else "")),
        ("method", item["method"]), ("url", item["url"]),
        ("success codes", ", ".join(str(c) for c in item["success_codes"])),
        ("template", item["template"]), ("template options", item["template_options"] or None),
        ("description", item["description"]), ("test payload", item["test_payload"]),
        ("fallback", fallback), ("max concurrency", item["max_concurrency"]),
        ("rate limit", f"{item['rate_limit']:g}/s" if item["rate_limit"] else None),
        ("last test", _last_test(item)), ("created", when(item["created_at"])),
        ("updated", when(item["updated_at"])),
    ]))
    for name, value in item["headers"].items():
        typer.echo(f"  header {name}: {value}")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. slack-secops.",
                                        show_default=False)],
    target: Annotated[str, typer.Argument(help="The webhook URL (http:// or https://).",
                                          show_default=False)],
    method: Method = None, success_code: SuccessCodes = None, header: Headers = None,
    template: Template = None, option: Options = None, description: Description = None,
    test_payload: TestPayload = None, fallback: Fallback = None,
    max_concurrency: MaxConcurrency = None, rate_limit: RateLimit = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Add an integration NAME sending to URL (a draft: test it, then connect it)."""
    headers = dict(parse_header(h) for h in header or [])
    options = dict(parse_option(o) for o in option or [])
    with connect(url, token, as_json) as api:
        body = {"name": name, "url": target} | _common(
            api, method, success_code, template, description, test_payload, fallback,
            max_concurrency, rate_limit)
        if headers:
            body["headers"] = headers
        if options:
            body["template_options"] = options
        created = api.post("/api/v1/integrations", body)
    emit(created, as_json, f"added integration {_summary(created)}\n{_next_step(created)}")


@app.command("test")
def test(ref: Ref, url: UrlOption = None, token: TokenOption = None,
         as_json: JsonOption = False) -> None:
    """Test Connection: send the test payload now and show the answer.

    Exits 1 unless the answer's status is one of the integration's success codes."""
    with connect(url, token, as_json) as api:
        item = find_integration(api, ref)
        result = api.post(f"/api/v1/integrations/{item['id']}/test")
    if as_json:
        emit_json(result)
    else:
        latency = f" in {result['latency_ms']:.0f} ms" if result["latency_ms"] is not None else ""
        if result["ok"]:
            typer.echo(f"ok: {item['name']!r} answered {result['status_code']}{latency}")
            if item["status"] != "active":
                typer.echo(f"next: alertwire integrations connect {shlex.quote(item['name'])}")
        else:
            got = f"answered {result['status_code']}" if result["status_code"] else "no answer"
            typer.echo(f"failed: {item['name']!r} {got}{latency}: {result['error']}")
        if result["response_body"]:
            body = result["response_body"]
            typer.echo("response: " + (body if len(body) <= 500 else body[:500] + "…"))
    if not result["ok"]:
        raise typer.Exit(1)


@app.command("connect")
def connect_command(ref: Ref, url: UrlOption = None, token: TokenOption = None,
                    as_json: JsonOption = False) -> None:
    """Connect (activate): once the latest test of its current configuration succeeded."""
    with connect(url, token, as_json) as api:
        item = api.post(f"/api/v1/integrations/{find_integration(api, ref)['id']}/connect")
    emit(item, as_json, f"connected: {item['name']!r} is active and receives alerts from its triggers")


@app.command("edit")
def edit(
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="A new name.",
                                             show_default=False)] = None,
    target: Annotated[str | None, typer.Option("--webhook-url", help="A new webhook URL.",
                                               show_default=False)] = None,
    method: Method = None, success_code: SuccessCodes = None, header: Headers = None,
    remove_header: Annotated[list[str] | None, typer.Option(
        "--remove-header", help="Header name to remove (repeatable).", show_default=False)] = None,
    template: Template = None, option: Options = None,
    remove_option: Annotated[list[str] | None, typer.Option(
        "--remove-option", help="Template option to remove (repeatable).",
        show_default=False)] = None,
    description: Description = None, test_payload: TestPayload = None,
    fallback: Fallback = None,
    no_fallback: Annotated[bool, typer.Option("--no-fallback", help="Remove the fallback.")] = False,
    max_concurrency: MaxConcurrency = None, rate_limit: RateLimit = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Change an integration's fields; the others stay as they are (secrets included)."""
    added = [parse_header(h) for h in header or []]
    options = [parse_option(o) for o in option or []]
    with connect(url, token, as_json) as api:
        item = find_integration(api, ref)
        body = _common(api, method, success_code, template, description, test_payload,
                       fallback, max_concurrency, rate_limit)
        if name is not None:
            body["name"] = name
        if target is not None:
            body["url"] = target
        if no_fallback:
            body["fallback"] = None
        if added or remove_header:
            # Masked values sent back stand for the stored secrets (the server keeps them).
            headers = dict(item["headers"])
            for gone in [*(remove_header or []), *(n for n, _ in added)]:
                matches = [h for h in headers if h.lower() == gone.lower()]
                if not matches and gone in (remove_header or []):
                    raise Failure(f"--remove-header {gone}: {item['name']!r} has no such header")
                for match in matches:
                    del headers[match]
            body["headers"] = headers | dict(added)
        if options or remove_option:
            same_template = template is None or template == item["template"]
            current = dict(item["template_options"]) if same_template else {}
            for gone in remove_option or []:
                if gone not in current:
                    raise Failure(f"--remove-option {gone}: {item['name']!r} has no such option")
                del current[gone]
            body["template_options"] = current | dict(options)
        if not body:
            raise Failure("nothing to change: give at least one option (see --help)")
        updated = api.patch(f"/api/v1/integrations/{item['id']}", body)
    if as_json:
        emit_json(updated)
        return
    typer.echo(f"updated integration {_summary(updated)}: {', '.join(sorted(body))}")
    step = _next_step(updated)
    if step:
        typer.echo(step)
    elif not (updated.get("last_test") or {}).get("current"):
        typer.echo("it stays active; check the new configuration with: alertwire integrations "
                   f"test {shlex.quote(updated['name'])}")


@app.command("disable")
def disable(ref: Ref, url: UrlOption = None, token: TokenOption = None,
            as_json: JsonOption = False) -> None:
    """Stop sending to an integration (connect it again to resume)."""
    with connect(url, token, as_json) as api:
        item = api.post(f"/api/v1/integrations/{find_integration(api, ref)['id']}/disable")
    emit(item, as_json, f"disabled integration {_summary(item)}")


@app.command("delete")
def delete(
    ref: Ref,
    force: Annotated[bool, typer.Option(
        "--force", help="Delete even while triggers use it (they stop sending to it).")] = False,
    yes: Yes = False, url: UrlOption = None, token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete Channel: remove an integration.

    Refused while a trigger uses it, unless --force."""
    with connect(url, token, as_json) as api:
        item = find_integration(api, ref)
        confirm(f"Delete integration {item['name']!r} ({item['id']})?", yes, as_json)
        api.delete(f"/api/v1/integrations/{item['id']}", force="true" if force else None)
    if as_json:
        emit_json({"deleted": item["id"], "name": item["name"]})
        return
    typer.echo(f"deleted integration {item['name']!r} ({item['id']})")


@app.command("secret")
def secret(
    ref: Ref,
    rotate: Annotated[bool, typer.Option(
        "--rotate", help="Make a new signing secret; the old one keeps signing for 24 h.")] = False,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Show (or rotate) the Standard Webhooks signing secret receivers verify with."""
    with connect(url, token, as_json) as api:
        item = find_integration(api, ref)
        path = f"/api/v1/integrations/{item['id']}/secret"
        found = api.post(path + "/rotate") if rotate else api.get(path)
    if as_json:
        emit_json(found)
        return
    typer.echo(found["secret"])
    if found["previous_secret"]:
        typer.echo(f"previous secret (signs too until {when(found['previous_secret_expires_at'])} "
                   f"UTC): {found['previous_secret']}", err=True)
