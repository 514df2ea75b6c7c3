"""Benign test videos with a known clip spliced in, and a loopback stream server for them.

Videos are `services.samples.generated_video` (camera pans over generated pictures). A "known
clip" is one such video; its frames go into a fresh catalogue as PNG images, as a contributor
would catalogue it, and a longer benign video with the clip spliced in at a known time is what
the stream plays.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import av
import pytest
import sqlalchemy as sa

from mediamatch.services.contribute import ContributionRequest, contribute
from mediamatch.services.samples import generated_video

FPS = 10
SIZE = (320, 240)


def known_clip(path: Path, seed: int, seconds: float = 3.0) -> Path:
    return generated_video(path, seconds=seconds, fps=FPS, size=SIZE, seed=seed)


def stream_video(path: Path, clip: Path, *, at: float, seconds: float, seed: int = 900) -> tuple[Path, tuple[float, float]]:
    """A benign video of `seconds` with `clip` spliced in at `at` (MPEG-TS for a `.ts` path, so
    it can be piped), and the clip's time range in it."""
    with av.open(str(clip)) as container:
        clip_seconds = container.streams.video[0].frames / FPS
    generated_video(path, seconds=seconds, fps=FPS, size=SIZE, seed=seed, insert=(clip, at))
    return path, (at, at + clip_seconds)


def clip_pngs(folder: Path, clip: Path, per_second: int = 2) -> list[Path]:
    """The known clip's frames, `per_second`, as PNG images."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    with av.open(str(clip)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number % (FPS // per_second) == 0:
                path = folder / f"{clip.stem}-{number:04d}.png"
                frame.to_image().save(path)
                paths.append(path)
    return paths


def catalogue_clip(engine: sa.Engine, folder: Path, clip: Path, series: str) -> None:
    outcomes = contribute(engine, clip_pngs(folder, clip), ContributionRequest(series=series), workers=1)
    assert outcomes and all(outcome.status == "added" for outcome in outcomes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if not found:
        pytest.skip("the ffmpeg command is not installed (Debian: apt-get install ffmpeg); it serves the loopback test streams")
    return found


class LoopbackSender:
    """Debian's ffmpeg playing a file at real speed (-re) as MPEG-TS to the first client that
    connects to tcp://127.0.0.1:PORT, as a broadcaster's encoder would."""

    def __init__(self, video: Path, port: int) -> None:
        self.video = video
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> LoopbackSender:
        command = [need_ffmpeg(), "-hide_banner", "-loglevel", "error", "-re", "-i", str(self.video), "-c", "copy", "-f", "mpegts", f"{self.url}?listen=1"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self._listening() and time.monotonic() < deadline:  # ready before a client tries
            time.sleep(0.05)
        return self

    def _listening(self) -> bool:
        return f":{self.port:04X} 00000000:0000 0A" in Path("/proc/net/tcp").read_text()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
        if self.process:
            self.process.wait(10)
            if self.process.stderr:
                self.process.stderr.close()

    def __enter__(self) -> LoopbackSender:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
