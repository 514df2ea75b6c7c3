"""`mediamatch similar`: which catalogued pictures and video frames contain a picture, or a
region of it (an object in the background), ranked, with the matched regions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mediamatch.cli.common import DbOption, ExitCode, console, open_catalogue, refuse


def parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    """`x,y,w,h` in the picture's pixels, or None when not given; refused when malformed."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
        refuse(f"--box expects x,y,w,h as four whole numbers of pixels, got {escape(text)!r}")
    x, y, w, h = (int(part) for part in parts)
    return x, y, w, h


def similar_command(
    file: Annotated[Path, typer.Argument(help="A picture (or a video: its sampled frames are searched).")],
    box: Annotated[str | None, typer.Option("--box", help="Search only this region: x,y,w,h in the picture's pixels.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="The results as one JSON document.")] = False,
    db: DbOption = None,
) -> None:
    """Search the catalogue by similarity (local features verified geometrically): every
    catalogued picture or video frame that FILE, or the --box region of it, contains or shares a
    scene with, best first, with the transform, the share of the known picture present and the
    matched regions (shares 0-1 of each picture's sides). Exit status 1 when FILE cannot be
    searched (not a picture, corrupt), 2 when it does not exist."""
    from mediamatch.services.similar import SimilarityMatcher, search_picture

    region = parse_box(box)
    if not file.is_file():
        refuse(f"{escape(str(file))}: no such file")
    engine = open_catalogue(db)
    try:
        answer = search_picture(SimilarityMatcher.open(engine), file.read_bytes(), region, limit)
    finally:
        engine.dispose()
    if as_json:
        document = {
            "file": str(file),
            "box": region,
            "error": answer.error,
            "note": answer.note,
            "matches": [
                {
                    "media_id": m.media_id,
                    "series": list(m.series),
                    "relation": m.relation,
                    "inliers": m.inliers,
                    "known_area_share": m.known_area_share,
                    "transform": m.transform,
                    "victim_identified": m.victim_identified,
                    "known_seconds": [list(span) for span in m.known_seconds],
                    "query_region": [list(point) for point in m.query_region],
                    "known_region": [list(point) for point in m.known_region],
                }
                for m in answer.matches
            ],
        }
        typer.echo(json.dumps(document, indent=1, ensure_ascii=False))
    else:
        table = Table("item", "series", "relation", "keypoints", "known share", "how", title=f"similar to {file}")
        for m in answer.matches:
            share = f"{m.known_area_share:.0%}" if m.known_area_share is not None else ""
            table.add_row(str(m.media_id), escape(", ".join(m.series)), m.relation, str(m.inliers), share, escape(m.transform))
        console.print(table)
        if answer.note:
            console.print(answer.note)
    if answer.error:
        console.print(f"[red]error:[/] {escape(answer.error)}")
        raise typer.Exit(code=ExitCode.SOME_FAILED)


def register(app: typer.Typer) -> None:
    app.command("similar")(similar_command)
