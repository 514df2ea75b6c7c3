"""Calling agencies' webhooks without letting a webhook URL reach inside our network.

An agency's webhook URL is chosen by whoever registers it, and the server POSTs to it: left
unchecked, `http://169.254.169.254/…` or `http://127.0.0.1:5432/` makes the server a probe of
its own network (blind SSRF), and `http://` sends identification news in clear text. So:

- HTTPS only; no user name or password in the URL;
- every address the host name resolves to must be a public unicast address (not private,
  loopback, link-local, multicast, reserved, unspecified, or an IPv4 address hidden in IPv6);
- the request goes to the address that was checked (the TLS name check still uses the host
  name), so a DNS answer that changes between the check and the connection (rebinding)
  cannot move it; redirects are not followed; proxy settings from the environment are ignored;
- the check runs when the webhook is registered and again before every call.

A lab without public HTTPS endpoints lists its receivers' networks in the allow-list
(`MEDIAMATCH_WEBHOOK_ALLOW=127.0.0.1/32,10.1.0.0/16`): addresses there may be private and
spoken to over plain HTTP.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]
TIMEOUT_S = 5.0


class WebhookRefused(ValueError):
    """The URL may not be called; the message says why."""


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused(f"the webhook host {host!r} does not resolve ({exc})") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers))


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Which addresses may be called besides public ones, over HTTP too (lab use)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> WebhookPolicy:
        """From addresses or networks (`127.0.0.1`, `10.1.0.0/16`, `::1`); ValueError if one is not."""
        return cls(tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()))

    def allows(self, address: IPAddress) -> bool:
        return any(address in network for network in self.allowed)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked webhook: the URL as given and the address the request must go to."""

    url: str
    host: str
    port: int
    address: IPAddress
    secure: bool


def _problem(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address, or None."""
    if isinstance(address, ipaddress.IPv6Address) and (mapped := address.ipv4_mapped or address.sixtofour) is not None:
        return _problem(mapped)
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "site_local", "private"):  # most telling first
        if getattr(address, f"is_{kind}", False):
            return kind.replace("_", "-")
    return None if address.is_global else "not globally routable"


def check_webhook(url: str, policy: WebhookPolicy, resolver: Resolver = resolve) -> Target:
    """The target `url` may be called at, or WebhookRefused saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookRefused("a webhook must be an https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("a webhook URL may not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookRefused("the webhook URL's port is not a number from 0 to 65535") from None
    addresses = resolver(parts.hostname, port)
    if not addresses:
        raise WebhookRefused(f"the webhook host {parts.hostname!r} has no address")
    for address in addresses:
        if not policy.allows(address) and (problem := _problem(address)) is not None:
            raise WebhookRefused(f"the webhook host {parts.hostname!r} resolves to {address}, a {problem} address")
    if parts.scheme == "http" and not all(policy.allows(address) for address in addresses):
        raise WebhookRefused("a webhook must use https:// (plain http only to addresses on the allow-list)")
    return Target(url, parts.hostname, port, addresses[0], parts.scheme == "https")


def post_json(url: str, payload: Mapping[str, object], policy: WebhookPolicy, *, resolver: Resolver = resolve, timeout: float = TIMEOUT_S) -> int:
    """Check `url` again and POST `payload` to the address checked; the HTTP status.
    WebhookRefused if it may not be called, httpx.HTTPError if the call fails."""
    target = check_webhook(url, policy, resolver)
    parts = urlsplit(url)
    literal = f"[{target.address}]" if target.address.version == 6 else str(target.address)
    pinned = urlunsplit((parts.scheme, f"{literal}:{target.port}", parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rpartition("@")[2]
    extensions = {"sni_hostname": target.host} if target.secure else {}
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("POST", pinned, json=dict(payload), headers={"Host": host_header}, extensions=extensions)
        return client.send(request).status_code
