"""`mediamatch serve`, `mediamatch user add` and `mediamatch keys generate`: run the shared
server, create its first accounts, and make its content key."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mediamatch.cli.common import DbOption, console, open_catalogue, resolve_db

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mediamatch.audit.checkpoint import CheckpointSchedule
    from mediamatch.services.webhooks import WebhookPolicy

user_app = typer.Typer(help="Manage server accounts from the command line (the first admin, typically).", no_args_is_help=True)
keys_app = typer.Typer(help="Content-encryption keys for the server.", no_args_is_help=True)


SETTINGS_VARIABLE = "MEDIAMATCH_SERVE_SETTINGS"  # how `serve --workers N` hands its options to each worker process


def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="server: processes answering requests (each keeps its own matcher, loaded from the saved index).")
    ] = 1,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="Content key file (mode 0600); default: $MEDIAMATCH_CONTENT_KEYS.")] = None,
    blob_root: Annotated[Path | None, typer.Option("--blob-root", help="Folder for encrypted content (default: the data folder's blobs/).")] = None,
    insecure_cookies: Annotated[bool, typer.Option("--insecure-cookies", help="Allow session cookies over plain HTTP (development on loopback only).")] = False,
    checkpoint_every: Annotated[
        float | None,
        typer.Option(
            "--checkpoint-every", min=0.01, metavar="MINUTES", help="server: sign a checkpoint of the audit chain's head this often.", show_default=False
        ),
    ] = None,
    checkpoint_key: Annotated[
        Path | None,
        typer.Option("--checkpoint-key", help="server: Ed25519 private key (PEM) for the checkpoints, kept outside the database.", show_default=False),
    ] = None,
    checkpoint_out: Annotated[
        Path | None,
        typer.Option("--checkpoint-out", help="server: file the checkpoints are appended to (keep it, or a copy, off this server).", show_default=False),
    ] = None,
    checkpoint_post: Annotated[
        str | None, typer.Option("--checkpoint-post", help="server: HTTPS URL each checkpoint is POSTed to as JSON (a second party).", show_default=False)
    ] = None,
    role: Annotated[
        str, typer.Option("--role", help="server: the shared database; matcher: a platform's read-only matcher over a signed hash list.")
    ] = "server",
    hashlist: Annotated[Path | None, typer.Option("--hashlist", help="matcher: the signed hash list to load.", show_default=False)] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="matcher: the publisher's public key (KEY.pub).", show_default=False)] = None,
    updates: Annotated[Path | None, typer.Option("--updates", help="matcher: folder polled for delta files (*.delta).", show_default=False)] = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help="matcher: file holding the bearer token for /v1/* (and to enable /v1/admin/reload).", show_default=False)
    ] = None,
    hash_media: Annotated[
        bool, typer.Option("--hash-media", help="matcher: HMA's /m/lookup may hash uploaded files and fetch URLs (public addresses only).")
    ] = False,
) -> None:
    """Run the shared database server (FastAPI; OpenAPI at /docs), or with --role matcher a
    platform's read-only matcher. Use --db postgresql://… for a multi-user deployment; put TLS
    in front of it. With --checkpoint-every, this process (not its workers) signs audit
    checkpoints on a schedule, to --checkpoint-out and/or --checkpoint-post."""
    import os

    import uvicorn

    if role != "server":
        from mediamatch.cli.hashlist import serve_matcher

        return serve_matcher(role, host, port, hashlist, public_key, updates, token_file, hash_media)

    from mediamatch.store.db import migrate, open_engine

    db_url = resolve_db(db)
    options = {"db_url": db_url, "secure_cookies": not insecure_cookies, "key_file": key_file and str(key_file), "blob_root": blob_root and str(blob_root)}
    schedule = _checkpoint_schedule(db_url, checkpoint_every, checkpoint_key, checkpoint_out, checkpoint_post)
    engine = open_engine(db_url)
    migrate(engine)  # once, here: workers starting together must not race to migrate
    engine.dispose()
    os.environ[SETTINGS_VARIABLE] = json.dumps(options)
    if schedule:
        schedule.start()
    try:
        if workers == 1:
            uvicorn.run(worker_app(), host=host, port=port, log_level="info")
        else:
            uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, host=host, port=port, log_level="info")
    finally:
        if schedule:
            schedule.stop()


def worker_app() -> FastAPI:
    """The app one server process runs, from the options `serve` put in the environment
    (uvicorn's worker processes import and call this)."""
    import os
    from dataclasses import replace

    from mediamatch.api.app import create_app
    from mediamatch.api.settings import ServerSettings

    options = json.loads(os.environ[SETTINGS_VARIABLE])
    settings = replace(ServerSettings.from_environment(options["db_url"]), secure_cookies=options["secure_cookies"])
    if options["key_file"]:
        settings = replace(settings, key_file=Path(options["key_file"]))
    if options["blob_root"]:
        settings = replace(settings, blob_root=Path(options["blob_root"]))
    return create_app(settings)


def _checkpoint_schedule(db_url: str, every: float | None, key: Path | None, out: Path | None, post: str | None) -> CheckpointSchedule | None:
    """The audit checkpoint schedule the options ask for, or None; bad options end the command."""
    if every is None:
        if key or out or post:
            raise typer.BadParameter("--checkpoint-key/--checkpoint-out/--checkpoint-post need --checkpoint-every", param_hint="--checkpoint-every")
        return None
    if key is None or (out is None and post is None):
        raise typer.BadParameter("--checkpoint-every needs --checkpoint-key and --checkpoint-out or --checkpoint-post", param_hint="--checkpoint-every")
    from datetime import timedelta

    from mediamatch.api.settings import ServerSettings
    from mediamatch.audit.checkpoint import CheckpointSchedule, append_line
    from mediamatch.hashlist.format import HashListError
    from mediamatch.hashlist.signing import load_private_key
    from mediamatch.store.db import open_engine

    try:
        private_key = load_private_key(key)
    except HashListError as exc:
        raise typer.BadParameter(str(exc), param_hint="--checkpoint-key") from None
    deliveries = []
    if out is not None:
        deliveries.append(partial(append_line, out))
    if post is not None:
        deliveries.append(partial(_post_checkpoint, post, ServerSettings.from_environment().webhook_policy()))
    return CheckpointSchedule(open_engine(db_url), private_key, timedelta(minutes=every), deliveries)


def _post_checkpoint(url: str, policy: WebhookPolicy, line: str) -> None:
    """POST a signed checkpoint to a second party (webhook rules: public HTTPS, no redirects)."""
    from mediamatch.services.webhooks import post_json

    status = post_json(url, json.loads(line), policy)
    if not 200 <= status < 300:
        raise RuntimeError(f"{url} answered HTTP {status}")


@user_app.command("add")
def add_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    agency: Annotated[str, typer.Option("--agency", help="The account's agency (created if new).")],
    role: Annotated[str, typer.Option("--role", help="admin, contributor, investigator, reviewer, auditor or platform.")],
    country: Annotated[str, typer.Option("--country", help="The agency's ISO country code, when it is created.")] = "XX",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="admin: read the password from standard input instead of prompting.")] = False,
    db: DbOption = None,
) -> None:
    """Create an account. An admin (how the first one is made, at the server's console) sets a
    password here; any other role gets a one-time enrolment code, printed once, which its person
    redeems to set their own password (POST /api/v1/auth/enrol): no one else ever knows it."""
    from datetime import datetime, timezone

    from mediamatch.audit.events import AuditAction, AuditEvent
    from mediamatch.audit.trail import record
    from mediamatch.auth.passwords import PasswordPolicyError
    from mediamatch.auth.permissions import Role
    from mediamatch.auth.users import UsernameTaken, create_enrolling_user, create_user
    from mediamatch.store import repo
    from mediamatch.store.db import session_scope

    try:
        chosen = Role(role)
    except ValueError:
        console.print(f"[red]error:[/] unknown role {role!r}; one of {', '.join(r.value for r in Role)}")
        raise typer.Exit(code=2) from None
    if password_stdin and chosen != Role.ADMIN:
        console.print(f"[red]error:[/] a {chosen.value} account sets its own password with an enrolment code; --password-stdin is for admins")
        raise typer.Exit(code=2)
    password = None
    if chosen == Role.ADMIN:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = open_catalogue(db)
    try:
        with session_scope(engine) as session:
            home = repo.get_or_create_agency(session, agency, country)
            if password is not None:
                user, issued = create_user(session, home, username, password, chosen), None
            else:
                user, issued = create_enrolling_user(session, home, username, chosen, datetime.now(timezone.utc))
            record(
                session,
                AuditEvent(
                    actor=f"cli:{username}",
                    agency=home.name,
                    action=AuditAction.USER_CREATED,
                    object_type="user",
                    object_id=str(user.id),
                    detail={"role": chosen.value, "enrolment": issued is not None},
                ),
            )
    except (UsernameTaken, PasswordPolicyError) as exc:
        console.print(f"[red]error:[/] {exc or 'username taken'}")
        raise typer.Exit(code=1) from None
    console.print(f"account {username!r} ({chosen.value}) created in {agency}")
    if issued is not None:
        console.print(f"enrolment code (shown once; hand it to the person, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC): {issued.code}")


@keys_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option("--out", help="Key file to write (mode 0600); refused if it exists.")],
    key_id: Annotated[str, typer.Option("--id", help="Key id written in every blob's header.")] = "k1",
) -> None:
    """Write a new content key file for the server."""
    from mediamatch.store.keys import Keyring, generate_key, write_key_file

    if out.exists():
        console.print(f"[red]error:[/] {out} exists; rotating keys is documented in mediamatch.store.blobs")
        raise typer.Exit(code=1)
    write_key_file(out, Keyring({key_id: generate_key()}, current_id=key_id))
    console.print(f"key {key_id!r} written to {out}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.add_typer(user_app, name="user")
    app.add_typer(keys_app, name="keys")
