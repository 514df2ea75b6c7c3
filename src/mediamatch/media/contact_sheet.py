"""A contact sheet: one picture of a video's frames in a grid, so a report shows a video
without playing it (investigator wellness: the report blurs it until clicked, like a still).

Frames are taken at evenly spaced times by seeking, so a two-hour video costs a dozen short
decodes, not two hours of them; frames inside matched time ranges get a red border and every
tile is labelled with its time.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

TILE = (160, 90)
COLUMNS, ROWS = 4, 3
MATCHED_BORDER = (200, 30, 30)


def contact_sheet(
    source: bytes | Path,
    matched: Sequence[tuple[float, float]] = (),
    columns: int = COLUMNS,
    rows: int = ROWS,
) -> Image.Image | None:
    """The grid of frames of the video in `source`, or None where no frame can be decoded."""
    import av  # the [video] extra; callers treat a missing PyAV like an undecodable file

    from mediamatch.media.video import stated_duration

    opened = av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r")
    try:
        if not opened.streams.video:
            return None
        stream = opened.streams.video[0]
        duration = stated_duration(opened, stream) or 0.0
        count = columns * rows
        times = [duration * (index + 0.5) / count for index in range(count)] if duration else [0.0]
        tiles = [(moment, tile) for moment in times if (tile := _frame_at(opened, stream, moment)) is not None]
    finally:
        opened.close()
    if not tiles:
        return None
    sheet = Image.new("RGB", (columns * TILE[0], ((len(tiles) + columns - 1) // columns) * TILE[1]), "black")
    draw = ImageDraw.Draw(sheet)
    for index, (moment, tile) in enumerate(tiles):
        left, top = (index % columns) * TILE[0], (index // columns) * TILE[1]
        sheet.paste(tile, (left, top))
        if any(start - 0.5 <= moment <= end + 0.5 for start, end in matched):
            draw.rectangle((left, top, left + TILE[0] - 1, top + TILE[1] - 1), outline=MATCHED_BORDER, width=4)
        draw.text((left + 4, top + TILE[1] - 14), clock_label(moment), fill="white", stroke_width=1, stroke_fill="black")
    return sheet


def _frame_at(container: InputContainer, stream: VideoStream, moment: float) -> Image.Image | None:
    """The first frame at or after `moment`, fitted into a tile."""
    try:
        if moment and stream.time_base:
            container.seek(int(moment / stream.time_base), stream=stream)
        for frame in container.decode(stream):
            if frame.time is None or frame.time >= moment - 0.05:
                image = frame.to_image()
                image.thumbnail(TILE)
                tile = Image.new("RGB", TILE, "black")
                tile.paste(image, ((TILE[0] - image.width) // 2, (TILE[1] - image.height) // 2))
                return tile
    except Exception:  # noqa: BLE001 - a damaged stretch of video: this tile stays empty, the others are made
        return None
    return None


def clock_label(seconds: float) -> str:
    """A stream time as players show it: 4:07, or 1:02:03 past an hour."""
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"
