"""Where alerts go: the log, JSON lines, a webhook, hits recorded for human review.

Sinks are plain callables. The slow ones (webhook, recording a hit for review) run behind
`BackgroundSink`, a bounded queue and a thread of their own, so a slow webhook or a busy
database never stalls matching; when their queue is full they drop and log, like the frame
buffer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from queue import Full, Queue
from typing import IO

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.audit.trail import record
from mediamatch.media.stream import StreamEvent, public_name
from mediamatch.services.review import report_hit
from mediamatch.services.watch.alerts import Alert, AlertSink
from mediamatch.services.watch.frame_matchers import frame_signals
from mediamatch.signals.pdq import PDQSignal
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaSignal
from mediamatch.store.repo import DEFAULT_AGENCY

log = logging.getLogger("mediamatch.watch")


def log_alert(alert: Alert) -> None:
    log.warning("%s", alert.line())


class JsonLines:
    """One JSON object per line (alerts, and stream events if given them) on a text stream."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, item: Alert | StreamEvent) -> None:
        line = json.dumps(item.to_json(), ensure_ascii=False)
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()


class BackgroundSink:
    """Runs a slow sink in its own thread behind a bounded queue; `close()` drains it."""

    def __init__(self, sink: AlertSink, name: str, capacity: int = 1000) -> None:
        self.sink = sink
        self.name = name
        self.dropped = 0
        self._queue: Queue[Alert | None] = Queue(capacity)
        self._thread = threading.Thread(target=self._run, name=f"sink {name}", daemon=True)
        self._thread.start()

    def __call__(self, alert: Alert) -> None:
        try:
            self._queue.put_nowait(alert)
        except Full:
            self.dropped += 1
            log.error("%s is behind: alert dropped (%d so far): %s", self.name, self.dropped, alert.line())

    def close(self, timeout: float = 30.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (alert := self._queue.get()) is not None:
            try:
                self.sink(alert)
            except Exception:
                log.exception("%s failed for %s", self.name, alert.line())


class Webhook:
    """POSTs each alert as JSON; retried with backoff, a short timeout so a dead endpoint costs
    seconds, not the queue. Run it behind `BackgroundSink`."""

    def __init__(self, url: str, *, timeout: float = 5.0, attempts: int = 3, backoff: float = 0.5) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the webhook must be an http:// or https:// URL, not {public_name(url)!r}")
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def __call__(self, alert: Alert) -> None:
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.post(self.url, json=alert.to_json())
                if response.status_code < 500:
                    if response.is_error:
                        log.error("webhook refused the alert: HTTP %d", response.status_code)
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if attempt < self.attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        log.error("webhook failed after %d attempts (%s): %s", self.attempts, problem, alert.line())


class HitRecorder:
    """Records each alert as a hit pending human review (`services.review.report_hit`), with
    its `hit_reported` audit event in the same transaction.

    The hit names the catalogue row (indicator) the frame matched: the item's PDQ or
    video-frame hash closest to the frame's hash."""

    def __init__(self, engine: Engine, *, actor: str, agency: str = DEFAULT_AGENCY) -> None:
        self.engine = engine
        self.actor = actor
        self.agency = agency

    def __call__(self, alert: Alert) -> None:
        with session_scope(self.engine) as session:
            indicator = _closest_indicator(session, alert.media_id, alert.frame_pdq)
            if indicator is None:
                log.error("no PDQ indicator of media %d to record the hit on: %s", alert.media_id, alert.line())
                return
            hit = report_hit(
                session, signal=indicator.signal, value=alert.frame_pdq, signal_id=indicator.id,
                distance=PDQSignal.distance(indicator.value, alert.frame_pdq), reference=alert.stream[:500],
                agency_id=None, account_id=None, source="watch", stream_time=alert.stream_time,
                source_label=f"live stream {alert.stream}",
            )  # fmt: skip
            detail = {"source": "watch", "stream": alert.stream, "stream_time": round(alert.stream_time, 3), "media_id": alert.media_id}
            record(session, AuditEvent(self.actor, self.agency, AuditAction.HIT_REPORTED, "hit", str(hit.id), detail))


def _closest_indicator(session: Session, media_id: int, value: str) -> MediaSignal | None:
    rows = session.scalars(select(MediaSignal).where(MediaSignal.media_id == media_id, MediaSignal.signal.in_(frame_signals()))).all()
    return min(rows, key=lambda row: PDQSignal.distance(row.value, value), default=None)


def fan_out(*sinks: AlertSink) -> AlertSink:
    def send(alert: Alert) -> None:
        for sink in sinks:
            try:
                sink(alert)
            except Exception:
                log.exception("an alert sink failed for %s", alert.line())

    return send
