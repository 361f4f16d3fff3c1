"""``charter container``: run a built-in image the way SageMaker runs a container.

``charter container run IMAGE train|serve|process --root DIR`` runs built-in IMAGE
with DIR as the container root (DIR/opt/ml plays /opt/ml, container contract in
``specs/containers.md``).  The exit status is the container's: 0 on success, non-zero
on failure with the reason in DIR/opt/ml/output/failure (training) or
DIR/opt/ml/output/message (processing) and on stderr.  Executors run jobs with this
command; it is also the way to try a built-in by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .. import builtins

app = typer.Typer(help="Run Charter's built-in images (SageMaker containers without Docker).", no_args_is_help=True)

err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)
out = Console(width=None if sys.stdout.isatty() else 240)


@app.command("run")
def run(
    image: str = typer.Argument(..., help="The built-in image, e.g. clarify (see `charter container images`)."),
    command: str = typer.Argument(..., help="The container command: train, serve or process."),
    root: Path = typer.Option(
        ..., "--root", file_okay=False, help="The container root: DIR/opt/ml is the container's /opt/ml."
    ),
) -> None:
    """Run COMMAND of built-in IMAGE against the container root DIR."""
    try:
        entry = builtins.entry_point(image, command)
    except (builtins.UnknownImage, builtins.UnknownCommand) as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2)
    del entry  # resolved only to refuse unknown images and commands before touching DIR
    if not root.is_dir():
        err.print(f"[bold red]error:[/] --root {root} is not a directory (it should hold opt/ml/...)")
        raise typer.Exit(2)
    status = builtins.run(image, command, root.resolve())
    if status:
        raise typer.Exit(status)


@app.command("images")
def images() -> None:
    """The built-in images and the commands each supports."""
    table = Table(title="Built-in images")
    for column in ("Image", "Commands", "What it does"):
        table.add_column(column)
    for image in builtins.images():
        table.add_row(image.name, ", ".join(image.commands()), image.description)
    out.print(table)
