"""The `mediamatch` command: assembles the verb groups.

Each module under `cli/` registers its own commands, so a verb group is found by its file name.
A verb group's module keeps only its Typer signatures at the top and imports the services,
stores and kernels a command needs inside that command: `mediamatch --help` imports none of them
(tests/cli/test_startup.py holds this; benchmarks/bench_startup.py times it).
"""

from __future__ import annotations

import typer

from mediamatch.cli import audit as audit_cli
from mediamatch.cli import clues as clues_cli
from mediamatch.cli import db as db_cli
from mediamatch.cli import demo as demo_cli
from mediamatch.cli import exchange as exchange_cli
from mediamatch.cli import hash as hash_cli
from mediamatch.cli import hashlist as hashlist_cli
from mediamatch.cli import series as series_cli
from mediamatch.cli import serve as serve_cli
from mediamatch.cli import similar as similar_cli
from mediamatch.cli import stats as stats_cli
from mediamatch.cli import triage as triage_cli
from mediamatch.cli import watch as watch_cli

app = typer.Typer(
    name="mediamatch",
    help="Match media against a shared database of known material.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """mediamatch: hash media, triage seized collections and match them against known material."""


for module in (
    hash_cli,
    db_cli,
    series_cli,
    triage_cli,
    similar_cli,
    demo_cli,
    audit_cli,
    serve_cli,
    hashlist_cli,
    watch_cli,
    exchange_cli,
    stats_cli,
    clues_cli,
):
    module.register(app)


if __name__ == "__main__":
    app()
