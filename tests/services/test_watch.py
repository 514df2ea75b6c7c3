"""Watching real streams served on loopback by Debian's ffmpeg (`-re`, MPEG-TS over TCP): a known
clip spliced into a benign video raises one alert inside the clip's time range; a dropped
connection is reopened; a slow matcher makes frames drop (counted) instead of piling up; two
streams alert on their own clips; a dead source fails clearly while the others go on; a slow,
failing webhook is retried in its own thread and never holds up matching.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa

from mediamatch.audit import trail
from mediamatch.audit.events import AuditAction
from mediamatch.media.stream import StreamEvent, StreamOptions, StreamSource
from mediamatch.services.samples import generated_video
from mediamatch.services.watch.alerts import Alert, KnownMatch
from mediamatch.services.watch.frame_matchers import CatalogueFrameMatcher, FramePdq
from mediamatch.services.watch.sinks import BackgroundSink, HitRecorder, Webhook
from mediamatch.services.watch.watcher import Watcher, WatchOptions, watch
from mediamatch.store.db import migrate, open_engine, session_scope
from mediamatch.store.models.review import Hit
from tests.stream_fixtures import FPS, SIZE, LoopbackSender, catalogue_clip, free_port, known_clip, need_ffmpeg, stream_video

FAST = StreamOptions(backoff_initial=0.2, backoff_max=1.0, open_timeout=5, read_timeout=5, max_reconnects=10)


def sqlite_engine(tmp_path: Path) -> sa.Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'catalogue.sqlite'}")
    migrate(engine)
    return engine


def wait_for(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)
    assert condition(), "condition not reached"  # type: ignore[operator]


def in_range(alert: Alert, clip: tuple[float, float]) -> bool:
    return clip[0] - 0.01 <= alert.stream_time < clip[1]


def test_a_known_clip_in_a_live_stream_raises_one_alert_and_a_hit_for_review(engine: sa.Engine, tmp_path: Path) -> None:
    need_ffmpeg()
    known = known_clip(tmp_path / "clip.mp4", seed=1)
    catalogue_clip(engine, tmp_path / "known", known, "Kestrel")
    video, clip = stream_video(tmp_path / "stream.mp4", known, at=3, seconds=5)  # the clip at 3-6 s of 8
    alerts: list[Alert] = []
    recorder = HitRecorder(engine, actor="watch-test")
    with LoopbackSender(video, free_port()) as sender:
        statuses = watch(
            [StreamSource.parse(f"room-17={sender.url}")], CatalogueFrameMatcher.open(engine),
            on_alert=lambda alert: (alerts.append(alert), recorder(alert)),
            options=WatchOptions(stream=StreamOptions(max_reconnects=0, sample_rate=2)),
        )  # fmt: skip
    [alert] = alerts  # the clip matched on every sampled frame, and alerted once
    assert alert.stream == "room-17" and in_range(alert, clip)
    assert alert.series == ("Kestrel",) and alert.signal == "pdq" and alert.distance <= 31 and alert.quality >= 50
    assert 0 < alert.latency < 5 and alert.at.tzinfo is not None
    [status] = statuses
    assert status.matched == 6 and status.alerts == 1 and status.dropped == 0 and status.hashed == status.sampled
    with session_scope(engine) as session:
        [hit] = session.scalars(sa.select(Hit)).all()
        assert (hit.source, hit.status, hit.reference, hit.signal, hit.value) == ("watch", "pending", "room-17", "pdq", alert.frame_pdq)
        assert hit.stream_time == pytest.approx(alert.stream_time) and hit.indicator.media_id == alert.media_id
        assert hit.distance <= alert.distance  # the closest of the item's hashes is the indicator
        [event] = trail.query(session, trail.AuditFilter(actions=(AuditAction.HIT_REPORTED,)))
        assert (event.actor, event.object_type, event.object_id) == ("watch-test", "hit", str(hit.id))
        assert json.loads(event.detail) == {"source": "watch", "stream": "room-17", "stream_time": round(alert.stream_time, 3), "media_id": alert.media_id}


def test_a_dropped_connection_is_reopened_and_the_stream_still_alerts(tmp_path: Path) -> None:
    need_ffmpeg()
    engine = sqlite_engine(tmp_path)
    known = known_clip(tmp_path / "clip.mp4", seed=1)
    catalogue_clip(engine, tmp_path / "known", known, "Kestrel")
    video, clip = stream_video(tmp_path / "stream.mp4", known, at=6, seconds=7)  # the first connection never gets to 6 s
    alerts: list[Alert] = []
    events: list[StreamEvent] = []
    port = free_port()
    sender = LoopbackSender(video, port).start()
    watcher = Watcher(
        [StreamSource.parse(sender.url)], CatalogueFrameMatcher.open(engine), on_alert=alerts.append, on_event=events.append, options=WatchOptions(stream=FAST)
    )
    watcher.start()
    try:
        wait_for(lambda: watcher.status()[0].frames_read > 0)
        sender.stop()  # the broadcaster's connection drops mid-stream
        wait_for(lambda: any(e.kind == "reconnecting" for e in events))
        dropped_at = time.time()
        sender = LoopbackSender(video, port).start()  # and comes back, playing from the start
        wait_for(lambda: len(alerts) > 0)
    finally:
        sender.stop()
        watcher.stop()
    assert [e.kind for e in events][:2] == ["opened", "reconnecting"] and events[1].message.startswith("the stream ended")
    assert sum(e.kind == "opened" for e in events) == 2
    [alert] = alerts
    assert in_range(alert, clip) and alert.at.timestamp() > dropped_at
    assert watcher.status()[0].reconnects >= 1


def test_a_udp_stream_pushed_by_an_encoder_alerts_and_its_silence_ends_it(tmp_path: Path) -> None:
    ffmpeg = need_ffmpeg()
    engine = sqlite_engine(tmp_path)
    known = known_clip(tmp_path / "clip.mp4", seed=1)
    catalogue_clip(engine, tmp_path / "known", known, "Kestrel")
    video, clip = stream_video(tmp_path / "stream.mp4", known, at=2, seconds=3)
    url = f"udp://127.0.0.1:{free_port()}"
    alerts: list[Alert] = []
    options = WatchOptions(stream=StreamOptions(max_reconnects=0, open_timeout=30, read_timeout=2))
    watcher = Watcher([StreamSource("udp", url)], CatalogueFrameMatcher.open(engine), on_alert=alerts.append, options=options)
    watcher.start()
    try:
        wait_for(lambda: watcher.status()[0].state == "connecting")  # listening before the encoder sends
        time.sleep(0.5)  # the reader binds the port as it opens
        subprocess.run(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-i", str(video), "-c", "copy", "-f", "mpegts", f"{url}?pkt_size=1316"],
            check=True,
            timeout=60,
        )
        assert watcher.wait(30)
    finally:
        watcher.stop()
    [alert] = alerts
    assert alert.stream == "udp" and in_range(alert, clip)
    [status] = watcher.status()
    assert status.state == "failed" and status.error == "no data for 2 s; gave up after 0 reconnect attempt(s)"  # UDP has no end but silence


class SlowMatcher:
    """A matcher that takes 0.5 s per call, and notes how much was waiting each time."""

    def __init__(self, watcher_box: list[Watcher]) -> None:
        self.box = watcher_box
        self.waiting: list[int] = []

    def match_frames(self, pdqs: Sequence[FramePdq]) -> list[list[KnownMatch]]:
        self.waiting.append(self.box[0].buffer.waiting("slow"))
        time.sleep(0.5)
        return [[] for _ in pdqs]


def test_a_slow_matcher_drops_and_counts_frames_instead_of_piling_them_up(tmp_path: Path) -> None:
    video = generated_video(tmp_path / "stream.mp4", seconds=6, fps=FPS, size=SIZE, seed=3)
    box: list[Watcher] = []
    matcher = SlowMatcher(box)
    events: list[StreamEvent] = []
    options = WatchOptions(stream=StreamOptions(sample_rate=10, realtime=True, queue_size=2), workers=1)
    watcher = Watcher([StreamSource("slow", str(video))], matcher, on_alert=lambda alert: None, on_event=events.append, options=options)
    box.append(watcher)
    watcher.start()
    assert watcher.wait(60)
    watcher.stop()
    [status] = watcher.status()
    assert status.sampled == 60 and status.dropped > 15  # 10 frames/s arrive, about 4 a second are matched
    assert status.hashed + status.dropped == status.sampled  # every frame is either matched or counted
    assert max(matcher.waiting) <= 2  # never more than the queue holds
    drops = [e for e in events if e.kind == "dropped"]
    assert drops and drops[0].message.startswith("matching is behind: dropped 1 frame(s)")
    assert drops[-1].message.endswith(f"({status.dropped} in all)")


def test_two_streams_at_once_each_alert_on_their_own_clip(tmp_path: Path) -> None:
    need_ffmpeg()
    engine = sqlite_engine(tmp_path)
    kestrel, osprey = known_clip(tmp_path / "kestrel.mp4", seed=1), known_clip(tmp_path / "osprey.mp4", seed=2)
    catalogue_clip(engine, tmp_path / "kestrel", kestrel, "Kestrel")
    catalogue_clip(engine, tmp_path / "osprey", osprey, "Osprey")
    video_a, clip_a = stream_video(tmp_path / "a.mp4", kestrel, at=1, seconds=4, seed=901)
    video_b, clip_b = stream_video(tmp_path / "b.mp4", osprey, at=4, seconds=4, seed=902)
    alerts: list[Alert] = []
    lock = threading.Lock()

    def collect(alert: Alert) -> None:
        with lock:
            alerts.append(alert)

    with LoopbackSender(video_a, free_port()) as a, LoopbackSender(video_b, free_port()) as b:
        statuses = watch(
            [StreamSource("a", a.url), StreamSource("b", b.url)], CatalogueFrameMatcher.open(engine),
            on_alert=collect, options=WatchOptions(stream=StreamOptions(max_reconnects=0)),
        )  # fmt: skip
    by_stream = {alert.stream: alert for alert in alerts}
    assert len(alerts) == 2 and set(by_stream) == {"a", "b"}
    assert by_stream["a"].series == ("Kestrel",) and in_range(by_stream["a"], clip_a)
    assert by_stream["b"].series == ("Osprey",) and in_range(by_stream["b"], clip_b)
    assert all(status.frames_read > 0 and status.dropped == 0 for status in statuses)


def test_a_dead_or_corrupt_source_fails_clearly_and_the_other_streams_go_on(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    known = known_clip(tmp_path / "clip.mp4", seed=1)
    catalogue_clip(engine, tmp_path / "known", known, "Kestrel")
    good, clip = stream_video(tmp_path / "good.mp4", known, at=1, seconds=3)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(good.read_bytes()[:64] + bytes(5000))  # the header of a video, then nothing usable
    closed_port = free_port()
    events: list[StreamEvent] = []
    alerts: list[Alert] = []
    sources = [
        StreamSource("good", str(good)),
        StreamSource("corrupt", str(corrupt)),
        StreamSource("missing", str(tmp_path / "gone.mp4")),
        StreamSource("down", f"tcp://127.0.0.1:{closed_port}"),
    ]
    options = WatchOptions(stream=StreamOptions(max_reconnects=2, backoff_initial=0.1, open_timeout=2, read_timeout=2))
    statuses = {s.name: s for s in watch(sources, CatalogueFrameMatcher.open(engine), on_alert=alerts.append, on_event=events.append, options=options)}
    assert {name: s.state for name, s in statuses.items()} == {"good": "ended", "corrupt": "failed", "missing": "failed", "down": "failed"}
    assert statuses["missing"].error == f"file not found: {tmp_path / 'gone.mp4'}"
    assert statuses["corrupt"].error == "not a readable media stream (invalid or corrupt data)"
    assert statuses["down"].error == "cannot open: Connection refused; gave up after 2 reconnect attempt(s)"
    assert [e.kind for e in events if e.stream == "down"] == ["reconnecting", "reconnecting", "failed"]
    [alert] = alerts
    assert alert.stream == "good" and in_range(alert, clip)


class HeldWebhook(BaseHTTPRequestHandler):
    """An endpoint that fails its first call (503) and then holds every call until released."""

    calls: ClassVar[int] = 0
    release: ClassVar[threading.Event] = threading.Event()
    bodies: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        HeldWebhook.calls += 1
        if HeldWebhook.calls > 1:
            HeldWebhook.release.wait(30)
            HeldWebhook.bodies.append(body)
        self.send_response(503 if HeldWebhook.calls == 1 else 204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_slow_failing_webhook_is_retried_without_holding_up_matching() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HeldWebhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    alerts = [Alert("room", float(n), datetime.now(timezone.utc), 0.01, n, ("Kestrel",), "pdq", 3, "ab" * 32, 90) for n in range(4)]
    sink = BackgroundSink(Webhook(f"http://127.0.0.1:{server.server_port}/hook", timeout=30, backoff=0.01), "webhook", capacity=2)
    try:
        sink(alerts[0])
        wait_for(lambda: HeldWebhook.calls == 2)  # refused once, retried, and now held by the endpoint
        for alert in alerts[1:]:
            sink(alert)  # returns at once: two wait in the queue, the third is dropped and counted
        assert sink.dropped == 1 and HeldWebhook.bodies == []
        HeldWebhook.release.set()
        sink.close()
    finally:
        server.shutdown()
    assert HeldWebhook.bodies == [alert.to_json() for alert in alerts[:3]]


def test_a_platform_watches_a_stream_against_a_signed_hash_list(tmp_path: Path) -> None:
    """No catalogue at the platform: the known clip reaches it only as a signed list of frame
    hashes; the alert names the indicator (a frame of the known video), never a series."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from mediamatch.services.contribute import ContributionRequest, contribute
    from mediamatch.services.hashlists import export_hashlist, set_consent
    from mediamatch.services.platform_matcher import HashListMatcher
    from mediamatch.services.watch.frame_matchers import HashListFrameMatcher
    from mediamatch.store.models.catalogue import MediaSignal

    engine = open_engine(f"sqlite:///{tmp_path / 'hotline.sqlite'}")
    migrate(engine)
    known = known_clip(tmp_path / "clip.mp4", seed=3)
    [outcome] = contribute(engine, [known], ContributionRequest(series="Kestrel", agency="Hotline"), workers=1)
    key = Ed25519PrivateKey.generate()
    with session_scope(engine) as session:
        set_consent(session, "Hotline", True, actor="test", actor_agency="Hotline")
    export_hashlist(engine, tmp_path / "list.mmhl", key, actor="test", agency="Hotline", name="known")
    with session_scope(engine) as session:
        frame_rows = set(session.scalars(sa.select(MediaSignal.id).where(MediaSignal.media_id == outcome.media_id, MediaSignal.signal == "vpdq")))
    engine.dispose()

    video, clip = stream_video(tmp_path / "stream.mp4", known, at=2, seconds=5)
    matcher = HashListFrameMatcher(HashListMatcher.from_hashlist(tmp_path / "list.mmhl", key.public_key()))
    alerts: list[Alert] = []
    watch([StreamSource.parse(str(video))], matcher, on_alert=alerts.append, options=WatchOptions(stream=StreamOptions(sample_rate=2)))
    [alert] = alerts
    assert in_range(alert, clip) and alert.signal == "vpdq" and alert.distance <= 31
    assert alert.media_id in frame_rows and alert.series == ()
    assert "indicator" in alert.line()
