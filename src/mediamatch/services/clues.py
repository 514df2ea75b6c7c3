"""Clues pinned to series and pictures, their history, and discussion threads.

A clue is what a specialist saw that may place a child: a socket type, a shop sign, a language
heard. It is pinned to the whole series, a picture of it, a box in that picture or a time
range of a video, and is seen by every agency or by the author's agency only. That choice is
enforced here, for every caller: a clue another agency may not see is reported as not existing
(`ClueNotFound`), so no route can leak even that it exists.

Edits and deletions keep the previous state as a revision; a deleted clue stays in the table
(its history is evidence of who knew what when) but leaves every list and the search.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mediamatch.catalog import validate
from mediamatch.catalog.collaboration import Actor, Box, ClueRecord, ClueRevisionRecord, CommentRecord, free_text
from mediamatch.store.models.catalogue import MediaItem, Series, media_series
from mediamatch.store.models.collaboration import CLUE_KINDS, VISIBILITIES, Clue, ClueRevision, Comment, SearchDocument

CLUE_TEXT_MAX_LENGTH = 4000
COMMENT_MAX_LENGTH = 4000


class ClueNotFound(LookupError):
    """No such clue, or one the asking agency may not see (the same answer, on purpose)."""


class ClueRefused(ValueError):
    """The clue cannot be written as given; the message says why."""


class NotYourClue(ClueRefused):
    """The clue is visible but belongs to another agency: only its own agency changes it."""


@dataclass(frozen=True, slots=True)
class ClueInput:
    """What a person writes: where the clue is pinned and what it says."""

    series: str
    kind: str
    text: str
    media_id: int | None = None
    box: Box | None = None
    time_start: float | None = None
    time_end: float | None = None
    country: str | None = None
    confidence: int = 50
    visibility: str = "all"


EDITABLE = ("kind", "text", "country", "confidence", "visibility", "box", "time_start", "time_end")


def visible_to(agency_id: int) -> sa.ColumnElement[bool]:
    """The SQL condition: a clue the agency may see."""
    return (Clue.deleted_at.is_(None)) & or_(Clue.visibility == "all", Clue.agency_id == agency_id)


def add_clue(session: Session, author: Actor, given: ClueInput) -> ClueRecord:
    """Pin a new clue; ClueRefused for an invalid field, LookupError for an unknown series or item."""
    series_id = session.scalar(select(Series.id).where(Series.name == given.series))
    if series_id is None:
        raise LookupError(f"no series named {given.series!r}")
    checked = _checked(session, given, series_id)
    now = datetime.now(timezone.utc)
    clue = Clue(series_id=series_id, media_id=checked.media_id, kind=checked.kind, text=checked.text, country=checked.country,
                confidence=checked.confidence, visibility=checked.visibility, agency_id=author.agency_id, author=author.username,
                time_start=checked.time_start, time_end=checked.time_end, created_at=now, updated_at=now)  # fmt: skip
    _set_box(clue, checked.box)
    session.add(clue)
    session.flush()
    _index(session, clue)
    return as_record(clue)


def _checked(session: Session, given: ClueInput, series_id: int) -> ClueInput:
    """`given` with every field checked and cleaned (country upper-cased, text trimmed)."""
    if given.kind not in CLUE_KINDS:
        raise ClueRefused(f"a clue's type is one of {', '.join(CLUE_KINDS)}")
    if given.visibility not in VISIBILITIES:
        raise ClueRefused("a clue is visible to 'all' agencies or to the own 'agency' only")
    if not 0 <= given.confidence <= 100:
        raise ClueRefused("confidence is a percentage, 0 to 100")
    try:
        text = free_text(given.text, "clue text", CLUE_TEXT_MAX_LENGTH)
        country = validate.country_code(given.country) if given.country else None
    except ValueError as exc:
        raise ClueRefused(str(exc)) from None
    if country == validate.UNSTATED_COUNTRY:
        country = None
    if (given.box is not None or given.time_start is not None) and given.media_id is None:
        raise ClueRefused("a box or a time range is pinned to a picture or video: give its media id")
    if given.media_id is not None:
        item = session.get(MediaItem, given.media_id)
        in_series = session.scalar(select(media_series.c.media_id).where(media_series.c.media_id == given.media_id, media_series.c.series_id == series_id))
        if item is None or in_series is None:
            raise LookupError(f"no media item {given.media_id} in series {given.series!r}")
        if given.box is not None:
            _check_box(given.box, item)
        if given.time_start is not None:
            if item.duration is None:
                raise ClueRefused("a time range is pinned to a video; this item is not one")
            end = given.time_end if given.time_end is not None else given.time_start
            if not 0 <= given.time_start <= end <= item.duration:
                raise ClueRefused(f"the time range must lie within the video (0 to {item.duration:.1f} s)")
            given = replace(given, time_end=end)
    return replace(given, text=text, country=country)


def _check_box(box: Box, item: MediaItem) -> None:
    if box.width <= 0 or box.height <= 0 or box.left < 0 or box.top < 0:
        raise ClueRefused("a box has a positive width and height and lies inside the picture")
    if item.width is not None and item.height is not None and (box.left + box.width > item.width or box.top + box.height > item.height):
        raise ClueRefused(f"the box reaches outside the {item.width}x{item.height} picture")


def _set_box(clue: Clue, box: Box | None) -> None:
    clue.box_left, clue.box_top = (box.left, box.top) if box else (None, None)
    clue.box_width, clue.box_height = (box.width, box.height) if box else (None, None)


def visible_clue(session: Session, clue_id: int, agency_id: int) -> Clue:
    """The clue, if the agency may see it; ClueNotFound otherwise."""
    clue = session.scalar(select(Clue).where(Clue.id == clue_id, visible_to(agency_id)))
    if clue is None:
        raise ClueNotFound(f"no clue {clue_id}")
    return clue


def get_clue(session: Session, clue_id: int, viewer: Actor) -> ClueRecord:
    return as_record(visible_clue(session, clue_id, viewer.agency_id))


def list_clues(session: Session, series: str, viewer: Actor) -> list[ClueRecord]:
    """The series' clues the viewer's agency may see, oldest first."""
    series_id = session.scalar(select(Series.id).where(Series.name == series))
    if series_id is None:
        raise LookupError(f"no series named {series!r}")
    query = select(Clue).where(Clue.series_id == series_id, visible_to(viewer.agency_id)).order_by(Clue.created_at, Clue.id)
    return [as_record(clue) for clue in session.scalars(query)]


def _own(session: Session, clue_id: int, editor: Actor) -> Clue:
    """A clue the editor's agency wrote (another agency's clue, even a visible one, is not theirs to change)."""
    clue = visible_clue(session, clue_id, editor.agency_id)
    if clue.agency_id != editor.agency_id:
        raise NotYourClue("only the agency that wrote a clue may change it; add a comment instead")
    return clue


def edit_clue(session: Session, clue_id: int, editor: Actor, changes: dict[str, object]) -> tuple[ClueRecord, dict[str, object]]:
    """Change fields of the agency's own clue, keeping the previous state as a revision.
    Returns the clue and the changed fields' old values (for the audit trail)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ClueRefused(f"a clue's {', '.join(sorted(unknown))} cannot be changed")
    clue = _own(session, clue_id, editor)
    before = as_record(clue)
    wanted = replace(_as_input(before), **changes)  # type: ignore[arg-type]
    checked = _checked(session, wanted, clue.series_id)
    old = {name: _plain(getattr(before, name)) for name in changes if getattr(before, name) != getattr(checked, name)}
    if not old:
        return before, {}
    _revise(session, clue, "edited", editor)
    for name in ("kind", "text", "country", "confidence", "visibility", "time_start", "time_end"):
        setattr(clue, name, getattr(checked, name))
    _set_box(clue, checked.box)
    clue.updated_at = datetime.now(timezone.utc)
    session.flush()
    _index(session, clue)
    return as_record(clue), old


def delete_clue(session: Session, clue_id: int, editor: Actor) -> ClueRecord:
    """Delete the agency's own clue: it leaves lists and search; its revisions stay."""
    clue = _own(session, clue_id, editor)
    _revise(session, clue, "deleted", editor)
    clue.deleted_at = datetime.now(timezone.utc)
    session.execute(delete(SearchDocument).where(SearchDocument.kind == "clue", SearchDocument.object_id == clue.id))
    session.flush()
    return as_record(clue)


def history(session: Session, clue_id: int, viewer: Actor) -> list[ClueRevisionRecord]:
    """The clue's earlier states, oldest first."""
    clue = visible_clue(session, clue_id, viewer.agency_id)
    query = select(ClueRevision).where(ClueRevision.clue_id == clue.id).order_by(ClueRevision.id)
    return [ClueRevisionRecord(r.action, json.loads(r.before), r.changed_by, r.changed_at) for r in session.scalars(query)]


def _revise(session: Session, clue: Clue, action: str, editor: Actor) -> None:
    record = as_record(clue)
    before = {name: _plain(getattr(record, name)) for name in ("media_id", *EDITABLE, "updated_at")}
    session.add(ClueRevision(clue_id=clue.id, action=action, before=json.dumps(before, sort_keys=True), changed_by=editor.username))


def _plain(value: object) -> object:
    """A field as JSON holds it (revisions and audit details)."""
    if isinstance(value, Box):
        return {"left": value.left, "top": value.top, "width": value.width, "height": value.height}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _as_input(record: ClueRecord) -> ClueInput:
    return ClueInput(series=record.series, kind=record.kind, text=record.text, media_id=record.media_id, box=record.box, time_start=record.time_start,
                     time_end=record.time_end, country=record.country, confidence=record.confidence, visibility=record.visibility)  # fmt: skip


def _index(session: Session, clue: Clue) -> None:
    """Write the clue's search document (replacing an earlier one)."""
    session.execute(delete(SearchDocument).where(SearchDocument.kind == "clue", SearchDocument.object_id == clue.id))
    session.add(
        SearchDocument(
            kind="clue",
            object_id=clue.id,
            series_id=clue.series_id,
            agency_id=clue.agency_id,
            visible_to=clue.agency_id if clue.visibility == "agency" else None,
            clue_kind=clue.kind,
            country=clue.country,
            created_at=clue.created_at,
            text=clue.text,
        )
    )
    comments = select(Comment.id).where(Comment.clue_id == clue.id)
    private_to = clue.agency_id if clue.visibility == "agency" else None
    session.execute(
        update(SearchDocument).where(SearchDocument.kind == "comment", SearchDocument.object_id.in_(comments)).values(visible_to=private_to)
    )  # the thread is as private as its clue
    session.flush()


def as_record(clue: Clue) -> ClueRecord:
    box = Box(clue.box_left, clue.box_top, clue.box_width, clue.box_height) if clue.box_width is not None else None  # type: ignore[arg-type]
    return ClueRecord(
        id=clue.id, series=clue.series.name, media_id=clue.media_id, box=box, time_start=clue.time_start, time_end=clue.time_end,
        kind=clue.kind, text=clue.text, country=clue.country, confidence=clue.confidence, visibility=clue.visibility,
        agency=clue.agency.name, author=clue.author, created_at=clue.created_at, updated_at=clue.updated_at, deleted=clue.deleted_at is not None,
    )  # fmt: skip


# Discussion threads ----------------------------------------------------------------------


def add_comment(session: Session, author: Actor, body: str, *, clue_id: int | None = None, series: str | None = None) -> CommentRecord:
    """Post to the thread under a clue the author's agency may see, or under a series. A comment
    under an own-agency clue is as private as the clue, in lists and in search."""
    text = free_text(body, "comment", COMMENT_MAX_LENGTH)
    series_id: int | None
    if clue_id is not None:
        clue = visible_clue(session, clue_id, author.agency_id)
        comment = Comment(clue_id=clue.id, agency_id=author.agency_id, author=author.username, body=text)
        series_id, private_to = clue.series_id, (clue.agency_id if clue.visibility == "agency" else None)
    else:
        series_id = session.scalar(select(Series.id).where(Series.name == series))
        if series_id is None:
            raise LookupError(f"no series named {series!r}")
        comment, private_to = Comment(series_id=series_id, agency_id=author.agency_id, author=author.username, body=text), None
    session.add(comment)
    session.flush()
    session.add(SearchDocument(kind="comment", object_id=comment.id, series_id=series_id, agency_id=author.agency_id, visible_to=private_to,
                               created_at=comment.created_at, text=text))  # fmt: skip
    session.flush()
    return comment_record(comment)


def thread(session: Session, viewer: Actor, *, clue_id: int | None = None, series: str | None = None) -> list[CommentRecord]:
    """The comments under a clue the viewer's agency may see, or under a series, oldest first."""
    if clue_id is not None:
        condition = Comment.clue_id == visible_clue(session, clue_id, viewer.agency_id).id
    else:
        series_id = session.scalar(select(Series.id).where(Series.name == series))
        if series_id is None:
            raise LookupError(f"no series named {series!r}")
        condition = Comment.series_id == series_id
    return [comment_record(c) for c in session.scalars(select(Comment).where(condition).order_by(Comment.id))]


def comment_record(comment: Comment) -> CommentRecord:
    return CommentRecord(comment.id, comment.agency.name, comment.author, comment.body, comment.created_at)
