"""Asking other agencies "who recognises this?" about a clue, under four eyes.

The crop that goes out shows the clue's box only (an object, a sign), cut on the server from the
encrypted original and stored encrypted like every other blob, so no full picture leaves the
asking agency. Before any other agency sees the request, a second person of the asking agency
must approve it: the author cannot approve their own request, since one person's misjudged
crop (a face at the edge, a body part) would otherwise be shared with the world. Until then
the request, its crop and its thread are the asking agency's alone.

Once sent, the request reaches every agency, or those of the chosen countries; the agencies of
specialists who subscribed to the clue's country or type are notified. Answers are replies in
the request's thread, and each one notifies the asking agency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mediamatch.catalog import validate
from mediamatch.catalog.collaboration import Actor, CommentRecord, HelpRequestRecord, SubscriptionRecord, free_text
from mediamatch.media.thumbnail import ThumbnailError, jpeg_bytes, thumbnail
from mediamatch.services.clues import comment_record, visible_clue
from mediamatch.store.blobs import BlobError, EncryptedBlobStore
from mediamatch.store.models.auth import User
from mediamatch.store.models.catalogue import Agency, MediaItem
from mediamatch.store.models.collaboration import CLUE_KINDS, Clue, Comment, HelpRequest, Subscription
from mediamatch.store.models.server import Notification

QUESTION_MAX_LENGTH = 2000
ANSWER_MAX_LENGTH = 4000
CROP_SOURCE_SIDE = 16384  # the picture is decoded whole (within media/image.py's pixel limit) before cutting
CROP_QUALITY = 90
HELP_REQUEST = "help_request"
HELP_ANSWER = "help_answer"


class HelpRequestNotFound(LookupError):
    """No such request, or one the asking agency may not see (the same answer, on purpose)."""


class HelpRequestRefused(ValueError):
    """The request cannot be made, decided or answered as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Decision:
    request: HelpRequestRecord
    notified: tuple[str, ...]  # agency names told of a sent request


def ask(session: Session, blobs: EncryptedBlobStore, author: Actor, clue_id: int, question: str, countries: tuple[str, ...] = ()) -> HelpRequestRecord:
    """Draft a help request about a clue of the author's agency. When the clue is pinned to a box
    of a stored picture, the crop is cut and stored now, to be approved with the request."""
    clue = visible_clue(session, clue_id, author.agency_id)
    if clue.agency_id != author.agency_id:
        raise HelpRequestRefused("ask about your agency's own clues (comment on another agency's clue instead)")
    try:
        text = free_text(question, "question", QUESTION_MAX_LENGTH)
        codes = tuple(sorted({validate.country_code(code) for code in countries}))
    except ValueError as exc:
        raise HelpRequestRefused(str(exc)) from None
    request = HelpRequest(
        clue_id=clue.id, agency_id=author.agency_id, author_id=author.user_id, question=text, countries=" ".join(codes),
        crop_sha256=_crop(session, blobs, clue), status="awaiting_approval",
    )  # fmt: skip
    session.add(request)
    session.flush()
    return as_record(session, request)


def _crop(session: Session, blobs: EncryptedBlobStore, clue: Clue) -> str | None:
    """Cut the clue's box from its stored picture and store it encrypted; its address, or None
    when the clue has no box or its picture no stored copy (the request goes out as text)."""
    if clue.media_id is None or clue.box_width is None or clue.box_height is None:
        return None
    item = session.get(MediaItem, clue.media_id)
    if item is None or item.sha256 is None:
        return None
    try:
        picture = thumbnail(blobs.get(item.sha256), CROP_SOURCE_SIDE, reveal=True)
    except BlobError:
        return None  # contributed as hashes only
    except ThumbnailError as exc:
        raise HelpRequestRefused(f"no crop can be cut from this item: {exc}") from None
    left, top = clue.box_left or 0, clue.box_top or 0
    box = (left, top, min(left + clue.box_width, picture.width), min(top + clue.box_height, picture.height))
    if box[0] >= box[2] or box[1] >= box[3]:
        raise HelpRequestRefused("the clue's box lies outside the stored picture")
    return blobs.put(jpeg_bytes(picture.crop(box), CROP_QUALITY))


def _countries(request: HelpRequest) -> tuple[str, ...]:
    return tuple(request.countries.split()) if request.countries else ()


def visible_request(session: Session, request_id: int, agency_id: int) -> HelpRequest:
    """The request, if the agency may see it: its own, or a sent one addressed to it."""
    request = session.get(HelpRequest, request_id)
    if request is None or not _may_see(session, request, agency_id):
        raise HelpRequestNotFound(f"no help request {request_id}")
    return request


def _may_see(session: Session, request: HelpRequest, agency_id: int) -> bool:
    if request.agency_id == agency_id:
        return True
    if request.status != "sent":
        return False
    countries = _countries(request)
    return not countries or session.scalar(select(Agency.country).where(Agency.id == agency_id)) in countries


def decide(session: Session, request_id: int, approver: Actor, approve: bool) -> Decision:
    """The four-eyes step: a second person of the asking agency approves (the request is sent
    and the subscribed specialists' agencies notified) or rejects it."""
    request = session.get(HelpRequest, request_id)
    if request is None or request.agency_id != approver.agency_id:
        raise HelpRequestNotFound(f"no help request {request_id}")
    if request.author_id == approver.user_id:
        raise HelpRequestRefused("a second person must approve: the author of a help request cannot decide it")
    if request.status != "awaiting_approval":
        raise HelpRequestRefused(f"this help request was already decided ({request.status})")
    request.status = "sent" if approve else "rejected"
    request.decided_by_id = approver.user_id
    request.decided_at = datetime.now(timezone.utc)
    session.flush()
    notified = _notify_specialists(session, request) if approve else ()
    return Decision(as_record(session, request), notified)


def _notify_specialists(session: Session, request: HelpRequest) -> tuple[str, ...]:
    """Notify, once per agency, the agencies of specialists whose field is the clue's country (or
    one the request is addressed to) and type (among the agencies the request is addressed to)."""
    clue = request.clue
    countries = _countries(request)
    query = (
        select(Agency.id, Agency.name)
        .join(User, User.agency_id == Agency.id)
        .join(Subscription, Subscription.user_id == User.id)
        .where(
            Agency.id != request.agency_id,
            User.active.is_(True),
            or_(Subscription.country.is_(None), Subscription.country == clue.country, Subscription.country.in_(countries)),
            or_(Subscription.kind.is_(None), Subscription.kind == clue.kind),
        )
        .distinct()
    )
    if countries:
        query = query.where(Agency.country.in_(countries))
    found = session.execute(query.order_by(Agency.name)).all()
    asking = request.agency
    where = f" about {clue.country}" if clue.country else ""
    for agency_id, _ in found:
        message = f"{asking.name} ({asking.country}) asks for help with a {clue.kind} clue{where}: {request.question}"
        session.add(Notification(agency_id=agency_id, series_id=clue.series_id, kind=HELP_REQUEST, message=message[:2000]))
    session.flush()
    return tuple(name for _, name in found)


def list_requests(session: Session, viewer: Actor) -> list[HelpRequestRecord]:
    """The requests the viewer's agency may see: its own (any state) and those sent to it, newest first."""
    candidates = session.scalars(
        select(HelpRequest).where(or_(HelpRequest.agency_id == viewer.agency_id, HelpRequest.status == "sent")).order_by(HelpRequest.id.desc())
    )
    return [as_record(session, request) for request in candidates if _may_see(session, request, viewer.agency_id)]


def get_request(session: Session, request_id: int, viewer: Actor) -> HelpRequestRecord:
    return as_record(session, visible_request(session, request_id, viewer.agency_id))


def crop_of(session: Session, blobs: EncryptedBlobStore, request_id: int, viewer: Actor) -> bytes:
    """The decrypted crop of a request the viewer may see; HelpRequestNotFound when it has none."""
    request = visible_request(session, request_id, viewer.agency_id)
    if request.crop_sha256 is None:
        raise HelpRequestNotFound(f"help request {request_id} has no crop")
    return blobs.get(request.crop_sha256)


def answer(session: Session, request_id: int, author: Actor, body: str) -> CommentRecord:
    """Reply in a request's thread; a reply from another agency notifies the asking agency."""
    request = visible_request(session, request_id, author.agency_id)
    if request.status != "sent" and request.agency_id != author.agency_id:
        raise HelpRequestNotFound(f"no help request {request_id}")
    comment = Comment(help_request_id=request.id, agency_id=author.agency_id, author=author.username, body=free_text(body, "answer", ANSWER_MAX_LENGTH))
    session.add(comment)
    session.flush()
    if author.agency_id != request.agency_id:
        session.add(
            Notification(agency_id=request.agency_id, series_id=request.clue.series_id, kind=HELP_ANSWER,
                         message=f"{comment.agency.name} answered your help request {request.id}: {comment.body}"[:2000])
        )  # fmt: skip
        session.flush()
    return comment_record(comment)


def answers(session: Session, request_id: int, viewer: Actor) -> list[CommentRecord]:
    request = visible_request(session, request_id, viewer.agency_id)
    return [comment_record(c) for c in session.scalars(select(Comment).where(Comment.help_request_id == request.id).order_by(Comment.id))]


def as_record(session: Session, request: HelpRequest) -> HelpRequestRecord:
    author = session.get(User, request.author_id)
    decider = session.get(User, request.decided_by_id) if request.decided_by_id else None
    clue = request.clue
    return HelpRequestRecord(
        id=request.id, clue_id=clue.id, clue_kind=clue.kind, clue_country=clue.country, series=clue.series.name,
        agency=request.agency.name, author=author.username if author else "", question=request.question, countries=_countries(request),
        has_crop=request.crop_sha256 is not None, status=request.status, created_at=request.created_at,
        decided_by=decider.username if decider else None, decided_at=request.decided_at,
    )  # fmt: skip


# Specialists' fields ---------------------------------------------------------------------


def subscribe(session: Session, specialist: Actor, country: str | None, kind: str | None) -> SubscriptionRecord:
    """Be notified of help requests about `country` and/or clues of `kind` (None: any)."""
    if country is None and kind is None:
        raise HelpRequestRefused("subscribe to a country, a clue type, or both")
    if kind is not None and kind not in CLUE_KINDS:
        raise HelpRequestRefused(f"a clue's type is one of {', '.join(CLUE_KINDS)}")
    try:
        code = validate.country_code(country) if country is not None else None
    except ValueError as exc:
        raise HelpRequestRefused(str(exc)) from None
    subscription = Subscription(user_id=specialist.user_id, country=code, kind=kind)
    session.add(subscription)
    session.flush()
    return SubscriptionRecord(subscription.id, subscription.country, subscription.kind)


def subscriptions(session: Session, specialist: Actor) -> list[SubscriptionRecord]:
    query = select(Subscription).where(Subscription.user_id == specialist.user_id).order_by(Subscription.id)
    return [SubscriptionRecord(s.id, s.country, s.kind) for s in session.scalars(query)]


def unsubscribe(session: Session, specialist: Actor, subscription_id: int) -> None:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.user_id != specialist.user_id:
        raise LookupError(f"no subscription {subscription_id} of yours")
    session.delete(subscription)
    session.flush()
