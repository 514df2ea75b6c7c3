"""`mediamatch hashlist` end to end through Typer on a real catalogue: keys, consent, export,
verify (and refusal of a damaged file), export of the next version with its delta, apply."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from mediamatch.cli.main import app
from mediamatch.store.db import open_engine, session_scope
from mediamatch.store.models.catalogue import MediaSignal
from mediamatch.store.models.review import IndicatorDispute
from tests.cli.test_db_cli import make_jpegs

runner = CliRunner()


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_export_verify_delta_apply(db_url: str, tmp_path: Path) -> None:
    make_jpegs(tmp_path / "known", 3)
    invoke("db", "add", str(tmp_path / "known"), "--recursive", "--series", "Lark", "--agency", "Unit NL", "--db", db_url)
    key = tmp_path / "keys" / "signing.key"
    key.parent.mkdir()
    assert "give it to platforms" in invoke("hashlist", "keygen", "--out", str(key))
    assert key.stat().st_mode & 0o777 == 0o600
    assert "exists" in invoke("hashlist", "keygen", "--out", str(key), code=1)
    public = str(key) + ".pub"

    refused = invoke("hashlist", "export", "--out", str(tmp_path / "v0.mmhl"), "--key", str(key), "--name", "none", "--db", db_url, code=1)
    assert "the list would be empty" in refused and "hashlist consent AGENCY" in refused and "--allow-empty" in refused  # no agency agreed to share yet
    assert not (tmp_path / "v0.mmhl").exists()
    empty = invoke("hashlist", "export", "--out", str(tmp_path / "v0.mmhl"), "--key", str(key), "--name", "none", "--allow-empty", "--db", db_url)
    assert "none version 1" in empty and "md5 0" in empty  # the refused export took no version number
    assert "shares its contributions" in invoke("hashlist", "consent", "Unit NL", "--db", db_url)
    assert "no agency named" in invoke("hashlist", "consent", "Nobody", "--db", db_url, code=1)

    v1 = tmp_path / "v1.mmhl"
    out = invoke("hashlist", "export", "--out", str(v1), "--key", str(key), "--name", "platforms", "--signal", "md5", "--signal", "pdq", "--db", db_url)
    assert "platforms version 1" in out and "md5 3" in out
    published = v1.read_bytes()
    overwrite = invoke(
        "hashlist", "export", "--out", str(v1), "--key", str(key), "--name", "platforms", "--signal", "md5", "--signal", "pdq", "--db", db_url, code=1
    )
    assert f"{v1} exists; a published list is never overwritten" in overwrite and v1.read_bytes() == published
    verified = invoke("hashlist", "verify", str(v1), "--public-key", public)
    assert "platforms version 1" in verified and '"md5": 3' in verified
    assert "category 0 (non-pertinent) is never exported" in invoke(
        "hashlist", "export", "--out", str(tmp_path / "x"), "--key", str(key), "--category", "0", "--db", db_url, code=1
    )

    damaged = bytearray(v1.read_bytes())
    damaged[-100] ^= 0xFF
    (tmp_path / "damaged.mmhl").write_bytes(bytes(damaged))
    refused = invoke("hashlist", "verify", str(tmp_path / "damaged.mmhl"), "--public-key", public, code=1)
    assert "refused" in refused and "damaged" in refused

    engine = open_engine(db_url)
    with session_scope(engine) as session:
        disputed = session.scalars(sa.select(MediaSignal.id).where(MediaSignal.signal == "md5").order_by(MediaSignal.id)).first()
        session.add(IndicatorDispute(signal_id=disputed, reason="false positive"))
    engine.dispose()
    v2 = tmp_path / "v2.mmhl"
    out = invoke("hashlist", "export", "--out", str(v2), "--key", str(key), "--previous", str(v1), "--signal", "md5", "--signal", "pdq", "--db", db_url)
    assert "platforms version 2" in out and '"removed": {"md5": 1}' in out
    assert "(delta from version 1)" in invoke("hashlist", "verify", str(v2) + ".delta", "--public-key", public)
    rebuilt = tmp_path / "rebuilt.mmhl"
    invoke("hashlist", "apply", str(v1), str(v2) + ".delta", "--public-key", public, "--out", str(rebuilt))
    assert rebuilt.read_bytes() == v2.read_bytes()
    assert "turns version 1 into 2" in invoke("hashlist", "apply", str(v2), str(v2) + ".delta", "--public-key", public, "--out", str(tmp_path / "no"), code=1)
    listing = invoke("hashlist", "versions", "--db", db_url)
    assert "platforms" in listing and "none" in listing


def test_serve_as_matcher_needs_a_list_a_key_and_a_real_token(tmp_path: Path) -> None:
    assert "needs --hashlist FILE and --public-key" in invoke("serve", "--role", "matcher", code=2)
    assert "unknown role 'judge'" in invoke("serve", "--role", "judge", code=2)
    (tmp_path / "token").write_text("short\n")
    refused = invoke("serve", "--role", "matcher", "--hashlist", "l", "--public-key", "k", "--token-file", str(tmp_path / "token"), code=1)
    assert "at least 16 characters" in refused
