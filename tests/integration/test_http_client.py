"""The guarded outbound HTTP client against real aiohttp servers on 127.0.0.1 (SPEC §8).

Only loopback is ever contacted: every refusal test targets 127.0.0.1 / ::1 / localhost, so
even a broken guard could not send a packet off this machine. Refusals of 10.x, 169.254.x and
friends are proven inside a network namespace (test_ssrf_netns.py).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import alertwire
from alertwire.delivery.http import GuardedResolver, HttpClient, SendError, TargetRefused
from alertwire.domain.ssrf import parse_allowed_targets

LOOPBACK = parse_allowed_targets("127.0.0.0/8")
BIG_BODY_TOTAL = 64 * 1024 * 1024


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Server:
    """Records every request; answers per path."""

    requests: list[Seen] = field(default_factory=list)
    big_written: int = 0
    big_done: asyncio.Event = field(default_factory=asyncio.Event)
    base: str = ""
    port: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(
            request.method, request.path, list(request.query.items()),
            list(request.headers.items()), await request.read(),
        ))
        path = request.path
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return web.Response(status=code, body=None if code == 204 else f"status {code}".encode())
        if path == "/headers":
            response = web.Response(text="h")
            for name, value in [("X-Multi", "one"), ("X-Other", "1"), ("X-Multi", "two"),
                                ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Multi", "three")]:
                response.headers.add(name, value)
            return response
        if path == "/big":
            return await self._big(request)
        if path == "/slow":
            await asyncio.sleep(5)
            return web.Response(text="late")
        if path == "/slow-body":
            stream = web.StreamResponse(status=202)
            await stream.prepare(request)
            await stream.write(b"partial")
            await asyncio.sleep(5)
            return stream
        if path == "/redirect":
            raise web.HTTPFound(f"{self.base}/redirect-target")
        if path == "/cookie":
            response = web.Response(text="c")
            response.set_cookie("session", "secret")
            return response
        return web.Response(text="hello, alertwire", headers={"X-Path": path})

    async def _big(self, request: web.Request) -> web.StreamResponse:
        """64 MiB in 64 KiB chunks; counts what the client let through before hanging up."""
        response = web.StreamResponse()
        response.content_length = BIG_BODY_TOTAL
        await response.prepare(request)
        chunk = b"0123456789abcdef" * 4096
        try:
            while self.big_written < BIG_BODY_TOTAL:
                await response.write(chunk)
                self.big_written += len(chunk)
        except (ConnectionError, OSError):
            pass
        finally:
            self.big_done.set()
        return response

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{state.port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(allowed=LOOPBACK)
    try:
        yield http
    finally:
        await http.close()


@pytest.fixture
async def guarded() -> AsyncIterator[HttpClient]:
    """Nothing allowed: the production default."""
    http = HttpClient()
    try:
        yield http
    finally:
        await http.close()


def header_values(seen: Seen, name: str) -> list[str]:
    return [value for key, value in seen.headers if key.lower() == name.lower()]


async def test_200_with_body(client: HttpClient, server: Server) -> None:
    """A 200 comes back with status, headers, body and a measured latency."""
    response = await client.send("GET", f"{server.base}/hello")
    assert response.status == 200
    assert response.body == b"hello, alertwire"
    assert ("X-Path", "/hello") in response.headers
    assert all(type(name) is str for name, _ in response.headers)
    assert 0 < response.latency_ms < 5000
    assert server.paths() == ["/hello"]


@pytest.mark.parametrize("code", [204, 422, 500])
async def test_status_codes_are_returned_not_raised(client: HttpClient, server: Server, code: int) -> None:
    """Non-2xx answers are Responses (the worker classifies them), never exceptions."""
    response = await client.send("POST", f"{server.base}/status/{code}", body=b"{}")
    assert response.status == code
    assert response.body == (b"" if code == 204 else f"status {code}".encode())


async def test_repeated_response_headers_keep_order(client: HttpClient, server: Server) -> None:
    """Response headers are an ordered list with repeats kept (Set-Cookie, X-Multi)."""
    response = await client.send("GET", f"{server.base}/headers")
    multi = [(n, v) for n, v in response.headers if n in ("X-Multi", "X-Other", "Set-Cookie")]
    assert multi == [("X-Multi", "one"), ("X-Other", "1"), ("X-Multi", "two"),
                     ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Multi", "three")]


async def test_large_body_is_truncated_and_not_downloaded(client: HttpClient, server: Server) -> None:
    """Only max_body bytes are read; the connection is dropped instead of draining 64 MiB."""
    started = time.perf_counter()
    response = await client.send("GET", f"{server.base}/big", max_body=100)
    assert response.body == (b"0123456789abcdef" * 7)[:100]
    assert dict(response.headers)["Content-Length"] == str(BIG_BODY_TOTAL)
    await asyncio.wait_for(server.big_done.wait(), 10)
    assert server.big_written < BIG_BODY_TOTAL // 2
    assert time.perf_counter() - started < 10


async def test_max_body_zero_reads_nothing(client: HttpClient, server: Server) -> None:
    """max_body=0 keeps status and headers, no body."""
    response = await client.send("GET", f"{server.base}/hello", max_body=0)
    assert (response.status, response.body) == (200, b"")


async def test_slow_handler_times_out(client: HttpClient, server: Server) -> None:
    """No answer within the timeout is SendError timeout, raised on time."""
    started = time.perf_counter()
    with pytest.raises(SendError) as caught:
        await client.send("GET", f"{server.base}/slow", timeout=0.5)
    assert caught.value.kind == "timeout"
    assert caught.value.message == "timed out after 0.5 s"
    assert time.perf_counter() - started < 2.5


async def test_stalled_body_keeps_status(client: HttpClient, server: Server) -> None:
    """Headers arrived, body stalls past the timeout: the answer stands with the bytes read."""
    started = time.perf_counter()
    response = await client.send("GET", f"{server.base}/slow-body", timeout=0.5)
    assert (response.status, response.body) == (202, b"partial")
    assert time.perf_counter() - started < 2.5


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_closed_port_is_connect_error(client: HttpClient, closed_port: int) -> None:
    """Nothing listening is SendError connect naming the address."""
    with pytest.raises(SendError) as caught:
        await client.send("GET", f"http://127.0.0.1:{closed_port}/")
    assert caught.value.kind == "connect"
    assert caught.value.message == f"connection refused by 127.0.0.1:{closed_port}"


async def test_params_become_the_query_string(client: HttpClient, server: Server) -> None:
    """params are appended to the URL's own query, encoded."""
    await client.send("GET", f"{server.base}/q?fixed=1", params={"a": "1", "b": "x y&z"})
    assert server.requests[0].query == [("fixed", "1"), ("a", "1"), ("b", "x y&z")]


async def test_redirect_is_returned_not_followed(client: HttpClient, server: Server) -> None:
    """A 302 is the Response; its Location is never requested."""
    response = await client.send("POST", f"{server.base}/redirect", body=b"{}")
    assert response.status == 302
    assert dict(response.headers)["Location"] == f"{server.base}/redirect-target"
    await asyncio.sleep(0.1)
    assert server.paths() == ["/redirect"]


async def test_default_user_agent_and_no_other_default_headers(client: HttpClient, server: Server) -> None:
    """GET carries Host and User-Agent: alertwire/<version>, nothing aiohttp invents."""
    await client.send("GET", f"{server.base}/ua")
    seen = server.requests[0]
    assert header_values(seen, "User-Agent") == [f"alertwire/{alertwire.__version__}"]
    assert {name.lower() for name, _ in seen.headers} == {"host", "user-agent"}


async def test_user_agent_override_case_insensitive(client: HttpClient, server: Server) -> None:
    """A caller's user-agent (any case) replaces the default rather than adding a second one."""
    await client.send("GET", f"{server.base}/ua", headers={"user-agent": "custom/1"})
    assert header_values(server.requests[0], "User-Agent") == ["custom/1"]


async def test_body_bytes_arrive_exactly(client: HttpClient, server: Server) -> None:
    """The body is sent as the raw bytes given, with only the caller's Content-Type."""
    payload = bytes(range(256)) * 3 + b'{"x": "\xc3\xa9"}'
    await client.send("PUT", f"{server.base}/body", body=payload,
                      headers={"Content-Type": "application/json", "X-Sig": "v1,abc"})
    seen = server.requests[0]
    assert (seen.method, seen.body) == ("PUT", payload)
    assert header_values(seen, "Content-Type") == ["application/json"]
    assert header_values(seen, "Content-Length") == [str(len(payload))]
    assert header_values(seen, "X-Sig") == ["v1,abc"]


async def test_no_content_type_is_invented(client: HttpClient, server: Server) -> None:
    """POST without a body, or with one but no Content-Type: aiohttp adds none."""
    await client.send("POST", f"{server.base}/nobody")
    await client.send("POST", f"{server.base}/bytes", body=b"raw")
    empty, raw = server.requests
    assert header_values(empty, "Content-Type") == []
    assert empty.body == b""
    assert header_values(raw, "Content-Type") == []
    assert raw.body == b"raw"


async def test_cookies_are_not_kept(client: HttpClient, server: Server) -> None:
    """A Set-Cookie from one response is not sent back with the next request."""
    await client.send("GET", f"{server.base}/cookie")
    await client.send("GET", f"{server.base}/after")
    assert header_values(server.requests[1], "Cookie") == []


async def test_hostname_allowed_by_resolved_address(client: HttpClient, server: Server) -> None:
    """localhost resolves (via /etc/hosts) to 127.0.0.1, which this client allows."""
    response = await client.send("GET", f"http://localhost:{server.port}/named")
    assert response.status == 200
    assert server.paths() == ["/named"]


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f.0.0.1", "0177.0.0.1", "127.0.0.1."])
async def test_odd_ipv4_spelling_connects_to_checked_address(
    client: HttpClient, server: Server, host: str
) -> None:
    """An allowed odd spelling is sent to its canonical address, keeping the original Host."""
    response = await client.send("GET", f"http://{host}:{server.port}/odd")
    assert response.status == 200
    assert header_values(server.requests[0], "Host") == [f"{host}:{server.port}"]


async def test_ipv4_mapped_literal_allowed_by_ipv4_range(client: HttpClient, server: Server) -> None:
    """[::ffff:127.0.0.1] is judged (and allowed) as 127.0.0.1 and reaches it."""
    try:
        response = await client.send("GET", f"http://[::ffff:127.0.0.1]:{server.port}/mapped")
    except SendError as exc:
        assert exc.kind == "connect", exc  # the guard let it through; the stack may lack v4-mapped
        pytest.skip(f"this network stack does not route IPv4-mapped IPv6: {exc.message}")
    assert response.status == 200
    assert server.paths() == ["/mapped"]


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "127.0.0.1 is a loopback address (localhost resolves to it)"),
        ("LOCALHOST", "127.0.0.1 is a loopback address (localhost resolves to it)"),
        ("[::1]", "::1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 reaches 127.0.0.1, which is a loopback address"),
        ("2130706433", "127.0.0.1 is a loopback address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("0x7f.0.0.1", "127.0.0.1 is a loopback address"),
        ("0177.0.0.1", "127.0.0.1 is a loopback address"),
        ("１２７.０.０.１", "127.0.0.1 is a loopback address"),  # fullwidth digits, IDNA-folded
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
    ],
)
async def test_unallowed_loopback_is_refused_and_never_reached(
    guarded: HttpClient, server: Server, host: str, reason: str
) -> None:
    """With no allowed targets, every spelling of this machine is refused before connecting."""
    with pytest.raises(SendError) as caught:
        await guarded.send("POST", f"http://{host}:{server.port}/secret", body=b"x")
    assert (caught.value.kind, caught.value.message) == ("refused", f"refused: {reason}")
    await asyncio.sleep(0.05)
    assert server.requests == []


async def test_allow_extends_targets_at_runtime(guarded: HttpClient, server: Server) -> None:
    """allow() opens a range for later requests on the same client, to the very URL that was
    refused before (what a URL was judged is remembered, but not a refusal)."""
    with pytest.raises(SendError):
        await guarded.send("GET", f"{server.base}/after")
    guarded.allow(LOOPBACK)
    assert (await guarded.send("GET", f"{server.base}/after")).status == 200
    assert server.paths() == ["/after"]


async def test_a_url_is_judged_once(client: HttpClient, server: Server,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delivery to an integration goes to the same URL: it is parsed and its address
    judged once, not per request (SPEC §10), and judged again once the rules change."""
    import alertwire.delivery.http as http_module

    judged: list[str] = []
    real = http_module.literal_address

    def counted(host: str) -> object:
        judged.append(host)
        return real(host)

    monkeypatch.setattr(http_module, "literal_address", counted)
    for _ in range(5):
        assert (await client.send("POST", f"{server.base}/hook", body=b"x")).status == 200
    assert judged == ["127.0.0.1"]
    client.allow(parse_allowed_targets("10.0.0.0/8"))
    assert (await client.send("POST", f"{server.base}/hook", body=b"x")).status == 200
    assert judged == ["127.0.0.1", "127.0.0.1"]


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/", "/relative/path", "http://", "http:///path", "127.0.0.1:80/x",
     "http://[::1/", "http://127.0.0.1:99999/", "http://1.2.3.4.5/", "http://08.0.0.1/",
     "http://99999999999/", "mailto:ops@example.com"],
)
async def test_invalid_urls(guarded: HttpClient, url: str) -> None:
    """Anything but an absolute http(s) URL with a usable host is SendError invalid_url."""
    with pytest.raises(SendError) as caught:
        await guarded.send("GET", url)
    assert caught.value.kind == "invalid_url", caught.value


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(text="tls")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed(tmp_path)).start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def test_untrusted_certificate_is_tls_error(
    client: HttpClient, tls_server: tuple[str, list[str]]
) -> None:
    """A self-signed certificate fails verification: SendError tls, request never sent."""
    base, seen = tls_server
    with pytest.raises(SendError) as caught:
        await client.send("GET", f"{base}/x")
    assert caught.value.kind == "tls"
    assert caught.value.message.startswith("TLS error: certificate verify failed"), caught.value
    assert seen == []


async def test_https_to_plain_http_is_tls_error(client: HttpClient, server: Server) -> None:
    """https:// to a plain-HTTP port fails the handshake: SendError tls."""
    with pytest.raises(SendError) as caught:
        await client.send("GET", f"https://127.0.0.1:{server.port}/x", timeout=5)
    assert caught.value.kind == "tls", caught.value


def result(host: str) -> ResolveResult:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return ResolveResult(hostname="name.example", host=host, port=443, family=family, proto=6, flags=0)


class FakeResolver(AbstractResolver):
    """Answers from a table; never touches the network."""

    def __init__(self, answers: list[ResolveResult]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return self.answers

    async def close(self) -> None:
        pass


async def test_resolver_returns_the_checked_results_object() -> None:
    """Public answers pass through as the very list aiohttp will connect to."""
    answers = [result("93.184.216.34"), result("2606:4700::1111")]
    resolver = GuardedResolver(lambda: (), FakeResolver(answers))
    assert await resolver.resolve("name.example", 443) is answers


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["93.184.216.34", "10.0.0.1"], "10.0.0.1 is a private address (name.example resolves to it)"),
        (["169.254.169.254"], "169.254.169.254 is a link-local address (name.example resolves to it)"),
        (["2606:4700::1111", "::ffff:a9fe:a9fe"],
         "::ffff:169.254.169.254 reaches 169.254.169.254, which is a link-local address "
         "(name.example resolves to it)"),
        (["fe80::1%eth0"], "fe80::1%eth0 is a link-local address (name.example resolves to it)"),
        (["not-an-ip"], "name.example resolved to 'not-an-ip', which is not an IP address"),
    ],
)
async def test_resolver_refuses_if_any_answer_is_refused(answers: list[str], reason: str) -> None:
    """One forbidden address among the answers refuses the whole lookup (no fallback to it)."""
    resolver = GuardedResolver(lambda: (), FakeResolver([result(a) for a in answers]))
    with pytest.raises(TargetRefused) as caught:
        await resolver.resolve("name.example", 443)
    assert caught.value.reason == reason


async def test_resolver_uses_current_allowed_targets() -> None:
    """The allowed list is read at each lookup, so HttpClient.allow() applies to names too."""
    allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    resolver = GuardedResolver(lambda: allowed, FakeResolver([result("10.0.0.1")]))
    with pytest.raises(TargetRefused):
        await resolver.resolve("name.example", 443)
    allowed.extend(parse_allowed_targets("10.0.0.0/8"))
    assert len(await resolver.resolve("name.example", 443)) == 1


def test_client_creates_nothing_until_used() -> None:
    """Constructing the client outside an event loop is fine: the session comes later."""
    http = HttpClient(LOOPBACK, limit=10, limit_per_host=2)
    assert http.allowed == LOOPBACK


async def test_close_then_reuse(server: Server) -> None:
    """close() is idempotent and a later send starts a fresh session."""
    http = HttpClient(LOOPBACK)
    await http.start()
    await http.close()
    await http.close()
    try:
        assert (await http.send("GET", f"{server.base}/again")).status == 200
    finally:
        await http.close()


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A proxy in the environment must be ignored (trust_env=False): point it at nothing."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield
