"""The KubeArmor relay source (SPEC §3, Appendix A): `feeder.LogService/WatchAlerts` (and
optionally `WatchLogs`) over gRPC, each message turned into the JSON KubeArmor itself writes
(same field names, empty fields omitted) and handed to a sink, which spools it durably. The
relay does not replay: what it streamed while nobody listened is gone, so the stream is kept
open, and reopened with backoff whenever it breaks."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from alertwire.domain.backoff import Backoff
from alertwire.sources.proto import kubearmor_pb2, kubearmor_pb2_grpc

log = logging.getLogger("alertwire.sources")

Stream = Literal["alerts", "logs"]
FILTERS: dict[Stream, tuple[str, ...]] = {"alerts": ("all", "policy"), "logs": ("all", "system")}
DEFAULT_PORT = 32767


def to_kubearmor_json(message: Message) -> dict[str, Any]:
    """The message as KubeArmor's JSON: proto field names, in field-number order, fields at
    their zero value left out (as the relay's JSON output does); numbers stay numbers
    (Timestamp is an int64, not the string protobuf's JSON mapping would make of it)."""
    out: dict[str, Any] = {}
    for field, value in sorted(message.ListFields(), key=lambda item: item[0].number):
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out[field.name] = dict(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            nested = to_kubearmor_json(value)
            if nested:
                out[field.name] = nested
        elif field.is_repeated:
            out[field.name] = list(value)
        else:
            out[field.name] = value
    return out


def parse_target(relay: str) -> str:
    """`HOST:PORT` (or `HOST`, meaning the relay's default port 32767) as gRPC dials it."""
    host, sep, port = relay.rpartition(":")
    if not sep or "]" in port:
        return f"{relay}:{DEFAULT_PORT}"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--relay {relay!r}: expected HOST:PORT, e.g. kubearmor-relay:32767")
    return relay


Sink = Callable[[str], Awaitable[None]]


async def watch(target: str, stream: Stream, filter: str, sink: Sink, *,
                max_backoff: float = 30.0,
                on_connected: Callable[[], None] | None = None) -> None:
    """Follow one relay stream for ever: connect, check the relay answers HealthCheck, then
    pass each message's JSON text to `sink`; on any break, wait (backoff with jitter) and
    connect again. Cancel the task to stop."""
    if filter not in FILTERS[stream]:
        raise ValueError(f"{stream} filter {filter!r}: expected one of {', '.join(FILTERS[stream])}")
    backoff = Backoff(initial=min(0.5, max_backoff), cap=max_backoff)
    while True:
        try:
            async with grpc.aio.insecure_channel(target) as channel:
                # The generated stub module is untyped (grpc ships no types).
                stub = kubearmor_pb2_grpc.LogServiceStub(channel)  # type: ignore[no-untyped-call]
                nonce = random.randrange(1, 2**31)
                reply = await stub.HealthCheck(kubearmor_pb2.NonceMessage(nonce=nonce), timeout=10)
                if reply.Retval != nonce:
                    raise ConnectionError(f"relay answered HealthCheck {nonce} with {reply.Retval}")
                request = kubearmor_pb2.RequestMessage(Filter=filter)
                call = (stub.WatchAlerts(request) if stream == "alerts"
                        else stub.WatchLogs(request))
                log.warning("connected to the KubeArmor relay at %s (%s, filter %s)",
                            target, stream, filter)
                backoff.reset()
                if on_connected is not None:
                    on_connected()
                async for message in call:
                    await sink(json.dumps(to_kubearmor_json(message)))
                log.warning("the relay at %s ended the %s stream", target, stream)
        except (grpc.aio.AioRpcError, ConnectionError) as exc:
            detail = exc.details() if isinstance(exc, grpc.aio.AioRpcError) else str(exc)
            log.warning("relay %s (%s): %s", target, stream, detail)
        delay = backoff.next()
        log.warning("reconnecting to %s (%s) in %.1f s", target, stream, delay)
        await asyncio.sleep(delay)
