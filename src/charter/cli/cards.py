"""``charter cards``: read model cards and export them to PDF, over the SageMaker API.

``charter cards show NAME`` prints a card (DescribeModelCard) in the terminal;
``charter cards export NAME --output s3://bucket/prefix --wait`` starts a
CreateModelCardExportJob and follows it to the PDF; ``charter cards jobs NAME``
lists a card's export jobs.  The client setup (endpoint, profile, region) is
``cli/client.py``'s.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Any, Optional

import typer
from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .client import EndpointOption, ProfileOption, RegionOption, err
from .client import connect as _client
from .client import fail as _fail
from .client import request as _call

app = typer.Typer(help="Model cards: show them, export them to PDF.", no_args_is_help=True)

# Piped output (scripts, tests) gets wide lines rather than Rich's 80-column wrapping.
out = Console(width=None if sys.stdout.isatty() else 160)



TONE_STYLES = {"good": "bold green", "caution": "bold yellow", "bad": "bold red", "neutral": "bold", "muted": "dim"}


def _when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "-" if value is None else str(value)


# --- show -------------------------------------------------------------------------


def _badge(node) -> Text:
    return Text(f" {node.text} ", style=TONE_STYLES.get(node.tone, "bold"))


def _rich(node) -> Any:
    """A display node of ``render.model_card`` as a Rich renderable."""
    kind = node.kind
    if kind == "text":
        return Text(node.text, style="cyan" if node.mono else "")
    if kind == "paragraph":
        return Text(node.text)
    if kind == "badge":
        return _badge(node)
    if kind == "items":
        return Group(*[_bullet(item) for item in node.items])
    if kind == "fields":
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for f in node.fields:
            grid.add_row(f.label, _rich(f.node))
        return grid
    if kind == "table":
        table = Table(show_edge=False, header_style="bold", pad_edge=False)
        for column, numeric in zip(node.columns, node.numeric or [False] * len(node.columns)):
            table.add_column(column, justify="right" if numeric else "left", overflow="fold")
        for row in node.rows:
            table.add_row(*[_rich(cell) for cell in row])
        return table
    if kind == "block":
        title = Text(node.title, style="bold" if node.level <= 3 else "bold blue")
        return Group(title, Padding(Group(*[_rich(child) for child in node.children]), (0, 0, 0, 2)))
    if kind == "chart":  # not drawn in a terminal
        return Text(f"{node.title} ({node.chart_type})")
    return Text(str(node))


def _bullet(item) -> Any:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("•", _rich(item))
    return grid


@app.command("show")
def show(
    name: str = typer.Argument(..., help="The model card's name or ARN."),
    version: Optional[int] = typer.Option(None, "--version", help="This version instead of the latest."),
    as_json: bool = typer.Option(False, "--json", help="Print DescribeModelCard's answer as JSON."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
) -> None:
    """Show a model card: header, risk rating and every section of its content."""
    from ..render.model_card import card_view

    sm = _client(endpoint_url, profile, region)
    kwargs = {"ModelCardName": name} | ({"ModelCardVersion": version} if version is not None else {})
    card = _call(sm.describe_model_card, **kwargs)
    card.pop("ResponseMetadata", None)
    if as_json:
        sys.stdout.write(json.dumps(card, indent=2, default=str) + "\n")
        return
    view = card_view(card, charts=False)

    header = Table.grid(padding=(0, 2))
    header.add_column(style="dim", no_wrap=True)
    header.add_column(overflow="fold")
    header.add_row("Version", str(view.version))
    if view.status:
        header.add_row("Status", _badge(view.status))
    header.add_row("Risk rating", _badge(view.risk) if view.risk else Text("Not rated", style="dim"))
    for f in view.facts:
        header.add_row(f.label, _rich(f.node))
    parts: list = [header]
    if view.subtitle:
        parts.insert(0, Text(view.subtitle, style="italic"))
    out.print(Panel(Group(*parts), title=f"[bold]Model card {view.name}[/]", title_align="left"))
    if view.content_error:
        out.print(f"[yellow]{view.content_error}[/]")
    for section in view.sections:
        out.print(Text(section.title, style="bold underline"))
        for child in section.children:
            out.print(Padding(_rich(child), (0, 0, 0, 2)))
        out.print()


# --- export -----------------------------------------------------------------------


def _job_name() -> str:
    return "export-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")[:-3]


def _local_path(uri: str) -> str | None:
    """Where this machine keeps ``uri`` when it shares the server's artifact store."""
    from pathlib import Path

    from ..instance import Instance
    from ..settings import Settings
    from ..store import artifacts

    settings = Settings.from_env()
    database = settings.database_url.removeprefix("sqlite:///")
    if database != settings.database_url and not Path(database).is_file():
        return None  # no installation here: do not make one just to look
    try:
        instance = Instance(settings)
        try:
            path = artifacts.local_path(instance, uri)
        finally:
            instance.close()
    except Exception:  # not this machine's store, or a URI this machine cannot map
        return None
    return str(path) if path.is_file() else None


@app.command("export")
def export(
    name: str = typer.Argument(..., help="The model card's name or ARN."),
    output: str = typer.Option(..., "--output", help="Where the PDF goes: s3://bucket/prefix (the PDF is <prefix>/<card>/<job>.pdf)."),
    version: Optional[int] = typer.Option(None, "--version", help="Export this version instead of the latest."),
    job_name: Optional[str] = typer.Option(None, "--job-name", help="The export job's name (default: export-<UTC time>)."),
    wait: bool = typer.Option(False, "--wait", help="Wait until the export completes or fails."),
    timeout: float = typer.Option(300.0, "--timeout", help="With --wait: give up waiting after this many seconds."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
) -> None:
    """Export a model card to PDF (CreateModelCardExportJob)."""
    sm = _client(endpoint_url, profile, region)
    kwargs = {
        "ModelCardName": name,
        "ModelCardExportJobName": job_name or _job_name(),
        "OutputConfig": {"S3OutputPath": output},
    } | ({"ModelCardVersion": version} if version is not None else {})
    arn = _call(sm.create_model_card_export_job, **kwargs)["ModelCardExportJobArn"]
    out.print(f"Export job [bold]{arn}[/] started.", highlight=False)
    if not wait:
        out.print(f"Follow it with: charter cards jobs {name}", highlight=False)
        return

    deadline = time.monotonic() + timeout
    with err.status(f"Exporting model card {name} to PDF..."):
        while True:
            job = _call(sm.describe_model_card_export_job, ModelCardExportJobArn=arn)
            if job["Status"] != "InProgress":
                break
            if time.monotonic() > deadline:
                _fail(f"The export is still in progress after {timeout:g} s; check it later with: charter cards jobs {name}", 3)
            time.sleep(0.5)

    if job["Status"] == "Failed":
        _fail(f"The export failed: {job.get('FailureReason', 'no reason given')}", 1)
    uri = job["ExportArtifacts"]["S3ExportArtifacts"]
    out.print(f"[bold green]Exported[/] version {job['ModelCardVersion']} of {job['ModelCardName']}.", highlight=False)
    out.print(f"PDF:        {uri}", highlight=False, soft_wrap=True)
    local = _local_path(uri)
    out.print(f"Local file: {local or '(not on this machine: the server keeps it in its artifact store)'}",
              highlight=False, soft_wrap=True)


@app.command("jobs")
def jobs(
    name: str = typer.Argument(..., help="The model card's name."),
    version: Optional[int] = typer.Option(None, "--version", help="Only exports of this version."),
    status: Optional[str] = typer.Option(None, "--status", help="InProgress, Completed or Failed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per job, with its full description."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
) -> None:
    """A model card's export jobs, newest first, with where each PDF went."""
    sm = _client(endpoint_url, profile, region)
    kwargs = {"ModelCardName": name} | ({"ModelCardVersion": version} if version is not None else {}) | (
        {"StatusEquals": status} if status else {}
    )
    summaries = []
    for page in _call(lambda **kw: list(sm.get_paginator("list_model_card_export_jobs").paginate(**kw)), **kwargs):
        summaries.extend(page["ModelCardExportJobSummaries"])
    described = [_call(sm.describe_model_card_export_job, ModelCardExportJobArn=s["ModelCardExportJobArn"]) for s in summaries]
    if as_json:
        for job in described:
            job.pop("ResponseMetadata", None)
            sys.stdout.write(json.dumps(job, default=str) + "\n")
        return
    table = Table(title=f"Export jobs of model card {name}")
    for column in ("Job", "Version", "Status", "Created (UTC)", "PDF or failure"):
        table.add_column(column, overflow="fold")
    styles = {"Completed": "green", "Failed": "red", "InProgress": "yellow"}
    for job in described:
        detail = (job.get("ExportArtifacts") or {}).get("S3ExportArtifacts") or job.get("FailureReason") or ""
        table.add_row(
            job["ModelCardExportJobName"],
            str(job["ModelCardVersion"]),
            f"[{styles.get(job['Status'], '')}]{job['Status']}[/]",
            _when(job["CreatedAt"]),
            detail,
        )
    out.print(table)
