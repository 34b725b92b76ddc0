"""Logs when things break: a failing database write carries the attempt (its URL with
credentials) in its statement, and none of it may reach the log (SPEC §8, §9)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from alertwire.logs import configure_logging
from tests.conftest import make_settings, start_app
from tests.integration.test_delivery import FIM, active_integration, post_alerts, trigger
from tests.receiver import Receiver, eventually

PASSWORD = "pw-c0rrect-horse"
TOKEN = "tok-battery-staple"


@pytest.fixture
def log_stream(captured: io.StringIO) -> io.StringIO:
    configure_logging("debug", captured)
    return captured


async def test_failed_attempt_write_logs_no_credentials(
    tmp_path: Path, receiver: Receiver, log_stream: io.StringIO
) -> None:
    """When recording attempts fails in the database, the error is logged with its traceback,
    but not the statement's parameters: the URL's user:password and its token stay out."""
    async for api in start_app(make_settings(tmp_path)):
        url = f"http://alice:{PASSWORD}@127.0.0.1:{receiver.port}/status/200?token={TOKEN}"
        hook = await active_integration(api, url)
        await trigger(api, [hook["id"]])
        async with api.services.store.engine.begin() as conn:
            await conn.execute(sa.text(
                "CREATE TRIGGER refuse_attempts BEFORE INSERT ON attempts "
                "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"))
        await post_alerts(api, FIM)
        await eventually(lambda: "recording 1 attempts failed" in log_stream.getvalue())
        async with api.services.store.engine.begin() as conn:
            await conn.execute(sa.text("DROP TRIGGER refuse_attempts"))
    output = log_stream.getvalue()
    assert PASSWORD not in output and TOKEN not in output
    (failure,) = [json.loads(line) for line in output.splitlines()
                  if "recording 1 attempts failed" in line]
    assert failure["level"] == "error"
    assert "disk on fire" in failure["exception"]
