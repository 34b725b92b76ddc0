"""Fixtures shared by the integration tests of the console."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import AppHarness
from tests.integration.test_console import _csrf, _log_in


@pytest.fixture
async def console(api: AppHarness) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A logged-in, cookie-keeping client (like a browser) and its CSRF token."""
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alertwire.test") as client:
        await _log_in(client)
        yield client, _csrf((await client.get("/integrations/new")).text)
