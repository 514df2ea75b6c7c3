"""Every command has help text and is documented in the README (a command nobody can find is
a command nobody uses)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from mediamatch.cli.main import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def commands() -> list[tuple[str, object]]:
    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        children = getattr(command, "commands", None)
        if children:
            found += [(f"{name} {child}", sub) for child, sub in children.items()]
        else:
            found.append((name, command))
    return found


def test_the_expected_commands_exist() -> None:
    names = {name for name, _ in commands()}
    assert {"hash", "triage", "demo", "db init", "db upgrade", "db add", "series list", "series show"} <= names


def test_every_command_has_help_and_is_in_the_readme() -> None:
    for name, command in commands():
        assert (command.help or "").strip(), f"`mediamatch {name}` has no help text"  # type: ignore[attr-defined]
        assert f"mediamatch {name}" in README, f"`mediamatch {name}` is not documented in README.md"
        for parameter in command.params:  # type: ignore[attr-defined]
            if parameter.param_type_name == "option":
                assert (parameter.help or "").strip(), f"`mediamatch {name}` option {parameter.opts} has no help"
