"""Matching against a remote mediamatch server, sending hashes only.

An agency triaging a seized drive against the shared database must not send the drive's
content anywhere: each file is hashed locally and only its signals (PDQ with its 8
rotations/flips) travel, in batches, to `POST /api/v1/query/hashes`; a video travels as its
frame hashes to `POST /api/v1/query/video`. Triage's similarity pass sends the local features
of files that matched no hash (descriptors, never pictures) to `POST /api/v1/query/similar/features`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx

from mediamatch.catalog.hashes import DISPLAYED, HashRecord
from mediamatch.catalog.records import Match
from mediamatch.signals.registry import descriptor_signals, exact_signals, ranked_signals

MAX_QUERIES_PER_REQUEST = 1000
FEATURE_ITEMS_PER_REQUEST = 16  # up to 200 KB of features per picture
TIMEOUT_S = 60.0


SIMILAR_REFUSED = "this account may not search by similarity (investigators may); triage with --no-similar"


class RemoteError(Exception):
    """The server refused or failed a query; the message says what it answered."""


class RemoteCatalogueMatcher:
    """The same `match(records)` as `CatalogueMatcher`, answered by a server over HTTPS."""

    def __init__(self, base_url: str, token: str, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(base_url=base_url, timeout=TIMEOUT_S)
        self.headers = {"Authorization": f"Bearer {token}"}

    def match(self, records: Sequence[HashRecord]) -> list[list[Match]]:
        queries, owners = self._queries(records)
        found: list[dict[int, Match]] = [{} for _ in records]
        for position, record in enumerate(records):
            if record.frames:  # a video travels as its frame hashes, one request each
                found[position] = {match.media_id: match for match in self._video(record)}
        for start in range(0, len(queries), MAX_QUERIES_PER_REQUEST):
            batch = queries[start : start + MAX_QUERIES_PER_REQUEST]
            for (position, transform), answer in zip(owners[start : start + len(batch)], self._post(batch)):
                for item in answer["matches"]:
                    match = replace(Match.from_json(item), transform=transform)
                    best = found[position].get(match.media_id)
                    if best is None or match.distance < best.distance:
                        found[position][match.media_id] = match
        return [sorted(slot.values(), key=lambda match: (match.distance, match.media_id)) for slot in found]

    @staticmethod
    def _queries(records: Sequence[HashRecord]) -> tuple[list[dict[str, object]], list[tuple[int, str]]]:
        queries: list[dict[str, object]] = []
        owners: list[tuple[int, str]] = []
        for position, record in enumerate(records):
            if record.frames:
                continue  # asked by `_video`
            for signal in ranked_signals():  # every one the server searches: hash-list items may lack sha256
                value = record.value(signal.name)
                if not value or signal.media_kinds.isdisjoint({"file", "image"}):
                    continue
                quality = record.quality(signal.name)
                if quality is not None and quality < signal.min_quality:
                    continue  # the reference's rule: low-quality hashes match noise
                variants = record.variants.get(signal.name) or (value,)
                for number, (name, variant) in enumerate(zip(signal.variant_names or ("",), variants)):
                    queries.append({"signal": signal.name, "value": variant} | ({} if quality is None else {"quality": quality}))
                    owners.append((position, name if number else ""))
                if shown := record.displayed.get(signal.name):  # the picture as a viewer shows it (EXIF orientation)
                    queries.append({"signal": signal.name, "value": shown[0]} | ({} if shown[1] is None else {"quality": shown[1]}))
                    owners.append((position, DISPLAYED))
        return queries, owners

    def _video(self, record: HashRecord) -> list[Match]:
        body: dict[str, object] = {
            "label": record.path, "signals": {s.name: value for s in exact_signals() if (value := record.value(s.name))},
            "frames": [
                {"number": f.number, "timestamp": f.timestamp, "pdq": f.pdq, "quality": f.quality,
                 "variants": [{"name": name, "pdq": pdq, "quality": quality} for name, pdq, quality in f.variants]}
                for f in record.frames
            ],
        }  # fmt: skip
        return [Match.from_json(item) for item in self._post_json("/api/v1/query/video", body)["matches"]]

    def similar(self, records: Sequence[HashRecord]) -> list[list[Match]]:
        """The server's similarity matches of each record, from its local features (none sent
        for a record without features: it gets no match)."""
        found: list[list[Match]] = [[] for _ in records]
        local = {signal.name for signal in descriptor_signals()}  # a global-descriptor embedding is searched locally only
        wanted = [position for position, record in enumerate(records) if any(f.signal in local for f in record.features)]
        for start in range(0, len(wanted), FEATURE_ITEMS_PER_REQUEST):
            batch = wanted[start : start + FEATURE_ITEMS_PER_REQUEST]
            items = [
                {
                    "label": records[position].path[:500],
                    "features": [
                        {"signal": f.signal, "timestamp": f.timestamp, "data": base64.b64encode(f.data).decode()}
                        for f in records[position].features
                        if f.signal in local
                    ],
                }
                for position in batch
            ]
            answer = self._post_json("/api/v1/query/similar/features", {"items": items}, refused_hint=SIMILAR_REFUSED)
            for position, result in zip(batch, answer):
                found[position] = [Match.from_json(item) for item in result["matches"]]
        return found

    def _post(self, queries: list[dict[str, object]]) -> list[dict]:
        return self._post_json("/api/v1/query/hashes", {"queries": queries})

    def _post_json(self, path: str, body: dict[str, object], refused_hint: str = "") -> Any:
        try:
            response = self.client.post(path, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise RemoteError(f"cannot reach the server: {exc}") from None
        if response.status_code == 403 and refused_hint:
            raise RemoteError(f"the server answered 403: {refused_hint}")
        if response.status_code != 200:
            raise RemoteError(f"the server answered {response.status_code}: {response.text[:300]}")
        return response.json()
