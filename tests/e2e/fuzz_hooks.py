"""Schemathesis hooks for the API fuzz run (tests/e2e/schemathesis.toml names this module).

A bin answers after its configured delay (up to 10 s), and every capture request to a bin
the fuzzer configured would wait that long: valid delays are shortened to 50 ms so the run
stays bounded. Invalid ones (negative, over 10 s, not a number) are sent as generated, so
their rejection is still tested; the delay itself is tested in tests/integration.
"""

from __future__ import annotations

from typing import Any

import schemathesis

BIN_OPERATIONS = {("POST", "/api/v1/bins"), ("PATCH", "/api/v1/bins/{bin_id}")}
FUZZ_DELAY_SECONDS = 0.05


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if (case.method.upper(), case.path) not in BIN_OPERATIONS:
        return
    response = case.body.get("response") if isinstance(case.body, dict) else None
    delay = response.get("delay") if isinstance(response, dict) else None
    if isinstance(delay, int | float) and not isinstance(delay, bool) \
            and FUZZ_DELAY_SECONDS < delay <= 10:
        response["delay"] = FUZZ_DELAY_SECONDS
