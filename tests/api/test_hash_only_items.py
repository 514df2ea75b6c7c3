"""Items imported from another system's hash list, through the API: found by MD5 and SHA-1,
never offered as content (there is none), and completed, not duplicated, when the file arrives."""

from __future__ import annotations

import hashlib

from mediamatch.auth.permissions import Role
from mediamatch.interop.records import ExchangeRecord
from mediamatch.services.exchange import ImportRequest, import_records
from tests.api.conftest import AGENCIES, jpeg

NL, BR = AGENCIES[0][0], AGENCIES[1][0]


def test_hash_only_items_match_have_no_content_and_merge_with_their_upload(server) -> None:
    data = jpeg(77)
    md5, sha1 = hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest()
    summary = import_records(server.client.app.state.engine, [ExchangeRecord(md5=md5, series="Avocet", victim_identified=True)], ImportRequest(agency=BR))  # type: ignore[attr-defined]
    assert summary.imported == 1

    queries = {"queries": [{"signal": "md5", "value": md5}, {"signal": "sha1", "value": sha1}]}
    found = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR), json=queries).json()
    assert [result["known"] for result in found] == [True, False]  # the list gave no SHA-1
    match = found[0]["matches"][0]
    assert (match["signal"], match["series"], match["victim_identified"], match["known_from"]) == ("md5", ["Avocet"], True, [BR])
    media_id = match["media_id"]
    for view in ("content", "thumbnail"):
        response = server.client.get(f"/api/v1/media/{media_id}/{view}", headers=server.headers(Role.INVESTIGATOR))
        assert response.status_code == 404 and "known by hashes only" in response.json()["detail"]

    upload = server.client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR, NL),
        files=[("files", ("avocet.jpg", data, "image/jpeg"))], data={"series": "Avocet", "category": "1"},
    ).json()  # fmt: skip
    assert [(row["status"], row["media_id"], row["known_from"], row["victim_identified"]) for row in upload] == [("known", media_id, [BR], True)]
    found = server.client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR), json=queries).json()
    assert [result["known"] for result in found] == [True, True]  # the file brought its SHA-1
    assert {result["matches"][0]["media_id"] for result in found} == {media_id}
    content = server.client.get(f"/api/v1/media/{media_id}/content", headers=server.headers(Role.INVESTIGATOR))
    assert content.status_code == 200 and content.content == data
