"""`mediamatch audit`: check the audit trail's chain, and list or export its events for auditors."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mediamatch.audit import export
from mediamatch.audit.chain import format_time
from mediamatch.audit.events import AuditAction, AuditEvent
from mediamatch.cli.common import DbOption, console, local_actor, open_catalogue

if TYPE_CHECKING:
    from mediamatch.audit import trail
    from mediamatch.audit.checkpoint import Checkpoint

audit_app = typer.Typer(help="Verify the tamper-evident audit trail; list and export its events.", no_args_is_help=True)


def _parse_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or time (e.g. 2026-11-26 or 2026-11-26T09:30+01:00)") from None


ActorOption = Annotated[str | None, typer.Option("--actor", help="Only events by this user.", show_default=False)]
AgencyOption = Annotated[str | None, typer.Option("--agency", help="Only events by users of this agency.", show_default=False)]
ActionOption = Annotated[
    list[AuditAction] | None,
    typer.Option("--action", metavar="ACTION", help=f"Only this kind of event; repeat for several. One of: {', '.join(AuditAction)}.", show_default=False),
]
ObjectTypeOption = Annotated[str | None, typer.Option("--object-type", help="Only events on this kind of object (e.g. media, series).", show_default=False)]
ObjectIdOption = Annotated[str | None, typer.Option("--object-id", help="Only events on the object with this id.", show_default=False)]
SinceOption = Annotated[
    datetime | None,
    typer.Option(
        "--since", parser=_parse_time, metavar="TIME", help="Only events at or after this ISO 8601 time (UTC unless an offset is given).", show_default=False
    ),
]
UntilOption = Annotated[
    datetime | None,
    typer.Option(
        "--until", parser=_parse_time, metavar="TIME", help="Only events before this ISO 8601 time (UTC unless an offset is given).", show_default=False
    ),
]


@audit_app.command("verify")
def verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint file (from `audit checkpoint`) kept outside the database: also find rows removed from the end, or rewritten with their hashes recomputed.",
            show_default=False,
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The Ed25519 public key (PEM) the checkpoints were signed with; needed with --checkpoint.", show_default=False),
    ] = None,
    db: DbOption = None,
) -> None:
    """Check every row of the hash chain; exit 1 naming the first edited, deleted or reordered row
    (and, with --checkpoint, a truncated tail or a recomputed chain)."""
    from mediamatch.audit import trail
    from mediamatch.audit.checkpoint import check_checkpoints

    checkpoints = _read_checkpoints(checkpoint, public_key) if checkpoint is not None else None
    engine = open_catalogue(db)
    result = trail.verify(engine)
    if not result.ok:
        console.print(f"[red]audit trail BROKEN at seq {result.first_bad_seq}: {result.reason}[/] ({result.checked} row(s) before it are intact)")
        raise typer.Exit(code=1)
    if checkpoints is None:
        console.print(
            f"audit trail intact: {result.checked} event(s); head hash {result.head_hash} (keep checkpoints outside the database to detect a truncated tail: `mediamatch audit checkpoint`)"
        )
        return
    compared = check_checkpoints(engine, checkpoints)
    if not compared.ok:
        console.print(f"[red]audit trail {str(compared.finding).upper()}:[/] {escape(compared.reason)} (the chain itself verifies: {result.checked} event(s))")
        raise typer.Exit(code=1)
    newest = checkpoints[-1]
    console.print(
        f"audit trail intact: {result.checked} event(s); matches {compared.checked} checkpoint(s), the newest at seq {newest.seq} made {newest.made_at}"
    )


@audit_app.command("checkpoint")
def checkpoint(
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint file to add to (created if missing); keep it, or a copy, off this server.")],
    key: Annotated[
        Path, typer.Option("--key", help="Ed25519 private key (PEM, e.g. from `mediamatch hashlist keygen`; use its own key), kept outside the database.")
    ],
    post: Annotated[
        str | None, typer.Option("--post", help="Also POST the signed checkpoint as JSON to this HTTPS URL (a second party's receiver).", show_default=False)
    ] = None,
    db: DbOption = None,
) -> None:
    """Sign the chain's current head (seq, hash, time) after verifying the whole chain, and append
    it to a file: `audit verify --checkpoint` later finds a truncated tail or a rewritten chain."""
    from mediamatch.audit.checkpoint import CheckpointError, append_checkpoint, make_checkpoint
    from mediamatch.hashlist.format import HashListError
    from mediamatch.hashlist.signing import load_private_key

    try:
        private_key = load_private_key(key)
    except HashListError as exc:
        raise typer.BadParameter(str(exc), param_hint="--key") from None
    engine = open_catalogue(db)
    try:
        made = make_checkpoint(engine, datetime.now(timezone.utc))
    except CheckpointError as exc:
        console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(code=1) from None
    line = append_checkpoint(out, made, private_key)
    console.print(f"checkpoint of seq {made.seq} (head hash {made.row_hash}) added to {escape(str(out))}")
    if post is not None:
        _send(post, line)


def _send(url: str, line: str) -> None:
    """POST the signed checkpoint line's JSON to a second party (webhook rules: public HTTPS)."""
    import json

    import httpx

    from mediamatch.api.settings import ServerSettings
    from mediamatch.services.webhooks import WebhookRefused, post_json

    try:
        status = post_json(url, json.loads(line), ServerSettings.from_environment().webhook_policy())
    except (WebhookRefused, httpx.HTTPError) as exc:
        console.print(f"[red]checkpoint not sent to {escape(url)}: {escape(str(exc))}[/]")
        raise typer.Exit(code=1) from None
    console.print(f"sent to {escape(url)}: HTTP {status}")


def _read_checkpoints(path: Path, public_key: Path | None) -> list[Checkpoint]:
    from mediamatch.audit.checkpoint import CheckpointError, read_checkpoints
    from mediamatch.hashlist.format import HashListError
    from mediamatch.hashlist.signing import load_public_key

    if public_key is None:
        raise typer.BadParameter("--checkpoint needs --public-key: a checkpoint is only as good as the key that checks it", param_hint="--public-key")
    try:
        return read_checkpoints(path, load_public_key(public_key))
    except HashListError as exc:
        raise typer.BadParameter(str(exc), param_hint="--public-key") from None
    except CheckpointError as exc:
        raise typer.BadParameter(str(exc), param_hint="--checkpoint") from None


@audit_app.command("list")
def list_events(
    actor: ActorOption = None,
    agency: AgencyOption = None,
    action: ActionOption = None,
    object_type: ObjectTypeOption = None,
    object_id: ObjectIdOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many events, newest first.")] = 50,
    db: DbOption = None,
) -> None:
    """The newest events matching the filters: who did what, to which object, when and from where."""
    from mediamatch.audit import trail
    from mediamatch.store.db import session_scope

    where = trail.AuditFilter(actor=actor, agency=agency, actions=tuple(action or ()), object_type=object_type, object_id=object_id, since=since, until=until)
    engine = open_catalogue(db)
    with session_scope(engine) as session:
        records = trail.query(session, where, limit=limit, newest_first=True)
    if not records:
        console.print("no audit events match")
        return
    table = Table()
    for heading in ("seq", "when (UTC)", "actor", "agency", "action", "object", "from", "detail"):
        table.add_column(heading, overflow="fold")  # an audit listing must not cut a value short
    for record in records:
        target = f"{record.object_type} {record.object_id}".strip()
        cells = (str(record.seq), format_time(record.at)[:19], record.actor, record.agency, record.action, target, record.source_ip, record.detail)
        table.add_row(*(Text(cell) for cell in cells))  # plain text: users type these, "[/]" must not break the table
    console.print(table)


@audit_app.command("export")
def export_events(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (replaced if it exists).")],
    fmt: Annotated[export.ExportFormat, typer.Option("--format", help="jsonl: exact, re-verifiable; csv: for spreadsheets.")] = export.ExportFormat.JSONL,
    actor: ActorOption = None,
    agency: AgencyOption = None,
    action: ActionOption = None,
    object_type: ObjectTypeOption = None,
    object_id: ObjectIdOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
) -> None:
    """Write every event matching the filters, in seq order, with their hashes. The export is itself audited."""
    from mediamatch.audit import trail
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import DEFAULT_AGENCY

    where = trail.AuditFilter(actor=actor, agency=agency, actions=tuple(action or ()), object_type=object_type, object_id=object_id, since=since, until=until)
    engine = open_catalogue(db)
    out.parent.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as session, out.open("w", encoding="utf-8", newline="") as handle:
        count = export.WRITERS[fmt](trail.iter_events(session, where), handle)
    detail = {"format": str(fmt), "rows": count, "file": str(out), "filter": _criteria(where)}
    with session_scope(engine) as session:
        trail.record(session, AuditEvent(local_actor(), DEFAULT_AGENCY, AuditAction.EXPORT, "audit_events", "", detail))
    console.print(f"{count} audit event(s) written to {escape(str(out))}")


def _criteria(where: trail.AuditFilter) -> dict[str, object]:
    """The filters that were set, as JSON values, for the export's own audit event."""
    values = {
        "actor": where.actor,
        "agency": where.agency,
        "actions": [str(action) for action in where.actions],
        "object_type": where.object_type,
        "object_id": where.object_id,
        "since": where.since.isoformat() if where.since else None,
        "until": where.until.isoformat() if where.until else None,
    }
    return {name: value for name, value in values.items() if value}


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
