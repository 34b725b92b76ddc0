"""The single-alert ingest baseline: a FastAPI endpoint that only parses the JSON."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/api/v1/alerts", status_code=202)
async def ingest(request: Request) -> dict[str, int]:
    parsed = json.loads(await request.body())
    return {"accepted": len(parsed) if isinstance(parsed, list) else 1}
