"""``charter ... --help``: flags take no value, so no help row names a value type for one."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from charter.cli.main import app


def _command_paths(command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():  # a group's subcommands
        paths += _command_paths(sub, (*path, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def _help(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered():
    assert ("server",) in COMMANDS and ("audit", "tail") in COMMANDS and ("iam", "list-users") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "charter")
def test_no_flag_shows_a_bool_metavar(path):
    assert "<bool>" not in _help(*path)


def test_options_that_take_a_value_still_name_its_type():
    text = _help("server")
    port = next(line for line in text.splitlines() if "--port" in line)
    demo = next(line for line in text.splitlines() if "--demo" in line)
    assert "<int>" in port
    assert "<" not in demo.split("Seed")[0]  # the --demo/--no-demo flag row names no type
    tail = next(line for line in _help("audit", "tail").splitlines() if "--json" in line)
    assert "<" not in tail.split("One JSON")[0]
