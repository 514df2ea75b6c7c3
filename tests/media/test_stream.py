"""Reading streams with real encoded videos: sampling on the stream clock, real-speed playback,
pipes, the bounded buffer that drops the oldest frame, and sources that are missing, corrupt,
audio-only or silent ending with a clear reason instead of a crash or a hang.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from mediamatch.media.stream import FrameBuffer, SampledFrame, StreamEvent, StreamOptions, StreamReader, StreamSource, public_name
from mediamatch.services.samples import generated_video
from tests.stream_fixtures import FPS, SIZE


def read_all(source: StreamSource, options: StreamOptions, capacity: int = 1000) -> tuple[list[SampledFrame], list[StreamEvent], StreamReader]:
    buffer = FrameBuffer(capacity)
    events: list[StreamEvent] = []
    reader = StreamReader(source, buffer, options, threading.Event(), events.append)
    reader.start()
    reader.join(60)
    assert not reader.is_alive()
    frames = buffer.take(10_000, timeout=0)
    return frames, events, reader


def test_frames_are_sampled_on_the_stream_clock(tmp_path: Path) -> None:
    video = generated_video(tmp_path / "v.mp4", seconds=4.5, fps=FPS, size=SIZE, seed=1)
    frames, events, reader = read_all(StreamSource.parse(str(video)), StreamOptions(sample_rate=1))
    assert [round(f.stream_time, 2) for f in frames] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert reader.stats.frames_read == 45
    assert (reader.stats.sampled, reader.stats.dropped, reader.stats.state) == (5, 0, "ended")
    assert [e.kind for e in events] == ["opened", "ended"] and events[0].message == "h264 320x240"
    assert all(f.luma.shape == (240, 320) and f.luma.dtype == np.float32 and f.stream == str(video) for f in frames)
    assert frames[0].luma.std() > 10  # a picture, not a blank plane

    frames, _, _ = read_all(StreamSource.parse(f"cam={video}"), StreamOptions(sample_rate=2.5))
    assert [round(f.stream_time, 2) for f in frames] == [0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.2, 3.6, 4.0, 4.4]
    assert {f.stream for f in frames} == {"cam"}


def test_realtime_plays_a_file_at_its_own_speed(tmp_path: Path) -> None:
    video = generated_video(tmp_path / "v.mp4", seconds=3, fps=FPS, size=SIZE, seed=1)
    started = time.monotonic()
    frames, _, _ = read_all(StreamSource.parse(str(video)), StreamOptions(sample_rate=2, realtime=True))
    assert time.monotonic() - started >= 2.9 - 0.05  # the last frame is shown at 2.9 s
    first = frames[0]
    for frame in frames:  # each frame arrives no earlier than its place on the stream clock
        assert frame.arrived - first.arrived >= frame.stream_time - first.stream_time - 0.02


def test_a_pipe_is_read_to_its_end(tmp_path: Path) -> None:
    video = generated_video(tmp_path / "v.ts", seconds=3, fps=FPS, size=SIZE, seed=1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(video.read_bytes()))
    writer.start()
    source = StreamSource.parse(str(fifo))
    assert source.kind == "pipe"
    frames, events, reader = read_all(source, StreamOptions(sample_rate=1))
    writer.join(10)
    assert [round(f.stream_time, 2) for f in frames] == [0.0, 1.0, 2.0]
    assert events[-1].kind == "ended" and reader.stats.reconnects == 0


def test_sampling_follows_a_clock_that_restarts_mid_stream(tmp_path: Path) -> None:
    first = generated_video(tmp_path / "a.ts", seconds=3, fps=FPS, size=SIZE, seed=1)
    second = generated_video(tmp_path / "b.ts", seconds=3, fps=FPS, size=SIZE, seed=2)
    joined = tmp_path / "joined.ts"  # a broadcaster restarting its encoder: timestamps start again
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    frames, _, reader = read_all(StreamSource.parse(str(joined)), StreamOptions(sample_rate=1))
    assert reader.stats.frames_read == 60
    assert [round(f.stream_time, 2) for f in frames] == [0.0, 1.0, 2.0, 0.0, 1.0, 2.0]


def test_a_stream_damaged_in_the_middle_goes_on_past_the_damage(tmp_path: Path) -> None:
    data = bytearray(generated_video(tmp_path / "v.ts", seconds=4, fps=FPS, size=SIZE, seed=1).read_bytes())
    third = len(data) // 3
    data[third : third + 20_000] = np.random.default_rng(1).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))
    frames, events, reader = read_all(StreamSource.parse(str(damaged)), StreamOptions(sample_rate=1))
    assert [e.kind for e in events] == ["opened", "ended"]
    assert 0 < reader.stats.frames_read < 40  # the damaged frames are lost, not the stream
    times = [f.stream_time for f in frames]
    assert times[0] == 0.0 and max(times) >= 3.0


def test_a_full_buffer_drops_the_oldest_frame_of_that_stream_only() -> None:
    buffer = FrameBuffer(capacity=2)
    luma = np.zeros((8, 8), np.float32)

    def frame(stream: str, at: float) -> SampledFrame:
        return SampledFrame(stream, at, 0.0, 0.0, luma)

    dropped = [buffer.put(frame("a", t), wait=False) for t in range(5)]
    assert [d.stream_time if d else None for d in dropped] == [None, None, 0, 1, 2]
    assert buffer.put(frame("b", 0), wait=False) is None  # b has its own room
    assert (buffer.waiting("a"), buffer.waiting("b")) == (2, 1)
    taken = buffer.take(10, timeout=0)
    assert [(f.stream, f.stream_time) for f in taken] == [("a", 3), ("b", 0), ("a", 4)]  # streams in turn
    assert buffer.take(10, timeout=0.01) == []


def test_a_file_read_at_full_speed_waits_for_room_instead_of_dropping(tmp_path: Path) -> None:
    video = generated_video(tmp_path / "v.mp4", seconds=4.5, fps=FPS, size=SIZE, seed=1)
    buffer = FrameBuffer(1)
    reader = StreamReader(StreamSource.parse(str(video)), buffer, StreamOptions(sample_rate=4), threading.Event())
    reader.start()
    taken: list[SampledFrame] = []
    while reader.is_alive() or buffer.waiting(str(video)):
        taken += buffer.take(1, timeout=0.05)
        time.sleep(0.01)  # a slow consumer
    assert buffer.waiting(str(video)) <= 1
    assert reader.stats.dropped == 0 and len(taken) == reader.stats.sampled == 18


def test_bad_sources_fail_with_a_clear_reason(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    audio = tmp_path / "tone.wav"
    with av.open(str(audio), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = (np.sin(np.arange(8000) / 5) * 3000).astype(np.int16)[None, :]
        out = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        out.sample_rate = 8000
        container.mux(stream.encode(out))
        container.mux(stream.encode())
    reasons = {}
    for path in (tmp_path / "missing.mp4", corrupt, audio):
        frames, events, reader = read_all(StreamSource.parse(str(path)), StreamOptions())
        assert frames == [] and reader.stats.state == "failed" and events[-1].kind == "failed"
        assert reader.stats.reconnects == 0  # a file does not get better by reopening it
        reasons[path.name] = reader.stats.error
    assert reasons == {
        "missing.mp4": f"file not found: {tmp_path / 'missing.mp4'}",
        "corrupt.mp4": "not a readable media stream (invalid or corrupt data)",
        "tone.wav": "no video stream in the source",
    }


def test_a_silent_server_times_out_and_is_retried_then_given_up(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: [accepted.append(server.accept()[0]) for _ in range(2)], daemon=True).start()
    url = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    options = StreamOptions(open_timeout=0.5, read_timeout=0.5, max_reconnects=1, backoff_initial=0.1)
    try:
        frames, events, reader = read_all(StreamSource.parse(url), options)
    finally:
        for connection in accepted:
            connection.close()
        server.close()
    assert frames == [] and len(accepted) == 2  # the first try and one reconnect, each connected
    assert [e.kind for e in events] == ["reconnecting", "failed"]
    assert events[0].message == "no answer within 0.5 s; reconnecting in 0.1 s (attempt 1/1)"
    assert reader.stats.error == "no answer within 0.5 s; gave up after 1 reconnect attempt(s)"


def test_names_never_carry_credentials_or_query_strings() -> None:
    source = StreamSource.parse("rtmp://user:secret@ingest.example:1935/live/room?key=abc123")
    assert source.name == "rtmp://ingest.example:1935/live/room" and source.kind == "url"
    assert source.url.endswith("?key=abc123")  # FFmpeg still gets the whole URL
    assert StreamSource.parse("cam2=srt://10.0.0.5:9000?passphrase=x") == StreamSource("cam2", "srt://10.0.0.5:9000?passphrase=x")
    assert StreamSource.parse("-") == StreamSource("stdin", "pipe:0")
    assert StreamSource.parse("-").kind == "pipe"
    assert public_name("/videos/a=b.mp4") == "/videos/a=b.mp4"
    with pytest.raises(ValueError, match="sample rate"):
        StreamOptions(sample_rate=0)
