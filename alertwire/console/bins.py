"""Inspector: bins, each with its live request list, a captured request's details, copy as
curl, export as JSON, replay to a URL and the bin's response settings (SPEC §7).

The request list updates through a session-authenticated twin of the API's event stream
whose events also carry the list row, rendered by the same template as the page, so the
browser inserts rows without building any markup of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup

from alertwire.api.bins import (
    bin_url,
    capture_events,
    captured_out,
    curl_command,
    replay_captured,
)
from alertwire.api.deps import Services, ServicesDep
from alertwire.api.schemas import TestResult
from alertwire.console.forms import FormState, validate
from alertwire.console.pages import ConsoleRoute, environment, redirect, render
from alertwire.console.session import ChangeForm, Form, ViewerDep
from alertwire.domain.bins import BinResponse, BinSpec, body_fields
from alertwire.errors import Invalid
from alertwire.store import Bin, CapturedRequest

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 100
BIN_FIELDS = ("name", "status", "content_type", "body", "headers", "delay", "max_requests")


# ------------------------------------------------------------------------------------ forms

def bin_values(found: Bin | None) -> dict[str, str]:
    """The form's text for a bin's settings (or the defaults for a new bin)."""
    spec = found or BinSpec()
    answer = spec.response
    return {
        "name": found.name if found else "", "status": str(answer.status),
        "content_type": answer.content_type, "body": answer.body,
        "headers": "\n".join(f"{k}: {v}" for k, v in answer.headers.items()),
        "delay": f"{answer.delay:g}", "max_requests": str(spec.max_requests),
    }


def _number(text: str) -> int | float | str:
    """Form text as the number it spells (the API takes JSON numbers only); other text is
    left for validation to refuse with its message."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def read_bin(form: Form) -> tuple[BinSpec | None, FormState]:
    """The bin a settings form describes; blank fields take the API's defaults."""
    typed = {name: form.get(name).replace("\r\n", "\n") for name in BIN_FIELDS}
    state = FormState(values=typed)
    given: dict[str, Any] = {name: typed[name].strip() for name in BIN_FIELDS if typed[name].strip()}
    headers: dict[str, str] = {}
    for number, line in enumerate(typed["headers"].splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = (part.strip() for part in line.partition(":"))
        if not colon or not name:
            state.add_error("headers", f"line {number}: write each header as Name: value")
        elif name in headers:  # other spellings of a name: the domain's check says so
            state.add_error("headers", f"{name!r} is given twice")
        headers[name] = value
    for name in ("status", "delay", "max_requests"):
        if name in given:
            given[name] = _number(given[name])
    answer = validate(BinResponse, {
        **{k: given[k] for k in ("status", "content_type", "delay") if k in given},
        "body": typed["body"], "headers": headers,
    }, state)
    spec = validate(BinSpec, {
        **{k: given[k] for k in ("name", "max_requests") if k in given},
        "response": answer or BinResponse(),
    }, state)
    return spec, state


# ------------------------------------------------------------------------------------ views

def request_row(bin_id: str, item: CapturedRequest, selected_id: str | None = None) -> Markup:
    """One entry of the request list, as the page and the live stream show it."""
    return Markup(environment.get_template("_bin_request_row.html").render(
        bin_id=bin_id, item=item, selected_id=selected_id))


async def _bin_page(
    request: Request, services: Services, found: Bin, *, selected_id: str | None = None,
    cursor: str | None = None, state: FormState | None = None,
    replay: dict[str, Any] | None = None, status_code: int = 200,
) -> Response:
    items, next_cursor = await services.store.bins.requests(found.id, limit=PAGE_SIZE,
                                                           cursor=cursor)
    selected = None
    if selected_id:
        selected = await services.store.bins.request(found.id, selected_id)
    elif items:
        selected = items[0]
    return render(
        request, "bin.html", status_code=status_code, bin=found, url=bin_url(services, found.id),
        rows=[request_row(found.id, i, selected.id if selected else None) for i in items],
        newest=items[0].id if items and cursor is None else "", next_cursor=next_cursor,
        paged=cursor is not None, selected=selected,
        body=body_fields(selected.body) if selected else None,
        curl=curl_command(services, selected) if selected else "",
        state=state or FormState(values=bin_values(found)), replay=replay,
    )


def _bins_page(request: Request, services: Services, bins: list[Bin],
               state: FormState | None = None, status_code: int = 200) -> Response:
    return render(request, "bins.html", status_code=status_code,
                  bins=[(b, bin_url(services, b.id)) for b in bins],
                  state=state or FormState(values=bin_values(None)))


# ----------------------------------------------------------------------------------- routes

@router.get("/bins")
async def bins_page(request: Request, services: ServicesDep, viewer: ViewerDep) -> Response:
    return _bins_page(request, services, await services.store.bins.all())


@router.post("/bins")
async def create_bin(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    spec, state = read_bin(form)
    if spec is None:
        return _bins_page(request, services, await services.store.bins.all(), state, 422)
    created = await services.store.bins.create(spec)
    return redirect(request, f"/bins/{created.id}",
                    f"Created bin {created.name}: requests sent to its URL show up here.")


@router.get("/bins/{bin_id}")
async def bin_page(
    request: Request, services: ServicesDep, viewer: ViewerDep, bin_id: str,
    selected: Annotated[str, Query(alias="request", max_length=100)] = "",
    cursor: str | None = None,
) -> Response:
    return await _bin_page(request, services, await services.store.bins.get(bin_id),
                           selected_id=selected or None, cursor=cursor)


@router.post("/bins/{bin_id}")
async def save_bin(request: Request, services: ServicesDep, form: ChangeForm,
                   bin_id: str) -> Response:
    found = await services.store.bins.get(bin_id)
    spec, state = read_bin(form)
    if spec is None:
        return await _bin_page(request, services, found, state=state, status_code=422)
    saved = await services.store.bins.update(bin_id, spec)
    return redirect(request, f"/bins/{bin_id}", f"Saved the settings of bin {saved.name}.")


@router.get("/bins/{bin_id}/stream")
async def stream(
    request: Request, services: ServicesDep, viewer: ViewerDep, bin_id: str,
    after: Annotated[str, Query(max_length=100)] = "",
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Captures newer than `after` (the newest on the page when it was rendered), so none
    is missed between rendering the page and connecting; reconnects go by Last-Event-ID."""
    return await capture_events(
        request, services, bin_id, last_event_id or after,
        lambda item: captured_out(item).model_dump() | {"row": request_row(bin_id, item)})


@router.get("/bins/{bin_id}/export")
async def export(
    services: ServicesDep, viewer: ViewerDep, bin_id: str,
    selected: Annotated[str, Query(alias="request", max_length=100)] = "",
) -> Response:
    """A download of one captured request, or of all of them (newest first), as the API
    reads them (SPEC §7)."""
    await services.store.bins.get(bin_id)
    if selected:
        found = await services.store.bins.request(bin_id, selected)
        return Response(_json(found), media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{bin_id}-{selected}.json"'})

    async def every_request() -> AsyncIterator[str]:
        # Page by page: thousands of captures of up to 1 MiB need not fit in memory at once.
        cursor: str | None = None
        separator = "["
        while True:
            items, cursor = await services.store.bins.requests(bin_id, limit=50, cursor=cursor)
            for item in items:
                yield separator + "\n" + _json(item)
                separator = ","
            if cursor is None:
                break
        yield "[]\n" if separator == "[" else "\n]\n"

    return StreamingResponse(every_request(), media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{bin_id}.json"'})


def _json(item: CapturedRequest) -> str:
    return json.dumps(captured_out(item).model_dump(), indent=2, ensure_ascii=False)


@router.post("/bins/{bin_id}/requests/{request_id}/replay")
async def replay(request: Request, services: ServicesDep, form: ChangeForm, bin_id: str,
                 request_id: str) -> Response:
    """Replay from the server (SSRF-guarded); the page shows the answer or why there is none."""
    found = await services.store.bins.get(bin_id)
    url = form.get("url").strip()
    result: TestResult | None = None
    error = None
    try:
        result = await replay_captured(services, bin_id, request_id, url)
    except Invalid as exc:
        error = exc.message.removeprefix("url: ")
    return await _bin_page(request, services, found, selected_id=request_id,
                           replay={"url": url, "result": result, "error": error},
                           status_code=422 if error else 200)


@router.get("/bins/{bin_id}/delete")
async def confirm_delete(request: Request, services: ServicesDep, viewer: ViewerDep,
                         bin_id: str) -> Response:
    found = await services.store.bins.get(bin_id)
    return render(request, "confirm_delete.html", title="Delete bin", thing=found.name,
                  cancel=f"/bins/{bin_id}", action=f"/bins/{bin_id}/delete",
                  button="Delete bin", consequences=[
                      "Its URL stops recording requests and answers 404 from now on.",
                      "Every request it captured is deleted with it.",
                  ])


@router.post("/bins/{bin_id}/delete")
async def delete_bin(request: Request, services: ServicesDep, form: ChangeForm,
                     bin_id: str) -> Response:
    found = await services.store.bins.get(bin_id)
    await services.store.bins.delete(bin_id)
    return redirect(request, "/bins", f"Deleted bin {found.name}.")
