"""`mediamatch hashlist`: make signing keys, export signed lists and deltas for platforms,
verify and apply them, and record which agencies agreed to share.

The private key stays with the database operator (the machine that runs `export`); platforms
receive only `KEY.pub`, with which they verify every list and delta they load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mediamatch.cli.common import DbOption, console, local_actor, open_catalogue

hashlist_app = typer.Typer(help="Signed hash lists for platforms: keys, export, verify, deltas, consent.", no_args_is_help=True)

PublicKeyOption = Annotated[Path, typer.Option("--public-key", help="The publisher's Ed25519 public key (KEY.pub).")]


def _refuse(exc: Exception) -> typer.Exit:
    console.print(f"[red]refused:[/] {escape(str(exc))}")
    return typer.Exit(code=1)


@hashlist_app.command("keygen")
def keygen(out: Annotated[Path, typer.Option("--out", help="Private key file to write (PEM, mode 0600); KEY.pub is written beside it.")]) -> None:
    """Make the Ed25519 key that signs hash lists. Keep the private key with the database
    operator; give platforms KEY.pub."""
    from mediamatch.hashlist.format import HashListError
    from mediamatch.hashlist.signing import generate_keypair

    try:
        public = generate_keypair(out)
    except (HashListError, OSError) as exc:
        raise _refuse(exc) from None
    console.print(f"private key {escape(str(out))} (keep it here), public key {escape(str(public))} (give it to platforms)")


@hashlist_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="The list file to write.")],
    key: Annotated[Path, typer.Option("--key", help="The Ed25519 private key that signs it (from `hashlist keygen`).")],
    name: Annotated[str | None, typer.Option("--name", help="List name (default: the previous list's name, else 'mediamatch').", show_default=False)] = None,
    baseline_only: Annotated[bool, typer.Option("--baseline-only", help="Only Baseline material (illegal in every country).")] = False,
    category: Annotated[
        list[int] | None,
        typer.Option("--category", help="Project VIC category 1-4 to include (repeatable; default 1). Category 0 is never exported.", show_default=False),
    ] = None,
    signal: Annotated[
        list[str] | None,
        typer.Option("--signal", help="Signal to include: md5, sha1, sha256, pdq, vpdq (repeatable; default md5, sha1, sha256, pdq).", show_default=False),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous", help="The latest published list: the new one is its next version, and a delta to it is written to FILE.delta.", show_default=False
        ),
    ] = None,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Publish the list even when it has no entries (refused otherwise: usually no agency has consented yet).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Export the next version of a signed hash list: consenting agencies' indicators, never
    category 0, never disputed ones. Refused, taking no version number, when --out (or its
    .delta) exists or, unless --allow-empty, when the list would have no entries."""
    from mediamatch.hashlist.format import HashListError
    from mediamatch.hashlist.signing import load_private_key
    from mediamatch.services.hashlists import DEFAULT_CATEGORIES, EmptyHashList, ListFilter, export_hashlist
    from mediamatch.signals.registry import signal_names
    from mediamatch.store.repo import DEFAULT_AGENCY

    try:
        list_filter = ListFilter(baseline_only=baseline_only, categories=tuple(category or DEFAULT_CATEGORIES), signals=tuple(signal or signal_names()))
        published = export_hashlist(
            open_catalogue(db), out, load_private_key(key), actor=local_actor(), agency=DEFAULT_AGENCY, name=name, list_filter=list_filter,
            previous=previous, allow_empty=allow_empty,
        )  # fmt: skip
    except EmptyHashList as exc:
        raise _refuse(ValueError(f"{exc}; record consent with `mediamatch hashlist consent AGENCY`, or pass --allow-empty if an empty list is meant")) from None
    except (HashListError, OSError) as exc:
        raise _refuse(exc) from None
    counts = ", ".join(f"{signal} {count:,}" for signal, count in published.counts.items())
    console.print(f"{escape(published.name)} version {published.version} written to {escape(str(out))}: {counts}")
    if published.delta is not None:
        console.print(f"delta from version {published.version - 1} written to {escape(str(published.delta.path))}: {json.dumps(published.delta_counts)}")


@hashlist_app.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="A hash list or delta.")], public_key: PublicKeyOption) -> None:
    """Check a list's or delta's signature and integrity; print its name, version and counts.
    Exits non-zero, saying why, when it must not be used."""
    from mediamatch.hashlist.format import HashListError, read_hashlist
    from mediamatch.hashlist.signing import load_public_key

    try:
        hashlist = read_hashlist(file, load_public_key(public_key))
    except HashListError as exc:
        raise _refuse(exc) from None
    header = hashlist.header
    since = f" (delta from version {header['previous_version']})" if hashlist.kind == "delta" else ""
    print(f"{hashlist.name} version {hashlist.version}{since}, created {header['created_at']}, key {header['key_id']}")
    print(json.dumps(hashlist.counts(), sort_keys=True))


@hashlist_app.command("apply")
def apply(
    base: Annotated[Path, typer.Argument(help="The full list the delta starts from.")],
    delta: Annotated[Path, typer.Argument(help="The delta to the next version.")],
    public_key: PublicKeyOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the next version (verified, byte for byte the published one).")],
) -> None:
    """Turn a list and its delta into the next full version, verified with the publisher's key."""
    from mediamatch.hashlist.delta import apply_delta_file
    from mediamatch.hashlist.format import HashListError
    from mediamatch.hashlist.signing import load_public_key

    try:
        result = apply_delta_file(base, delta, load_public_key(public_key), out)
    except HashListError as exc:
        raise _refuse(exc) from None
    print(f"{result.name} version {result.version} written to {out}: {json.dumps(result.counts(), sort_keys=True)}")


@hashlist_app.command("consent")
def consent(
    agency: Annotated[str, typer.Argument(help="The agency's name.")],
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Withdraw consent: its contributions leave the next version.")] = False,
    db: DbOption = None,
) -> None:
    """Record that an agency agrees (or no longer agrees) that its contributions go into hash
    lists for platforms. Nothing is exported without it."""
    from mediamatch.services.hashlists import set_consent
    from mediamatch.store.db import session_scope
    from mediamatch.store.repo import DEFAULT_AGENCY

    try:
        with session_scope(open_catalogue(db)) as session:
            changed = set_consent(session, agency, not withdraw, actor=local_actor(), actor_agency=DEFAULT_AGENCY)
    except LookupError as exc:
        raise _refuse(exc) from None
    state = "does not share" if withdraw else "shares"
    console.print(f"{escape(agency)} {state} its contributions with platforms" + ("" if changed else " (unchanged)"))


@hashlist_app.command("versions")
def versions(db: DbOption = None) -> None:
    """Every published version: counts, file SHA-256, whether a delta was written."""
    from mediamatch.services.hashlists import published_versions
    from mediamatch.store.db import session_scope

    with session_scope(open_catalogue(db)) as session:
        rows = published_versions(session)
    table = Table("list", "version", "created (UTC)", "entries", "sha256", "delta")
    for row in rows:
        table.add_row(row.name, str(row.version), row.created_at.strftime("%Y-%m-%d %H:%M"), row.counts, row.sha256[:16], "yes" if row.delta_path else "")
    console.print(table if rows else "no hash list published yet")


def register(app: typer.Typer) -> None:
    app.add_typer(hashlist_app, name="hashlist")


def serve_matcher(
    role: str, host: str, port: int, hashlist: Path | None, public_key: Path | None, updates: Path | None, token_file: Path | None, hash_media: bool = False
) -> None:
    """`mediamatch serve --role matcher`: the platform's matcher service (see api/matcher_app)."""
    import uvicorn

    from mediamatch.api.matcher_app import MatcherSettings, create_matcher_app

    if role != "matcher":
        console.print(f"[red]error:[/] unknown role {escape(role)!r}; server or matcher")
        raise typer.Exit(code=2)
    if hashlist is None or public_key is None:
        console.print("[red]error:[/] --role matcher needs --hashlist FILE and --public-key KEY.pub")
        raise typer.Exit(code=2)
    token = None
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise _refuse(exc) from None
        if len(token) < 16:
            raise _refuse(ValueError(f"{token_file}: the token must be at least 16 characters"))
    settings = MatcherSettings(hashlist=hashlist, public_key=public_key, updates=updates, token=token, hash_media=hash_media)
    uvicorn.run(create_matcher_app(settings), host=host, port=port, log_level="info")
