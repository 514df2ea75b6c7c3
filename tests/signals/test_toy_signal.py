"""A new signal is one file: a toy signal from a test-only module, registered through the same
entry-point door as a plugin, is computed by `hash`, stored by `db add`, searched in triage,
exported in a hash list, looked up by the platform matcher and accepted by
`/api/v1/query/hashes`, with no other file touched."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from mediamatch.auth.permissions import Role
from mediamatch.catalog.hashes import HashRecord
from mediamatch.cli.main import app
from mediamatch.hashlist.format import read_hashlist
from mediamatch.services.hashlists import export_hashlist, set_consent
from mediamatch.services.matching import CatalogueMatcher
from mediamatch.services.platform_matcher import HashListMatcher
from mediamatch.signals import registry
from mediamatch.store.db import session_scope
from mediamatch.store.models.catalogue import MediaSignal
from mediamatch.testing import check_signal
from tests.api.conftest import Server, jpeg, server  # noqa: F401 (the server fixture)
from tests.signals.toy_signal import Blake2b64Signal

TOY = Blake2b64Signal.name
runner = CliRunner()


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The toy signal installed as a plugin is: one more entry point in the group."""
    installed = registry.entry_points

    def with_toy(group: str) -> list[EntryPoint]:
        return [*installed(group=group), EntryPoint(TOY, "tests.signals.toy_signal:Blake2b64Signal", group)]

    monkeypatch.setattr(registry, "entry_points", with_toy)
    registry.reload()
    yield
    monkeypatch.undo()
    registry.reload()


def toy_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_toy_signal_passes_the_kit() -> None:
    check_signal(Blake2b64Signal)


def test_a_signal_in_one_file_flows_through_every_part(toy_registered: None, db_url: str, tmp_path: Path) -> None:
    assert TOY in registry.signal_names()
    files = tmp_path / "in"
    files.mkdir()
    (files / "known.jpg").write_bytes(jpeg(5))
    known = toy_of(jpeg(5))

    # `hash` computes it.
    [line] = cli("hash", str(files / "known.jpg"), "--json", "--workers", "1").splitlines()
    assert json.loads(line)[TOY] == known

    # `db add` stores it.
    cli("db", "init", "--db", db_url)
    cli("db", "add", str(files / "known.jpg"), "--series", "Lark", "--category", "1", "--agency", "nlpol", "--workers", "1", "--db", db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(MediaSignal.media_id, MediaSignal.value).where(MediaSignal.signal == TOY)).one()
    assert stored.value == known

    # Triage searches it: a record holding only the toy value is found, and the report has its column.
    [[match]] = CatalogueMatcher.open(engine, tmp_path / "cache").match([HashRecord(path="only-toy", signals={TOY: known})])
    assert (match.media_id, match.signal, match.distance) == (stored.media_id, TOY, 0)
    cli("triage", str(files), "--out", str(tmp_path / "out"), "--workers", "1", "--db", db_url)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["files"][0][TOY] == known and report["files"][0]["status"] == "known_unidentified"
    assert TOY in (tmp_path / "out" / "report.csv").read_text().splitlines()[0].split(",")

    # The hash list exports it and the platform matcher looks it up.
    with session_scope(engine) as session:
        set_consent(session, "nlpol", True, actor="admin", actor_agency="nlpol")
    key = Ed25519PrivateKey.generate()
    export_hashlist(engine, tmp_path / "list.mmhl", key, actor="admin", agency="nlpol")
    hashlist = read_hashlist(tmp_path / "list.mmhl", key.public_key())
    assert len(hashlist.section("entries", TOY)) == 1
    matcher = HashListMatcher.from_hashlist(tmp_path / "list.mmhl", key.public_key())
    [hit] = matcher.lookup(TOY, known.upper())
    assert hit.distance == 0 and matcher.lookup(TOY, toy_of(b"other")) == []
    engine.dispose()


def test_the_api_accepts_and_matches_the_toy_signal(toy_registered: None, server: Server) -> None:  # noqa: F811 (the fixture)
    client = server.client
    uploaded = client.post(
        "/api/v1/media", headers=server.headers(Role.CONTRIBUTOR),
        files=[("files", ("known.jpg", jpeg(6), "image/jpeg"))], data={"series": "Lark", "category": "1"},
    )  # fmt: skip
    assert uploaded.status_code == 200, uploaded.text
    body = {"queries": [{"signal": TOY, "value": toy_of(jpeg(6))}, {"signal": TOY, "value": toy_of(b"x")}]}
    answer = client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR), json=body)
    assert answer.status_code == 200, answer.text
    assert [result["known"] for result in answer.json()] == [True, False]
    assert answer.json()[0]["matches"][0]["signal"] == TOY
    too_long = {"queries": [{"signal": TOY, "value": "0" * 17}]}
    refused = client.post("/api/v1/query/hashes", headers=server.headers(Role.INVESTIGATOR), json=too_long)
    assert refused.status_code == 422 and "16 hex digits" in refused.text
