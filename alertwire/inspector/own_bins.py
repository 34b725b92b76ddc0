"""The server's own bins are always a permitted target (SPEC §7, §8): an integration can
point at `http://127.0.0.1:8080/hooks/<bin>` without opening loopback to every URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from alertwire.settings import Settings

HOOKS_PREFIX = "/hooks/"
_ANY_ADDRESS = ("0.0.0.0", "::", "")


def _origin(scheme: str, host: str, port: int | None) -> str:
    default = 443 if scheme == "https" else 80
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host.lower()}:{port or default}"


@dataclass(frozen=True)
class OwnBins:
    """Which URLs reach this server's bins, and the address their requests connect to."""

    origins: frozenset[str]
    connect_host: str
    connect_port: int

    @classmethod
    def from_settings(cls, settings: Settings) -> OwnBins:
        listen = settings.host
        connect_host = "127.0.0.1" if listen in _ANY_ADDRESS or listen == "localhost" else listen
        hosts = {"127.0.0.1", "localhost", connect_host}
        if listen in ("::",):
            hosts.add("::1")
        origins = {_origin("http", h, settings.port) for h in hosts}
        base = urlsplit(settings.base_url)
        if base.hostname:
            origins.add(_origin(base.scheme, base.hostname, base.port))
        return cls(frozenset(origins), connect_host, settings.port)

    def matches(self, url: str) -> bool:
        """True for a URL under `/hooks/` on one of this server's own origins."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        try:
            port = parts.port
        except ValueError:
            return False
        if ".." in parts.path.split("/"):
            return False
        return (parts.path.startswith(HOOKS_PREFIX)
                and _origin(parts.scheme, parts.hostname, port) in self.origins)
