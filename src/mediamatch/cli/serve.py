"""`mediamatch serve`, `mediamatch user add` and `mediamatch keys generate`: run the shared
server, create its first accounts, and make its content key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mediamatch.cli.common import DbOption, console, open_catalogue, resolve_db

user_app = typer.Typer(help="Manage server accounts from the command line (the first admin, typically).", no_args_is_help=True)
keys_app = typer.Typer(help="Content-encryption keys for the server.", no_args_is_help=True)


def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="Content key file (mode 0600); default: $MEDIAMATCH_CONTENT_KEYS.")] = None,
    blob_root: Annotated[Path | None, typer.Option("--blob-root", help="Folder for encrypted content (default: the data folder's blobs/).")] = None,
    insecure_cookies: Annotated[bool, typer.Option("--insecure-cookies", help="Allow session cookies over plain HTTP (development on loopback only).")] = False,
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
    in front of it."""
    import uvicorn

    if role != "server":
        from mediamatch.cli.hashlist import serve_matcher

        return serve_matcher(role, host, port, hashlist, public_key, updates, token_file, hash_media)

    from mediamatch.api.app import create_app
    from mediamatch.api.settings import ServerSettings

    settings = ServerSettings.from_environment(resolve_db(db))
    overrides = {"secure_cookies": not insecure_cookies}
    if key_file:
        overrides["key_file"] = key_file  # type: ignore[assignment]
    if blob_root:
        overrides["blob_root"] = blob_root  # type: ignore[assignment]
    settings = type(settings)(**{**{f: getattr(settings, f) for f in settings.__dataclass_fields__}, **overrides})
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@user_app.command("add")
def add_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    agency: Annotated[str, typer.Option("--agency", help="The account's agency (created if new).")],
    role: Annotated[str, typer.Option("--role", help="admin, contributor, investigator, reviewer, auditor or platform.")],
    country: Annotated[str, typer.Option("--country", help="The agency's ISO country code, when it is created.")] = "XX",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input instead of prompting.")] = False,
    db: DbOption = None,
) -> None:
    """Create an account (how the first admin is made; later ones through the API)."""
    from mediamatch.audit.events import AuditAction, AuditEvent
    from mediamatch.audit.trail import record
    from mediamatch.auth.passwords import PasswordPolicyError
    from mediamatch.auth.permissions import Role
    from mediamatch.auth.users import UsernameTaken, create_user
    from mediamatch.store import repo
    from mediamatch.store.db import session_scope

    try:
        chosen = Role(role)
    except ValueError:
        console.print(f"[red]error:[/] unknown role {role!r}; one of {', '.join(r.value for r in Role)}")
        raise typer.Exit(code=2) from None
    password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = open_catalogue(db)
    try:
        with session_scope(engine) as session:
            home = repo.get_or_create_agency(session, agency, country)
            user = create_user(session, home, username, password, chosen)
            record(
                session,
                AuditEvent(
                    actor=f"cli:{username}",
                    agency=home.name,
                    action=AuditAction.USER_CREATED,
                    object_type="user",
                    object_id=str(user.id),
                    detail={"role": chosen.value},
                ),
            )
    except (UsernameTaken, PasswordPolicyError) as exc:
        console.print(f"[red]error:[/] {exc or 'username taken'}")
        raise typer.Exit(code=1) from None
    console.print(f"account {username!r} ({chosen.value}) created in {agency}")


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
