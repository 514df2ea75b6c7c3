"""Signed checkpoints reveal what the chain alone cannot: rows removed from the end (all of
them, too) and a chain rewritten with every hash recomputed."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mediamatch.audit import trail
from mediamatch.audit.chain import GENESIS_HASH
from mediamatch.audit.checkpoint import (
    CheckpointError,
    CheckpointSchedule,
    Finding,
    append_checkpoint,
    append_line,
    check_checkpoints,
    make_checkpoint,
    parse_checkpoint,
    read_checkpoints,
)
from mediamatch.store.models.audit import AuditEventRow
from tests.audit.test_trail import ROW, fill, stored, tamper

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
KEY = Ed25519PrivateKey.generate()


def checkpointed(engine: sa.Engine, path: Path, events: int) -> None:
    fill(engine, events)
    append_checkpoint(path, make_checkpoint(engine, NOW), KEY)


def recompute_from(engine: sa.Engine, seq: int, **changes: object) -> None:
    """Rewrite row `seq` and re-seal it and every row after it, as an owner covering tracks would."""
    rows = stored(engine)
    prev = rows[seq - 2].row_hash if seq > 1 else GENESIS_HASH
    statements = []
    for record in rows[seq - 1 :]:
        edited = replace(record, prev_hash=prev, **(changes if record.seq == seq else {}))
        edited = replace(edited, row_hash=edited.computed_hash())
        statements.append(sa.update(ROW).where(ROW.seq == record.seq).values(detail=edited.detail, prev_hash=edited.prev_hash, row_hash=edited.row_hash))
        prev = edited.row_hash
    tamper(engine, *statements)


def test_an_untouched_trail_matches_its_checkpoints(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    checkpointed(engine, path, 3)
    checkpointed(engine, path, 2)
    checkpoints = read_checkpoints(path, KEY.public_key())
    assert [c.seq for c in checkpoints] == [3, 5]
    assert check_checkpoints(engine, checkpoints).ok and check_checkpoints(engine, checkpoints).checked == 2


@pytest.mark.parametrize("keep", [0, 2])
def test_rows_removed_from_the_end_are_found(engine: sa.Engine, tmp_path: Path, keep: int) -> None:
    path = tmp_path / "checkpoints.jsonl"
    checkpointed(engine, path, 5)
    tamper(engine, sa.delete(AuditEventRow).where(AuditEventRow.seq > keep))
    assert trail.verify(engine).ok  # the chain alone cannot tell
    result = check_checkpoints(engine, read_checkpoints(path, KEY.public_key()))
    assert not result.ok and result.finding is Finding.TRUNCATED
    assert f"ends at seq {keep}" in result.reason and f"rows {keep + 1}-5" in result.reason


def test_a_rewritten_and_rehashed_chain_is_found(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    checkpointed(engine, path, 5)
    recompute_from(engine, 2, detail='{"query":"something else"}')
    assert trail.verify(engine).ok  # the chain alone cannot tell
    result = check_checkpoints(engine, read_checkpoints(path, KEY.public_key()))
    assert not result.ok and result.finding is Finding.REWRITTEN and "row seq 5" in result.reason


def test_rows_after_the_newest_checkpoint_are_not_vouched_for(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    checkpointed(engine, path, 3)
    fill(engine, 2)
    tamper(engine, sa.delete(AuditEventRow).where(AuditEventRow.seq > 3))
    assert check_checkpoints(engine, read_checkpoints(path, KEY.public_key())).ok  # why checkpoints run on a schedule


def test_a_broken_chain_gets_no_checkpoint(engine: sa.Engine) -> None:
    fill(engine, 3)
    tamper(engine, sa.update(AuditEventRow).where(AuditEventRow.seq == 2).values(actor="mallory"))
    with pytest.raises(CheckpointError, match="broken at seq 2"):
        make_checkpoint(engine, NOW)


def test_an_empty_trail_can_be_checkpointed(engine: sa.Engine, tmp_path: Path) -> None:
    made = make_checkpoint(engine, NOW)
    assert (made.seq, made.row_hash) == (0, GENESIS_HASH)


def test_forged_and_foreign_checkpoints_are_refused(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    checkpointed(engine, path, 2)
    line = path.read_text().strip()
    assert parse_checkpoint(line, KEY.public_key()).seq == 2
    forged = json.loads(line) | {"seq": 1}
    with pytest.raises(CheckpointError, match="not signed by this key"):
        parse_checkpoint(json.dumps(forged), KEY.public_key())
    with pytest.raises(CheckpointError, match="not signed by this key"):
        parse_checkpoint(line, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CheckpointError, match="line 2"):
        path.write_text(line + "\n{not json\n")
        read_checkpoints(path, KEY.public_key())


def test_a_schedule_signs_the_head_at_start_on_every_tick_and_at_stop(engine: sa.Engine, tmp_path: Path) -> None:
    fill(engine, 2)
    out = tmp_path / "checkpoints.jsonl"
    failures: list[str] = []

    def unreachable(line: str) -> None:
        failures.append(line)
        raise OSError("receiver down")

    schedule = CheckpointSchedule(engine, KEY, timedelta(milliseconds=50), [partial(append_line, out), unreachable])
    schedule.start()
    deadline = time.monotonic() + 30
    while (not out.exists() or len(out.read_text().splitlines()) < 3) and time.monotonic() < deadline:
        time.sleep(0.02)
    fill(engine, 3)  # written while the schedule runs: the checkpoint made at stop covers them
    schedule.stop()
    made = read_checkpoints(out, KEY.public_key())  # every line signed with the key
    assert len(made) >= 4 and made[0].seq == 2 and made[-1].seq == 5
    assert [c.seq for c in made] == sorted(c.seq for c in made)
    assert len(failures) == len(made) and schedule.made == 0  # a failed delivery is logged and retried next tick; the file still got each
    assert check_checkpoints(engine, made).ok


def test_a_schedule_keeps_running_when_the_chain_is_broken(engine: sa.Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fill(engine, 3)
    tamper(engine, sa.update(ROW).where(ROW.seq == 2).values(actor="someone else"))
    out = tmp_path / "checkpoints.jsonl"
    schedule = CheckpointSchedule(engine, KEY, timedelta(milliseconds=20), [partial(append_line, out)])
    schedule.start()
    time.sleep(0.2)
    schedule.stop()
    assert not out.exists()
    assert "audit checkpoint not made" in caplog.text and "broken at seq 2" in caplog.text
