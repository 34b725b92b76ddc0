"""The web console (SPEC §9): server-rendered pages over the same store and domain functions
as the JSON API, behind a cookie session with CSRF protection (SPEC §8)."""

from __future__ import annotations

from fastapi import APIRouter

from alertwire.console import (
    alerts,
    auth,
    bins,
    deliveries,
    drills,
    integrations,
    redaction,
    silences,
    triggers,
)
from alertwire.console.pages import static_files

router = APIRouter(include_in_schema=False)
# drills before integrations: /integrations/drill is not an integration's id.
for module in (auth, drills, integrations, alerts, triggers, deliveries, bins, silences,
               redaction):
    router.include_router(module.router)

__all__ = ["router", "static_files"]
