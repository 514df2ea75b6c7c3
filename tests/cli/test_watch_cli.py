"""`mediamatch watch` as a user runs it: a stream piped to stdin alerts as JSON on stdout, to a
webhook and as a hit for review; Ctrl-C on a stream that keeps reconnecting stops cleanly;
a source that cannot be read gives a clear message and exit status 1.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.stream_fixtures import clip_pngs, free_port, known_clip, stream_video

COMMAND = [sys.executable, "-m", "mediamatch.cli.main"]


def mediamatch(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, timeout=300)


class Receiver(BaseHTTPRequestHandler):
    """A webhook endpoint that keeps what it was sent."""

    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_piped_stream_alerts_on_stdout_to_a_webhook_and_for_review(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    known = known_clip(tmp_path / "clip.mp4", seed=1)
    clip_pngs(tmp_path / "known", known)
    added = mediamatch("db", "add", str(tmp_path / "known"), "--series", "Kestrel", "--db", db, "--workers", "1")
    assert added.returncode == 0, added.stderr.decode()
    video, clip = stream_video(tmp_path / "stream.ts", known, at=3, seconds=4.5)
    stream = video.read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received = []
    try:
        result = mediamatch("watch", "-", "--db", db, "--json", "--record-hits", "--webhook", f"http://127.0.0.1:{server.server_port}/hook", stdin=stream)
    finally:
        server.shutdown()
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [(line["type"], line.get("event")) for line in lines if line["type"] == "event"] == [("event", "opened"), ("event", "ended")]
    [alert] = [line for line in lines if line["type"] == "alert"]
    assert alert["stream"] == "stdin" and alert["series"] == ["Kestrel"] and clip[0] <= alert["stream_time"] < clip[1]
    assert alert["latency"] > 0 and alert["distance"] <= 31
    assert Receiver.received == [alert]  # the webhook got the same alert
    assert f"ALERT stdin at {alert['stream_time']:.1f} s: known material (Kestrel" in stderr  # the log line
    assert "stdin: ended, 75 frames read, 8 sampled, 0 dropped, 3 low quality, 3 matched, 1 alert(s)" in stderr
    with sqlite3.connect(tmp_path / "catalogue.sqlite") as conn:
        hits = conn.execute("SELECT id, source, status, reference, stream_time FROM hits").fetchall()
        audit = conn.execute("SELECT actor, action, object_id FROM audit_events WHERE action = 'hit_reported'").fetchall()
    assert [hit[1:] for hit in hits] == [("watch", "pending", "stdin", alert["stream_time"])]
    assert [(action, object_id) for _, action, object_id in audit] == [("hit_reported", str(hits[0][0]))] and audit[0][0].startswith("cli:")


def new_catalogue(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    assert mediamatch("db", "init", "--db", db).returncode == 0
    return db


PARENT_SIGINT = {
    "as usual": None,
    # What a background job of a non-interactive shell (or a test runner's worker) may hand down:
    "ignored": lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    "blocked": lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}),
}


@pytest.mark.parametrize("parent", PARENT_SIGINT)
def test_ctrl_c_stops_a_watch_that_is_reconnecting(tmp_path: Path, parent: str) -> None:
    db = new_catalogue(tmp_path)
    url = f"tcp://127.0.0.1:{free_port()}"  # nobody listens: reconnects forever
    command = [*COMMAND, "watch", url, "--db", db, "--max-reconnects", "-1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=PARENT_SIGINT[parent])
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"reconnecting" not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    output = (seen + rest).decode()
    assert process.returncode == 0, output
    assert "stopped by Ctrl-C" in output and f"{url}: stopped" in output and "Traceback" not in output


def test_unreadable_sources_and_bad_options_are_clear_errors(tmp_path: Path) -> None:
    db = new_catalogue(tmp_path)
    missing = mediamatch("watch", str(tmp_path / "nothing.mp4"), "--db", db)
    assert missing.returncode == 1
    assert f"file not found: {tmp_path / 'nothing.mp4'}" in missing.stderr.decode()
    bad_rate = mediamatch("watch", "-", "--rate", "0", "--db", db)
    assert bad_rate.returncode == 2 and "sample rate must be a positive number" in bad_rate.stderr.decode()
    bad_hook = mediamatch("watch", "-", "--webhook", "ftp://example/hook", "--db", db)
    assert bad_hook.returncode == 2 and "the webhook must be an http:// or https:// URL" in bad_hook.stderr.decode()
    same_name = mediamatch("watch", "a=x.mp4", "a=y.mp4", "--db", db)
    assert same_name.returncode == 2 and "two streams have the same name (a)" in same_name.stderr.decode()
