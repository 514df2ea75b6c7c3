"""A whole video looked up in the catalogue for a platform (the central `/api/v1/match`): per
known video both vPDQ shares and the request's rule, named as hash lists name videos, so the
central server and a platform's own matcher answer alike (services/video_lookup.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediamatch.catalog.hashes import FrameHash, HashRecord
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.video_lookup import VideoAnswer, VideoRule
from mediamatch.store.models.catalogue import MediaSignal


def catalogue_video_lookup(matcher: CatalogueMatcher, session: Session, frames: Sequence[FrameHash], rule: VideoRule, label: str = "") -> list[VideoAnswer]:
    """The central server's answer for a whole video: each known video the catalogue matcher
    reports (one share at least 80%, vPDQ's rule either way round), named as hash lists name it
    (the indicator of its first frame), with `match` by `rule`. The frames found are not named
    here: a platform reports the video id back."""
    [matches] = matcher.match([HashRecord(path=label, frames=tuple(frames))], session)
    shares = {m.media_id: (m.query_share, m.known_share) for m in matches if m.query_share is not None and m.known_share is not None}
    if not shares:
        return []
    first_frames = dict(
        session.execute(
            select(MediaSignal.media_id, func.min(MediaSignal.id))
            .where(MediaSignal.signal == "vpdq", MediaSignal.media_id.in_(shares))
            .group_by(MediaSignal.media_id)
        ).all()
    )
    answers = [
        VideoAnswer(first_frames[media_id], query_share, known_share, rule.decides(query_share, known_share), ())
        for media_id, (query_share, known_share) in shares.items()
        if media_id in first_frames
    ]
    return sorted(answers, key=lambda answer: (not answer.match, -answer.known_share, -answer.query_share, answer.video))
