"""`mediamatch audit` end to end through Typer, on a real database: verify passes on an intact
trail and fails naming the tampered row; list filters; export writes JSONL and CSV and is
itself audited. The group is mounted on its own app, as the lead wires it into `cli.main`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
import typer.main
from typer.testing import CliRunner

from mediamatch.audit import trail
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.cli import audit as audit_cli
from mediamatch.store.db import migrate, open_engine, session_scope

runner = CliRunner()
app = typer.Typer()
audit_cli.register(app)


@pytest.fixture
def filled(db_url: str) -> str:
    """A database holding five events: alice views and searches, bob logs in and uploads."""
    engine = open_engine(db_url)
    migrate(engine)
    with session_scope(engine) as session:
        for actor, action, object_id in [
            ("alice", AuditAction.LOGIN, ""),
            ("alice", AuditAction.SEARCH, ""),
            ("alice", AuditAction.VIEW_CONTENT, "42"),
            ("bob", AuditAction.LOGIN, ""),
            ("bob", AuditAction.UPLOAD, "43"),
        ]:
            trail.record(
                session, AuditEvent(actor, "NL unit" if actor == "alice" else "BKA", action, "media" if object_id else "", object_id, {"n": 1}, "192.0.2.1")
            )
    engine.dispose()
    return db_url


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["audit", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_verify_an_intact_trail(filled: str) -> None:
    output = invoke("verify", "--db", filled)
    assert "audit trail intact: 5 event(s); head hash " in output


def test_verify_names_the_tampered_row(filled: str) -> None:
    engine = open_engine(filled)
    with engine.begin() as conn:  # as the database owner, past the append-only triggers
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.execute(sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    engine.dispose()
    output = invoke("verify", "--db", filled, code=1)
    assert "audit trail BROKEN at seq 3: row seq 3: contents do not match its row_hash" in output
    assert "(2 row(s) before it are intact)" in output


def listed_seqs(*args: str) -> list[str]:
    """The seq column of `audit list`'s table (rows whose first cell is a number)."""
    cells = [line.split("│")[1].strip() for line in invoke("list", *args).splitlines() if line.startswith("│")]
    return [cell for cell in cells if cell.isdigit()]


def test_list_filters_newest_first(filled: str) -> None:
    assert listed_seqs("--actor", "alice", "--db", filled) == ["3", "2", "1"]
    assert listed_seqs("--action", "login", "--action", "upload", "--limit", "2", "--db", filled) == ["5", "4"]
    assert listed_seqs("--until", "2999-01-01T00:00+02:00", "--object-type", "media", "--object-id", "43", "--db", filled) == ["5"]
    assert "no audit events match" in invoke("list", "--agency", "Nowhere", "--db", filled)
    assert "no audit events match" in invoke("list", "--since", "2999-01-01", "--db", filled)


def test_list_rejects_bad_input(filled: str) -> None:
    assert "is not an ISO 8601" in invoke("list", "--since", "yesterday", "--db", filled, code=2)
    invoke("list", "--action", "no_such_action", "--db", filled, code=2)


def test_export_jsonl_and_csv_and_the_export_is_audited(filled: str, tmp_path: Path) -> None:
    jsonl = tmp_path / "alice.jsonl"
    assert "3 audit event(s) written" in invoke("export", "--out", str(jsonl), "--actor", "alice", "--db", filled)
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [(row["seq"], row["actor"], row["action"]) for row in rows] == [(1, "alice", "login"), (2, "alice", "search"), (3, "alice", "view_content")]
    assert len(rows[2]["row_hash"]) == 64 and rows[2]["prev_hash"] == rows[1]["row_hash"]

    table = tmp_path / "all.csv"
    assert "6 audit event(s) written" in invoke("export", "--out", str(table), "--format", "csv", "--db", filled)
    with table.open(newline="", encoding="utf-8") as handle:
        read = list(csv.DictReader(handle))
    assert [row["seq"] for row in read] == ["1", "2", "3", "4", "5", "6"]
    assert read[5]["action"] == "export" and read[5]["object_type"] == "audit_events"  # the first export
    assert json.loads(read[5]["detail"]) == {"file": str(jsonl), "filter": {"actor": "alice"}, "format": "jsonl", "rows": 3}

    invoke("export", "--out", str(tmp_path / "again.jsonl"), "--action", "export", "--db", filled)
    assert "audit trail intact: 8 event(s)" in invoke("verify", "--db", filled)


def test_every_audit_command_and_option_has_help() -> None:
    group = typer.main.get_command(app).commands["audit"]  # type: ignore[attr-defined]
    assert set(group.commands) == {"verify", "checkpoint", "list", "export"}
    for name, command in group.commands.items():
        assert (command.help or "").strip(), f"audit {name} has no help"
        for parameter in command.params:
            if parameter.param_type_name == "option":
                assert (parameter.help or "").strip(), f"audit {name} option {parameter.opts} has no help"


@pytest.fixture
def signing_key(tmp_path: Path) -> tuple[Path, Path]:
    from mediamatch.hashlist.signing import generate_keypair

    private = tmp_path / "audit-checkpoint.key"
    return private, generate_keypair(private)


def test_checkpoints_reveal_a_truncated_tail(filled: str, tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    private, public = signing_key
    checkpoints = tmp_path / "off-site" / "checkpoints.jsonl"
    assert "checkpoint of seq 5" in invoke("checkpoint", "--out", str(checkpoints), "--key", str(private), "--db", filled)
    assert "matches 1 checkpoint(s), the newest at seq 5" in invoke("verify", "--checkpoint", str(checkpoints), "--public-key", str(public), "--db", filled)
    engine = open_engine(filled)
    with engine.begin() as conn:  # the owner removes every row, past the triggers
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        conn.exec_driver_sql("DELETE FROM audit_events")
    engine.dispose()
    assert "audit trail intact: 0 event(s)" in invoke("verify", "--db", filled)  # the chain alone cannot tell
    output = invoke("verify", "--checkpoint", str(checkpoints), "--public-key", str(public), "--db", filled, code=1)
    assert "TRUNCATED" in output and "ends at seq 0" in output


def test_checkpoints_reveal_a_recomputed_chain(filled: str, tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    from tests.audit.test_checkpoint import recompute_from

    private, public = signing_key
    checkpoints = tmp_path / "checkpoints.jsonl"
    invoke("checkpoint", "--out", str(checkpoints), "--key", str(private), "--db", filled)
    engine = open_engine(filled)
    recompute_from(engine, 3, detail='{"n":2}')
    engine.dispose()
    assert "audit trail intact: 5 event(s)" in invoke("verify", "--db", filled)
    output = invoke("verify", "--checkpoint", str(checkpoints), "--public-key", str(public), "--db", filled, code=1)
    assert "REWRITTEN" in output and "row seq 5" in output


def test_a_checkpoint_needs_the_public_key_to_check_it(filled: str, tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    private, _ = signing_key
    checkpoints = tmp_path / "checkpoints.jsonl"
    invoke("checkpoint", "--out", str(checkpoints), "--key", str(private), "--db", filled)
    assert "needs --public-key" in unboxed(invoke("verify", "--checkpoint", str(checkpoints), "--db", filled, code=2))
    foreign = invoke("verify", "--checkpoint", str(checkpoints), "--public-key", str(signing_key_elsewhere(tmp_path)), "--db", filled, code=2)
    assert "not signed by this key" in unboxed(foreign)


def unboxed(output: str) -> str:
    """A usage error's text without the box Rich draws around it and its line breaks."""
    return " ".join(output.replace("│", " ").split())


def signing_key_elsewhere(tmp_path: Path) -> Path:
    from mediamatch.hashlist.signing import generate_keypair

    return generate_keypair(tmp_path / "someone-else.key")
