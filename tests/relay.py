"""A KubeArmor relay for tests: a real grpc.aio server on 127.0.0.1 implementing
`feeder.LogService` from the same .proto (HealthCheck, WatchAlerts, WatchLogs). Like the
real relay it streams live only: a message published while nobody watches is gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from alertwire.sources.proto import kubearmor_pb2, kubearmor_pb2_grpc

# Keys AccuKnox adds on top of the relay's own (not in the proto).
NOT_ON_THE_WIRE = ("cluster_id", "component_name", "tenant_id", "instanceGroup", "instanceID",
                   "workload", "HashID")


def from_json(kind: type[Message], data: dict[str, Any]) -> Any:
    """A KubeArmor JSON sample as the relay's protobuf message (AccuKnox extras left out)."""
    wire = {k: v for k, v in data.items() if k not in NOT_ON_THE_WIRE}
    return json_format.ParseDict(wire, kind())


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_bytes())
    return loaded


@dataclass
class Relay(kubearmor_pb2_grpc.LogServiceServicer):  # type: ignore[misc]
    port: int = 0
    watchers: dict[str, list[asyncio.Queue[Any]]] = field(
        default_factory=lambda: {"alerts": [], "logs": []})
    requests: list[tuple[str, str]] = field(default_factory=list)  # (stream, Filter)
    health_checks: int = 0
    _server: Any = None

    async def start(self) -> Relay:
        self._server = grpc.aio.server()
        kubearmor_pb2_grpc.add_LogServiceServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self._server.start()
        return self

    async def stop(self) -> None:
        await self._server.stop(grace=None)
        for queues in self.watchers.values():
            queues.clear()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def publish(self, stream: str, message: Any) -> int:
        """Send to everyone watching `stream`; how many received it."""
        for queue in self.watchers[stream]:
            queue.put_nowait(message)
        return len(self.watchers[stream])

    async def HealthCheck(self, request: Any, context: Any) -> Any:
        self.health_checks += 1
        return kubearmor_pb2.ReplyMessage(Retval=request.nonce)

    async def _follow(self, stream: str, request: Any) -> AsyncIterator[Any]:
        self.requests.append((stream, request.Filter))
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.watchers[stream].append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            if queue in self.watchers[stream]:
                self.watchers[stream].remove(queue)

    # grpc.aio recognises streaming handlers by being async generator functions.
    async def WatchAlerts(self, request: Any, context: Any) -> AsyncIterator[Any]:
        async for message in self._follow("alerts", request):
            yield message

    async def WatchLogs(self, request: Any, context: Any) -> AsyncIterator[Any]:
        async for message in self._follow("logs", request):
            yield message
