"""Silences: windows during which matching alerts are stored and counted but not delivered
(SPEC §4 storm control): the list, create, end early, delete."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from alertwire.api.deps import Services, ServicesDep
from alertwire.console.forms import FormState, filter_error, validate
from alertwire.console.pages import ConsoleRoute, format_time, redirect, render
from alertwire.console.session import ChangeForm, Form, ViewerDep
from alertwire.console.views import caret_line
from alertwire.domain.silences import ActiveSilence, SilenceSpec
from alertwire.errors import AlertwireError
from alertwire.store import Silence, StoredAlert

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
NEW_VALUES = {"comment": "", "filter": "", "starts_at": "", "duration": "1h", "ends_at": ""}


def state_of(silence: Silence, now: float) -> str:
    if now < silence.starts_at:
        return "upcoming"
    return "active" if now < silence.ends_at else "expired"


class Muting:
    """Which silence muted an alert. Alerts do not record it, so it is derived: a silence
    mutes what its filter matches among the alerts received while it was in force (from its
    start, or its creation if that was later, until its end). Deleted silences are gone."""

    def __init__(self, silences: Sequence[Silence]) -> None:
        self._windows = [(s, max(s.starts_at, s.created_at), ActiveSilence.compile(s.id, s.filter))
                         for s in silences]

    def of(self, alert: StoredAlert) -> Silence | None:
        parsed: dict[str, Any] | None = None
        for silence, start, compiled in self._windows:
            if start <= alert.received_at < silence.ends_at:
                parsed = alert.parsed() if parsed is None else parsed
                if compiled.matches(parsed):
                    return silence
        return None


async def muting(services: Services) -> Muting:
    return Muting(await services.store.silences.all())


def _utc(text: str) -> datetime | None:
    """A `datetime-local` input's value, read as UTC (the console shows UTC everywhere)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


def read_silence(form: Form) -> tuple[dict[str, Any], FormState]:
    values = {name: form.get(name).strip() for name in NEW_VALUES}
    values["filter"] = form.get("filter")
    state = FormState(values=values)
    # An end time, when given, wins over the duration (which has a default).
    data: dict[str, Any] = {"comment": values["comment"], "filter": values["filter"],
                            "duration": None if values["ends_at"] else values["duration"] or None}
    for name in ("starts_at", "ends_at"):
        try:
            data[name] = _utc(values[name])
        except ValueError:
            state.add_error(name, "is not a date and time")
    error = filter_error(values["filter"])
    if error is not None:
        state.add_error("filter", str(error))
    return data, state


async def _page(request: Request, services: Services, state: FormState,
                status_code: int = 200) -> Response:
    now = time.time()
    items = await services.store.silences.all()
    error = filter_error(state.values["filter"])
    return render(
        request, "silences.html", status_code=status_code, state=state,
        rows=[{"silence": s, "state": state_of(s, now)} for s in items],
        caret=caret_line(state.values["filter"], error.position) if error else None,
    )


@router.get("/silences")
async def silences_page(request: Request, services: ServicesDep, viewer: ViewerDep) -> Response:
    return await _page(request, services, FormState(values=dict(NEW_VALUES)))


@router.post("/silences/new")
async def create_silence(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    data, state = read_silence(form)
    spec = validate(SilenceSpec, data, state)
    if spec is not None:
        try:
            created = await services.store.silences.create(spec)
        except AlertwireError as exc:
            state.add_error(exc.field or "", exc.message)
    if spec is None or state.errors:
        return await _page(request, services, state, 422)
    return redirect(request, "/silences",
                    f"Silence created: matching alerts are not delivered until "
                    f"{format_time(created.ends_at)}.")


def _confirm(request: Request, silence: Silence, end: bool) -> Response:
    what = f"the silence {silence.comment or silence.id}"
    if end:
        return render(request, "silence_confirm.html", title="End silence", thing=what,
                      action=f"/silences/{silence.id}/end", button="End silence now",
                      consequences=["Matching alerts are delivered again from now on; the "
                                    "silence stays listed with its count."])
    return render(request, "silence_confirm.html", title="Delete silence", thing=what,
                  action=f"/silences/{silence.id}/delete", button="Delete silence",
                  consequences=["If it is in force, matching alerts are delivered again.",
                                "Its count and the note on the alerts it muted are gone."])


@router.get("/silences/{silence_id}/end")
async def confirm_end(request: Request, services: ServicesDep, viewer: ViewerDep,
                      silence_id: str) -> Response:
    return _confirm(request, await services.store.silences.get(silence_id), end=True)


@router.post("/silences/{silence_id}/end")
async def end_silence(request: Request, services: ServicesDep, form: ChangeForm,
                      silence_id: str) -> Response:
    await services.store.silences.expire(silence_id)
    return redirect(request, "/silences", "Silence ended: matching alerts are delivered again.")


@router.get("/silences/{silence_id}/delete")
async def confirm_delete(request: Request, services: ServicesDep, viewer: ViewerDep,
                         silence_id: str) -> Response:
    return _confirm(request, await services.store.silences.get(silence_id), end=False)


@router.post("/silences/{silence_id}/delete")
async def delete_silence(request: Request, services: ServicesDep, form: ChangeForm,
                         silence_id: str) -> Response:
    await services.store.silences.delete(silence_id)
    return redirect(request, "/silences", "Silence deleted.")
