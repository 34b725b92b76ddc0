"""The one outbound HTTP client (SPEC §8): webhook deliveries, Test Connection and replays.

Every request passes the SSRF guard (alertwire.domain.ssrf):

* a literal host (127.0.0.1, [::1], 2130706433, 0x7f.1, …) is judged here, before aiohttp,
  because aiohttp never calls the resolver for IP literals;
* a host name goes through `GuardedResolver`, which refuses the whole lookup if any resolved
  address is refused. aiohttp connects to the very result list the guard approved, and the
  DNS cache is off, so a second lookup cannot swap in another address (no DNS rebinding).

Redirects are never followed, proxies from the environment are never used, and only the first
`max_body` bytes of a response are read.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

import alertwire
from alertwire.domain.ssrf import Network, literal_address, refusal_reason
from alertwire.inspector.own_bins import OwnBins

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
TARGET_CACHE_SIZE = 4096  # distinct URLs remembered (`HttpClient._target`)

# aiohttp adds these on its own; a webhook gets exactly the caller's headers plus User-Agent.
# (Content-Type: aiohttp would otherwise invent application/octet-stream, even for no body.)
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type")


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]  # in order, repeats kept
    body: bytes  # the first `max_body` bytes only
    latency_ms: float  # request start to response headers read

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive)."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def merged_headers(self) -> dict[str, str]:
        """Headers as an object, repeated ones joined with ", " as HTTP allows."""
        merged: dict[str, str] = {}
        for name, value in self.headers:
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        return merged


class SendError(Exception):
    """No HTTP answer. `kind`: refused (SSRF guard), timeout, connect, tls, invalid_url, other.
    `message` is for people: "refused: 10.0.0.1 is a private address", "timed out after 2.0 s"."""

    kind: str
    message: str

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"SendError({self.kind!r}, {self.message!r})"


class TargetRefused(OSError):
    """Raised inside aiohttp's connector by `GuardedResolver`; an OSError so that aiohttp wraps
    it (ClientConnectorDNSError) instead of treating it as a bug."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedResolver(AbstractResolver):
    """Resolves with `inner` (default: getaddrinfo in a thread, which honours /etc/hosts) and
    refuses the lookup when any resulting address is refused by the SSRF guard."""

    def __init__(
        self, allowed: Callable[[], Sequence[Network]], inner: AbstractResolver | None = None
    ) -> None:
        self._allowed = allowed
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = self._allowed()
        for result in results:
            try:
                addr = ipaddress.ip_address(result["host"])
            except ValueError:
                raise TargetRefused(
                    f"{host} resolved to {result['host']!r}, which is not an IP address"
                ) from None
            reason = refusal_reason(addr, allowed)
            if reason is not None:
                # Refuse all, not just this one: a name that also points inside is suspect,
                # and happy-eyeballs would otherwise fall back to whichever address answers.
                raise TargetRefused(f"{reason} ({host} resolves to it)")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _looks_like_ip(host: str) -> bool:
    # aiohttp's own test (helpers.is_ip_address): such hosts skip the resolver entirely.
    return ":" in host or host.replace(".", "").isdigit()


class HttpClient:
    """One aiohttp session for the whole process; nothing is created before the first use."""

    def __init__(
        self,
        allowed: Sequence[Network] = (),
        *,
        limit: int = 200,
        limit_per_host: int = 0,
        user_agent: str = f"alertwire/{alertwire.__version__}",
    ) -> None:
        self._allowed: list[Network] = list(allowed)
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._resolver: GuardedResolver | None = None
        self._own_bins: OwnBins | None = None
        # URL → what `_target` made of it. The answer depends only on the URL, the allowed
        # networks and the own bins, so it is forgotten when either changes; a host name is
        # still judged at every connection (`GuardedResolver`).
        self._targets: dict[str, tuple[URL, str | None]] = {}

    def route_own_bins(self, own_bins: OwnBins) -> None:
        """Let requests to this server's own inspector bins through the guard, connecting
        to the server's own listener whatever the URL's host resolves to."""
        self._own_bins = own_bins
        self._targets.clear()

    @property
    def allowed(self) -> tuple[Network, ...]:
        return tuple(self._allowed)

    def allow(self, networks: Sequence[Network]) -> None:
        """Extend the allowed targets at runtime; takes effect for the next request."""
        for network in networks:
            if network not in self._allowed:
                self._allowed.append(network)
        self._targets.clear()

    async def start(self) -> None:
        self._ensure_session()

    async def close(self) -> None:
        session, resolver = self._session, self._resolver
        self._session = self._resolver = None
        if session is not None:
            await session.close()
        if resolver is not None:
            # A resolver passed in is not owned (nor closed) by the connector.
            await resolver.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        # Synchronous on purpose: concurrent first calls cannot create two sessions.
        if self._session is None:
            self._resolver = GuardedResolver(lambda: self._allowed)
            connector = aiohttp.TCPConnector(
                resolver=self._resolver, use_dns_cache=False,
                limit=self._limit, limit_per_host=self._limit_per_host,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,  # never route through HTTP(S)_PROXY or read .netrc
                headers={"User-Agent": self._user_agent},
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                # Cookies from one receiver must not ride along to the next delivery.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    def _target(self, url: str) -> tuple[URL, str | None]:
        """The URL to request and, when its host had to be respelled, the Host header to keep.

        Raises SendError invalid_url / refused.
        """
        known = self._targets.get(url)
        if known is None:
            known = self._judge(url)
            if len(self._targets) >= TARGET_CACHE_SIZE:
                self._targets.clear()
            self._targets[url] = known
        return known

    def _judge(self, url: str) -> tuple[URL, str | None]:
        try:
            parsed = URL(url)
        except (ValueError, TypeError) as exc:
            raise SendError("invalid_url", f"invalid URL {url!r}: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.is_absolute():
            raise SendError("invalid_url", f"invalid URL {url!r}: not an absolute http(s) URL")
        host = parsed.raw_host
        if not host:
            raise SendError("invalid_url", f"invalid URL {url!r}: no host")
        if self._own_bins is not None and self._own_bins.matches(url):
            port = parsed.explicit_port
            own = parsed.with_host(self._own_bins.connect_host).with_port(
                self._own_bins.connect_port)
            return own, host if port is None else f"{host}:{port}"
        addr = literal_address(host)
        if addr is None:
            if _looks_like_ip(host):
                raise SendError("invalid_url", f"invalid URL {url!r}: {host} is not an IP address")
            return parsed, None  # a host name: judged by GuardedResolver after resolution
        reason = refusal_reason(addr, self._allowed)
        if reason is not None:
            raise SendError("refused", f"refused: {reason}")
        canonical = str(addr)
        if isinstance(addr, ipaddress.IPv4Address) and host != canonical:
            # aiohttp rejects 127.1, 0x7f.0.0.1… (and would hand some to getaddrinfo): connect
            # to the address that was checked, but tell the server the host it was given.
            port = parsed.explicit_port
            return parsed.with_host(canonical), host if port is None else f"{host}:{port}"
        return parsed, None

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] = _NO_HEADERS,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float = 15.0,
        max_body: int = 4096,
    ) -> Response:
        """One request, no redirects followed. Raises SendError for every network, TLS,
        timeout, URL or SSRF problem."""
        target, host_header = self._target(url)
        request_headers: CIMultiDict[str] = CIMultiDict(headers)
        if host_header is not None and "Host" not in request_headers:
            request_headers["Host"] = host_header
        session = self._ensure_session()
        started = time.perf_counter()
        try:
            response = await session.request(
                method, target, headers=request_headers, data=body, params=params,
                allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout),
            )
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise _send_error(exc, timeout) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        complete = False
        try:
            body_read, complete = await _read_some(response, max_body)
        finally:
            if complete:
                response.release()  # back to the pool for the next delivery
            else:
                response.close()  # unread body: drop the connection rather than drain it
        return Response(
            status=response.status,
            headers=[(str(name), value) for name, value in response.headers.items()],
            body=body_read, latency_ms=latency_ms,
        )


async def _read_some(response: aiohttp.ClientResponse, max_body: int) -> tuple[bytes, bool]:
    """Up to `max_body` bytes of the body, and whether the body ended within them.

    A body that breaks off or stalls past the timeout after the status arrived keeps what was
    read: the receiver has answered, and its status is what decides the delivery.
    """
    data = bytearray()
    try:
        while len(data) < max_body:
            chunk = await response.content.read(max_body - len(data))
            if not chunk:
                return bytes(data), True
            data += chunk
    except (aiohttp.ClientError, OSError):
        return bytes(data), False
    return bytes(data), response.content.at_eof()


def _send_error(exc: BaseException, timeout: float) -> SendError:
    """aiohttp's exception → SendError with a message a person can act on."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError) and isinstance(exc.os_error, TargetRefused):
        return SendError("refused", f"refused: {exc.os_error.reason}")
    if isinstance(exc, asyncio.TimeoutError):
        return SendError("timeout", f"timed out after {float(timeout)} s")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error: Any = exc.certificate_error
        detail = getattr(cert_error, "verify_message", None) or str(cert_error)
        return SendError("tls", f"TLS error: certificate verify failed: {detail}")
    if isinstance(exc, aiohttp.ClientConnectorSSLError | ssl.SSLError):
        os_error: Any = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
        detail = getattr(os_error, "reason", None) or os_error.strerror or str(os_error)
        return SendError("tls", f"TLS error: {detail}")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return SendError("connect", f"could not resolve {exc.host}: {_os_detail(exc.os_error)}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
        if exc.os_error.errno == errno.ECONNREFUSED:
            return SendError("connect", f"connection refused by {where}")
        return SendError("connect", f"could not connect to {where}: {_os_detail(exc.os_error)}")
    if isinstance(exc, aiohttp.InvalidURL):
        return SendError("invalid_url", f"invalid URL: {exc}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return SendError("connect", "the server closed the connection without answering")
    if isinstance(exc, aiohttp.ClientOSError):
        return SendError("connect", f"connection error: {_os_detail(exc)}")
    if isinstance(exc, aiohttp.ClientResponseError):
        return SendError("other", f"invalid HTTP response: {exc.message}")
    if isinstance(exc, ValueError):
        return SendError("other", f"invalid request: {exc}")
    return SendError("other", f"{type(exc).__name__}: {exc}")


def _os_detail(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__
