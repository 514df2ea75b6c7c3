"""Webhook URLs cannot reach inside the network: refused at registration and before every
call, every resolved address checked, the checked address pinned, no redirects. Only loopback
receivers are ever contacted here."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from mediamatch.services.webhooks import IPAddress, WebhookPolicy, WebhookRefused, check_webhook, post_json

LOOPBACK = WebhookPolicy.from_entries(["127.0.0.1/32"])
PUBLIC = "93.184.216.34"  # a public address: checked, never contacted in these tests


class Receiver(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, str, dict]]] = []  # (path, Host header, body)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Receiver.calls.append((self.path, self.headers["Host"], body))
        if self.path == "/moved":
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


def answers(*addresses: str) -> object:
    def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolver


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.7/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://localhost/hook", "loopback"),
        (f"http://{PUBLIC}/hook", "https"),
        (f"ftp://{PUBLIC}/hook", "https"),
        (f"https://user:secret@{PUBLIC}/hook", "password"),
    ],
)
def test_internal_and_clear_text_targets_are_refused(url: str, reason: str) -> None:
    with pytest.raises(WebhookRefused, match=reason):
        check_webhook(url, WebhookPolicy())


def test_a_public_https_target_passes() -> None:
    target = check_webhook(f"https://{PUBLIC}/hook", WebhookPolicy())
    assert (str(target.address), target.port, target.secure) == (PUBLIC, 443, True)


def test_every_resolved_address_is_checked() -> None:
    with pytest.raises(WebhookRefused, match=r"resolves to 10\.1\.2\.3"):
        check_webhook("https://hooks.example/x", WebhookPolicy(), answers(PUBLIC, "10.1.2.3"))
    assert str(check_webhook("https://hooks.example/x", WebhookPolicy(), answers(PUBLIC)).address) == PUBLIC


def test_the_allow_list_admits_lab_receivers_over_http(receiver: int) -> None:
    url = f"http://127.0.0.1:{receiver}/hook"
    with pytest.raises(WebhookRefused):
        post_json(url, {"kind": "test"}, WebhookPolicy())
    assert Receiver.calls == []
    assert post_json(url, {"kind": "test"}, LOOPBACK) == 204
    assert Receiver.calls == [("/hook", f"127.0.0.1:{receiver}", {"kind": "test"})]


def test_the_request_goes_to_the_address_checked(receiver: int) -> None:
    """DNS rebinding: the name is resolved once, checked, and that address is connected to."""
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[IPAddress]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1" if len(lookups) == 1 else "10.9.9.9")]

    assert post_json(f"http://hook.lab.test:{receiver}/in", {"n": 1}, LOOPBACK, resolver=rebinding) == 204
    assert lookups == ["hook.lab.test"]
    assert Receiver.calls == [("/in", f"hook.lab.test:{receiver}", {"n": 1})]  # the name is kept for the receiver
    with pytest.raises(WebhookRefused, match=r"10\.9\.9\.9"):  # the next call checks again
        post_json(f"http://hook.lab.test:{receiver}/in", {"n": 2}, LOOPBACK, resolver=rebinding)
    assert len(Receiver.calls) == 1


def test_redirects_are_not_followed(receiver: int) -> None:
    assert post_json(f"http://127.0.0.1:{receiver}/moved", {"n": 1}, LOOPBACK) == 307
    assert [path for path, _, _ in Receiver.calls] == ["/moved"]


def test_allow_list_entries_must_be_addresses_or_networks() -> None:
    assert WebhookPolicy.from_entries(["", " 10.1.0.0/16 ", "::1"]).allows(ipaddress.ip_address("10.1.2.3"))
    with pytest.raises(ValueError):
        WebhookPolicy.from_entries(["lab.example"])
