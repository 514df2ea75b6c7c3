"""The audit trail on real databases (SQLite and PostgreSQL): a long chain verifies; an edited,
deleted or reordered row is found and named; the triggers refuse UPDATE and DELETE; concurrent
appends never fork the chain; auditors' filters select the right events; exports round-trip
and can be re-verified without the database.

Tampering is done as the database owner would: the triggers are first switched off (disabled
on PostgreSQL; dropped on SQLite, which cannot disable a trigger). That is exactly the attacker
the chain exists for, since anyone without those rights is already stopped by the triggers.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from mediamatch.audit import export, trail
from mediamatch.audit.chain import GENESIS_HASH, RECORD_FIELDS, AuditRecord, check_chain
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.store.db import open_engine, session_scope
from mediamatch.store.models.audit import AuditEventRow

ACTIONS = list(AuditAction)


def event(i: int, **changes: object) -> AuditEvent:
    """A varied, benign event: the i-th of a run, with any field overridden."""
    fields: dict[str, object] = {
        "actor": f"analyst{i % 3}",
        "agency": "NL unit" if i % 2 else "BKA",
        "action": ACTIONS[i % len(ACTIONS)],
        "object_type": "media",
        "object_id": str(i),
        "detail": {"query": f"série {i}", "page": i, "nested": {"b": 1, "a": [i, None]}},
        "source_ip": f"192.0.2.{i % 250}",
    }
    fields.update(changes)
    return AuditEvent(**fields)  # type: ignore[arg-type]


def fill(engine: sa.Engine, count: int) -> list[int]:
    with session_scope(engine) as session:
        return [trail.record(session, event(i)) for i in range(count)]


def tamper(engine: sa.Engine, *statements: sa.Executable) -> None:
    """Run `statements` with the append-only triggers out of the way, as the owner can."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        for statement in statements:
            conn.execute(statement)
        if postgres:
            conn.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


def stored(engine: sa.Engine) -> list[AuditRecord]:
    with session_scope(engine) as session:
        return list(trail.iter_events(session))


def record_to_kwargs(record: AuditRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in RECORD_FIELDS}


ROW = AuditEventRow


def test_the_hash_rule_is_fixed() -> None:
    # Pinned: changing the rule would make every existing chain fail verification. The value
    # was also computed independently from the rule written in audit/chain.py's docstring.
    record = AuditRecord(
        seq=1,
        at=datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=timezone.utc),
        actor="analyst.one",
        agency="NL unit",
        action="view_content",
        object_type="media",
        object_id="42",
        detail='{"reason":"séries review"}',
        source_ip="192.0.2.7",
        prev_hash=GENESIS_HASH,
        row_hash="",
    )
    assert record.computed_hash() == "b29a8c5ebb54e76c8fc9d437fa89c25779af50544df0741c8a58c5b54746829b"
    # The same moment written in another zone hashes the same.
    assert AuditRecord(**{**record_to_kwargs(record), "at": record.at.astimezone(timezone(timedelta(hours=5)))}).computed_hash() == record.computed_hash()


def test_an_empty_trail_verifies(engine: sa.Engine) -> None:
    assert trail.verify(engine) == trail.VerifyResult(True, 0, head_hash=GENESIS_HASH)


def test_a_long_chain_verifies_across_batches(engine: sa.Engine) -> None:
    seqs = fill(engine, 120)
    assert seqs == list(range(1, 121))
    rows = stored(engine)
    assert [row.prev_hash for row in rows] == [GENESIS_HASH] + [row.row_hash for row in rows[:-1]]
    assert len({row.row_hash for row in rows}) == 120
    for batch_size in (7, 120, 10_000):  # batch edges inside, at and beyond the end
        result = trail.verify(engine, batch_size=batch_size)
        assert (result.ok, result.checked, result.first_bad_seq, result.head_hash) == (True, 120, None, rows[-1].row_hash)


def test_stored_fields_read_back_exactly(engine: sa.Engine) -> None:
    before = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        trail.record(session, event(5, object_id=77, detail={"z": 1, "a": "ü"}))
    [row] = stored(engine)
    assert before <= row.at <= datetime.now(timezone.utc) and row.at.tzinfo == timezone.utc
    assert (row.actor, row.agency, row.action, row.object_type, row.object_id, row.source_ip) == (
        "analyst2",
        "NL unit",
        str(ACTIONS[5]),
        "media",
        "77",
        "192.0.2.5",
    )
    assert row.detail == '{"a":"ü","z":1}'  # canonical: sorted keys, no spaces, UTF-8 kept


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "someone.else"),
        ("agency", "Other unit"),
        ("action", "permission_change"),
        ("object_id", "9999"),
        ("detail", '{"query":"innocent"}'),
        ("source_ip", "198.51.100.1"),
        ("at", datetime(2020, 1, 1, tzinfo=timezone.utc)),
        ("prev_hash", "e" * 64),
        ("row_hash", "f" * 64),
    ],
)
def test_an_edited_row_is_named(engine: sa.Engine, column: str, value: object) -> None:
    fill(engine, 10)
    tamper(engine, sa.update(ROW).where(ROW.seq == 4).values({column: value}))
    result = trail.verify(engine, batch_size=3)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 4, 3)
    assert result.reason.startswith("row seq 4: contents do not match its row_hash")
    assert result.head_hash == stored(engine)[2].row_hash  # the last row still known good


def test_an_edited_and_rehashed_row_breaks_the_next_link(engine: sa.Engine) -> None:
    fill(engine, 10)
    row = stored(engine)[3]
    forged = AuditRecord(**{**record_to_kwargs(row), "actor": "someone.else", "row_hash": ""})
    tamper(engine, sa.update(ROW).where(ROW.seq == 4).values(actor="someone.else", row_hash=forged.computed_hash()))
    result = trail.verify(engine)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert result.reason == "row seq 5: prev_hash does not match row seq 4 (a row before it was replaced)"


@pytest.mark.parametrize(
    ("deleted", "first_bad", "reason"),
    [
        ([6], 6, "row seq 7 follows row seq 5: seq 6 is missing (deleted)"),
        ([3, 4, 5], 3, "row seq 6 follows row seq 2: seqs 3-5 are missing (deleted)"),
        ([1], 1, "row seq 2 follows the start of the chain: seq 1 is missing (deleted)"),
    ],
)
def test_a_deleted_row_is_named(engine: sa.Engine, deleted: list[int], first_bad: int, reason: str) -> None:
    fill(engine, 10)
    tamper(engine, sa.delete(ROW).where(ROW.seq.in_(deleted)))
    result = trail.verify(engine, batch_size=4)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, first_bad, reason)


def test_deleting_a_row_and_renumbering_the_rest_is_found(engine: sa.Engine) -> None:
    fill(engine, 8)
    tamper(engine, sa.delete(ROW).where(ROW.seq == 5), *(sa.update(ROW).where(ROW.seq == seq).values(seq=seq - 1) for seq in range(6, 9)))
    result = trail.verify(engine)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "row seq 5: contents do not match" in result.reason


def test_swapped_rows_are_named(engine: sa.Engine) -> None:
    fill(engine, 10)
    # Three steps, since seq is unique at every row: 4 -> -4, 5 -> 4, -4 -> 5.
    tamper(
        engine,
        sa.update(ROW).where(ROW.seq == 4).values(seq=-4),
        sa.update(ROW).where(ROW.seq == 5).values(seq=4),
        sa.update(ROW).where(ROW.seq == -4).values(seq=5),
    )
    result = trail.verify(engine)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 4, 3)
    assert result.reason.startswith("row seq 4: ")


def test_a_row_moved_below_seq_1_is_named(engine: sa.Engine) -> None:
    fill(engine, 3)
    tamper(engine, sa.update(ROW).where(ROW.seq == 2).values(seq=0))
    result = trail.verify(engine)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 0, 0)
    assert result.reason == "row seq 0 is out of place before seq 1, where the chain starts (reordered or duplicated)"


def test_check_chain_names_rows_out_of_order() -> None:
    # A database keeps rows in seq order; an exported file handed to an auditor may not.
    rows = _chain(4)
    assert check_chain([rows[0], rows[1], rows[1], rows[2]]).reason == "row seq 2 is out of place after row seq 2 (reordered or duplicated)"
    result = check_chain([rows[0], rows[2], rows[1]])
    assert (result.first_bad_seq, result.checked) == (2, 1)


def _chain(count: int) -> list[AuditRecord]:
    """A valid chain built in memory, without a database."""
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        unsealed = AuditRecord(seq, datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seq), "a", "b", "login", "", "", "{}", "", prev, "")
        records.append(AuditRecord(**{**record_to_kwargs(unsealed), "row_hash": unsealed.computed_hash()}))
        prev = records[-1].row_hash
    assert check_chain(records).ok
    return records


def test_the_triggers_refuse_update_and_delete(engine: sa.Engine) -> None:
    fill(engine, 3)
    statements: list[sa.Executable] = [sa.update(ROW).where(ROW.seq == 2).values(actor="x"), sa.delete(ROW).where(ROW.seq == 3), sa.delete(ROW)]
    if engine.dialect.name == "postgresql":
        statements.append(sa.text("TRUNCATE audit_events"))
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="audit_events is append-only"), engine.begin() as conn:
            conn.execute(statement)
    assert trail.verify(engine).checked == 3
    assert [row.actor for row in stored(engine)] == ["analyst0", "analyst1", "analyst2"]


def test_an_event_rolls_back_with_its_transaction(engine: sa.Engine) -> None:
    fill(engine, 2)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        trail.record(session, event(2))
        raise RuntimeError("the audited action failed")
    assert fill(engine, 1) == [3]
    assert trail.verify(engine).ok


def test_concurrent_appends_never_fork_the_chain(engine: sa.Engine) -> None:
    threads, each = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with session_scope(engine) as session:
                    trail.record(session, event(i, actor=f"worker{n}"))
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's failure
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    rows = stored(engine)
    assert [row.seq for row in rows] == list(range(1, threads * each + 1))
    assert sorted(sum(1 for row in rows if row.actor == f"worker{n}") for n in range(threads)) == [each] * threads
    assert trail.verify(engine).checked == threads * each


def test_appends_by_another_process_are_followed(db_url: str, engine: sa.Engine) -> None:
    """Each engine remembers the head it wrote; a second engine (another server process) that
    wrote meanwhile makes that memory stale, which must cost a retry and never a fork or gap."""
    other = open_engine(db_url)
    try:
        for i in range(6):
            fill(engine if i % 3 else other, 1)
    finally:
        other.dispose()
    assert [row.seq for row in stored(engine)] == [1, 2, 3, 4, 5, 6]
    assert trail.verify(engine).checked == 6


def test_an_append_after_the_last_one_is_one_statement(engine: sa.Engine) -> None:
    fill(engine, 2)
    statements: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement != "BEGIN IMMEDIATE":
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        fill(engine, 1)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert len(statements) == 1 and statements[0].startswith("INSERT INTO audit_events")
    assert trail.verify(engine).checked == 3


def test_filters_select_the_right_events(engine: sa.Engine) -> None:
    seqs = fill(engine, 30)
    rows = {row.seq: row for row in stored(engine)}

    def seqs_of(where: trail.AuditFilter, **page: int) -> list[int]:
        with session_scope(engine) as session:
            return [record.seq for record in trail.query(session, where, **page)]

    def expected(keep: object) -> list[int]:
        return [seq for seq in seqs if keep(rows[seq])]  # type: ignore[operator]

    assert seqs_of(trail.AuditFilter()) == seqs
    assert seqs_of(trail.AuditFilter(actor="analyst1")) == expected(lambda r: r.actor == "analyst1")
    assert seqs_of(trail.AuditFilter(agency="BKA")) == expected(lambda r: r.agency == "BKA")
    views = (AuditAction.VIEW_THUMBNAIL, AuditAction.VIEW_CONTENT)
    assert seqs_of(trail.AuditFilter(actions=views)) == expected(lambda r: r.action in views)
    assert seqs_of(trail.AuditFilter(object_type="media", object_id="17")) == [18]
    both = trail.AuditFilter(actor="analyst0", agency="NL unit")
    assert seqs_of(both) == expected(lambda r: r.actor == "analyst0" and r.agency == "NL unit") != []
    window = trail.AuditFilter(since=rows[10].at, until=rows[20].at)
    assert seqs_of(window) == expected(lambda r: rows[10].at <= r.at < rows[20].at) and 10 in seqs_of(window)
    later = expected(lambda r: r.at >= rows[10].at)
    assert seqs_of(trail.AuditFilter(since=rows[10].at.replace(tzinfo=None))) == later  # naive means UTC
    assert seqs_of(trail.AuditFilter(since=rows[10].at.astimezone(timezone(timedelta(hours=-7))))) == later
    assert seqs_of(trail.AuditFilter(), limit=5, offset=3) == [4, 5, 6, 7, 8]
    assert seqs_of(trail.AuditFilter(), limit=3, newest_first=True) == [30, 29, 28]
    assert seqs_of(trail.AuditFilter(actor="nobody")) == []
    with session_scope(engine) as session:
        assert [r.seq for r in trail.iter_events(session, trail.AuditFilter(agency="BKA"), batch_size=4)] == expected(lambda r: r.agency == "BKA")


def test_jsonl_export_round_trips_and_reverifies(engine: sa.Engine) -> None:
    fill(engine, 25)
    out = io.StringIO()
    with session_scope(engine) as session:
        assert export.write_jsonl(trail.iter_events(session, batch_size=6), out) == 25
    lines = out.getvalue().splitlines()
    parsed = [json.loads(line) for line in lines]
    rows = stored(engine)
    assert parsed == [export.record_to_dict(row) for row in rows]
    assert parsed[0]["at"].endswith("Z") and json.loads(parsed[0]["detail"])["nested"] == {"a": [0, None], "b": 1}
    # An auditor can check the exported file alone, with no database access.
    rebuilt = [AuditRecord(**{**item, "at": datetime.fromisoformat(item["at"])}) for item in parsed]
    assert rebuilt == rows
    assert check_chain(rebuilt).ok


def test_csv_export_round_trips_and_defuses_formulas(engine: sa.Engine) -> None:
    fill(engine, 3)
    with session_scope(engine) as session:
        trail.record(session, event(3, actor='=HYPERLINK("http://example.invalid")', object_id="-1", detail={"q": "@x"}))
    out = io.StringIO(newline="")
    with session_scope(engine) as session:
        assert export.write_csv(trail.iter_events(session), out) == 4
    read = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    rows = stored(engine)
    assert [dict(r) for r in read[:3]] == [{k: str(v) for k, v in export.record_to_dict(row).items()} for row in rows[:3]]
    assert read[3]["actor"] == '\'=HYPERLINK("http://example.invalid")'
    assert read[3]["object_id"] == "'-1"
    assert read[3]["detail"] == '{"q":"@x"}'  # starts with "{": left alone


def test_events_are_checked_where_they_are_built() -> None:
    with pytest.raises(ValueError):
        AuditEvent("a", "b", "not_an_action")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="actor"):
        AuditEvent("", "b", AuditAction.LOGIN)
    with pytest.raises(ValueError):
        AuditEvent("a", "b", AuditAction.SEARCH, detail={"score": float("nan")})
    with pytest.raises(TypeError):
        AuditEvent("a", "b", AuditAction.SEARCH, detail={"when": datetime.now()})
    built = AuditEvent("a", "b", "login", object_id=5, detail={"b": 2, "a": 1})  # type: ignore[arg-type]
    assert built.action is AuditAction.LOGIN and built.object_id == "5"
    assert built.detail_json == '{"a":1,"b":2}'
    with pytest.raises(TypeError):
        built.detail["c"] = 3  # type: ignore[index]
