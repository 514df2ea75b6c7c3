"""`mediamatch watch`: match live streams against the catalogue while they run."""

from __future__ import annotations

import logging
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.live import Live
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from mediamatch.cli.common import DbOption, console, local_actor, open_catalogue

if TYPE_CHECKING:
    from mediamatch.services.watch.watcher import StreamStatus

EVENT_STYLES = {"opened": "green", "dropped": "yellow", "reconnecting": "yellow", "ended": "blue", "failed": "red", "stopped": "blue"}


def watch_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Streams: a file, - (stdin), a FIFO, or an rtmp://, http(s):// (HLS), srt://, udp://, tcp://, rtsp:// URL. NAME=URL names a stream in alerts.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    rate: Annotated[float, typer.Option("--rate", help="Frames sampled per second of stream time.")] = 1.0,
    realtime: Annotated[
        bool,
        typer.Option(
            "--realtime", help="Play files at their own speed, as a live stream arrives (like ffmpeg -re); otherwise files are read as fast as matching allows."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print alerts and stream events as one JSON object per line on stdout.")] = False,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST every alert as JSON to this URL (retried; never stalls matching).", show_default=False)
    ] = None,
    record_hits: Annotated[bool, typer.Option("--record-hits", help="Record every alert in the catalogue as a hit pending human review.")] = False,
    max_reconnects: Annotated[
        int, typer.Option("--max-reconnects", min=-1, help="Reopen a dropped URL this many times in a row before giving up; -1: forever.")
    ] = 10,
    queue: Annotated[
        int, typer.Option("--queue", min=1, help="Sampled frames kept waiting per stream; when matching is behind the oldest is dropped (and counted).")
    ] = 8,
    dedupe: Annotated[float, typer.Option("--dedupe", min=0, help="Seconds during which a stream alerts on the same known series or item only once.")] = 60.0,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds to wait for a source to open or send data before reconnecting.")] = 10.0,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Threads that hash and match sampled frames.")] = 2,
    hashlist: Annotated[
        Path | None,
        typer.Option(
            "--hashlist", help="Match against this signed hash list instead of a catalogue (what a platform runs); needs --public-key.", show_default=False
        ),
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="The list publisher's Ed25519 public key, to verify --hashlist.", show_default=False)
    ] = None,
) -> None:
    """Watch live streams (or files, pipes) for known material: sample frames, match each one
    against the catalogue as it arrives, and alert with stream time and latency. Runs until
    every stream has ended or failed; Ctrl-C stops cleanly. Exit status 1 if a stream failed."""
    try:  # PyAV is the `video` extra: imported here so the other commands work without it
        from mediamatch.hashlist.format import HashListError
        from mediamatch.media.stream import StreamEvent, StreamOptions, StreamSource
        from mediamatch.services.platform_matcher import HashListMatcher
        from mediamatch.services.watch.alerts import AlertSink
        from mediamatch.services.watch.frame_matchers import CatalogueFrameMatcher, HashListFrameMatcher, StreamFrameMatcher
        from mediamatch.services.watch.sinks import BackgroundSink, HitRecorder, JsonLines, Webhook, fan_out, log_alert
        from mediamatch.services.watch.watcher import Watcher, WatchOptions
    except ImportError as exc:
        if exc.name != "av":
            raise
        console.print("[red]error:[/] watching streams needs PyAV: pip install 'mediamatch[video]'")
        raise typer.Exit(code=2) from None
    try:
        options = WatchOptions(
            stream=StreamOptions(
                sample_rate=rate, realtime=realtime, queue_size=queue,
                max_reconnects=None if max_reconnects < 0 else max_reconnects,
                open_timeout=timeout, read_timeout=timeout,
            ),
            workers=workers,
            dedupe_seconds=dedupe,
        )  # fmt: skip
        parsed = [StreamSource.parse(source) for source in sources]
        hook = Webhook(webhook) if webhook else None
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    if hashlist is not None and (public_key is None or record_hits):
        console.print("[red]error:[/] --hashlist needs --public-key, and its alerts are reported to the list's publisher, not recorded with --record-hits")
        raise typer.Exit(code=2)
    _log_to_console()
    _ctrl_c_stops()
    if hashlist is not None and public_key is not None:  # --hashlist without --public-key was refused above
        try:
            matcher: StreamFrameMatcher = HashListFrameMatcher(HashListMatcher.from_hashlist(hashlist, public_key))
        except (HashListError, OSError, ValueError) as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(code=2) from None
    else:
        engine = open_catalogue(db)
        matcher = CatalogueFrameMatcher.open(engine)
    json_out = JsonLines(sys.stdout) if as_json else None
    background: list[BackgroundSink] = [BackgroundSink(hook, "webhook")] if hook else []
    background += [BackgroundSink(HitRecorder(engine, actor=local_actor()), "hit recorder")] if record_hits else []
    sinks: list[AlertSink] = [log_alert, *background, *([json_out] if json_out else [])]

    def on_event(event: StreamEvent) -> None:
        style = EVENT_STYLES.get(event.kind, "")
        console.print(f"[{style}]{escape(event.stream)}: {event.kind}[/] {escape(event.message)}", highlight=False)
        if json_out:
            json_out(event)

    try:
        watcher = Watcher(parsed, matcher, on_alert=fan_out(*sinks), on_event=on_event, options=options)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    interrupted = False
    try:
        watcher.start()
        with (
            Live(_table(watcher.status()), console=console, refresh_per_second=2, transient=True, redirect_stdout=False)
            if console.is_terminal
            else nullcontext() as live
        ):
            while not watcher.wait(timeout=0.5):
                if live is not None:
                    live.update(_table(watcher.status()))
    except KeyboardInterrupt:
        interrupted = True
        console.print("stopping…")
    finally:
        watcher.stop()
        for sink in background:
            sink.close()
    final = watcher.status()
    _summary(final, interrupted)
    if any(status.state == "failed" for status in final):
        raise typer.Exit(code=1)


def _ctrl_c_stops() -> None:
    """Make Ctrl-C (SIGINT) stop the watch cleanly even where its parent started it with SIGINT
    ignored or blocked (a background job of a non-interactive shell, some supervisors, a test
    runner's worker): both survive exec, and Python leaves an ignored SIGINT ignored, so the
    watch would reconnect forever, deaf to the one signal its help promises to obey."""
    import signal

    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _log_to_console() -> None:
    """Alert lines and sink failures go to stderr: through Rich on a terminal (above the live
    status), as plain timestamped lines when piped."""
    logger = logging.getLogger("mediamatch")
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _table(statuses: list[StreamStatus]) -> Table:
    table = Table(
        "stream", "state", "read", "sampled", "dropped", "matched", "alerts", "reconnects", "lag", "latency", title="mediamatch watch (Ctrl-C to stop)"
    )
    for s in statuses:
        latency = "-" if s.last_latency is None else f"{s.last_latency * 1000:.0f} ms"
        table.add_row(
            s.name, s.state, str(s.frames_read), str(s.sampled), str(s.dropped), str(s.matched), str(s.alerts), str(s.reconnects), f"{s.lag:.1f} s", latency
        )
    return table


def _summary(statuses: list[StreamStatus], interrupted: bool) -> None:
    console.print("stopped by Ctrl-C" if interrupted else "all streams done", highlight=False)
    for s in statuses:
        damaged = f", {s.damaged} damaged packet(s) or frame(s) skipped" if s.damaged else ""
        problem = f", error: {s.error}" if s.error else ""
        console.print(
            f"{s.name}: {s.state}, {s.frames_read} frames read, {s.sampled} sampled, {s.dropped} dropped, "
            f"{s.low_quality} low quality, {s.matched} matched, {s.alerts} alert(s), {s.reconnects} reconnect(s){damaged}{problem}",
            highlight=False, markup=False,
        )  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("watch")(watch_command)
