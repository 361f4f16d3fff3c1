"""``charter clarify``: a SageMaker Clarify analysis of local files, for a person at a terminal.

``charter clarify run --config analysis_config.json --data FILE [--model FILE] --out DIR``
runs the built-in ``clarify`` image exactly as a processing job would: it lays out a
temporary container root (the configuration at
``/opt/ml/processing/input/config/analysis_config.json``, the dataset linked at
``/opt/ml/processing/input/data``, the model at ``/opt/ml/processing/input/model``),
runs the analysis with a progress display per stage, and copies
``/opt/ml/processing/output`` (``analysis.json``, ``report.html``, ``report.pdf``,
``explanations_shap/``) to ``--out``.

Paths inside the configuration that are not container paths (``predictor.model_path``,
a ``methods.shap.baseline`` file) are read relative to the configuration file and staged
into the container root.  ``--model`` replaces the configuration's predictor model (and
its ``endpoint_name``/``model_name``, which Charter cannot serve yet).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.console import RenderableType
from rich.progress import Progress, ProgressColumn, Task, TextColumn
from rich.spinner import Spinner
from rich.table import Column
from rich.table import Table
from rich.text import Text

from .staging import link_or_copy

app = typer.Typer(help="SageMaker Clarify analyses of local files: bias metrics, SHAP, partial dependence.", no_args_is_help=True)

out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)

INPUT = Path("opt/ml/processing/input")
OUTPUT = Path("opt/ml/processing/output")


def _fail(message: str, status: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(status)


def _local_path(given: str, config_dir: Path) -> Path | None:
    """A path in the configuration that names a file on this machine (not inside the container)."""
    if given.startswith(("/opt/ml/", "s3://")):
        return None
    path = Path(given)
    return path if path.is_absolute() else config_dir / path


def _stage(document: dict[str, Any], config_path: Path, data: Path, model: Path | None, root: Path) -> list[str]:
    """Lay out the container root; rewrite the configuration's local paths.  Notes for the user."""
    notes: list[str] = []
    config_dir = config_path.resolve().parent
    link_or_copy(data, root / INPUT / "data" / data.name if data.is_file() else root / INPUT / "data")

    predictor = document.get("predictor")
    if model is not None:
        predictor = dict(predictor) if isinstance(predictor, dict) else {}
        for key in ("endpoint_name", "model_name"):
            if predictor.pop(key, None) is not None:
                notes.append(f"using --model instead of predictor.{key}")
        link_or_copy(model, root / INPUT / "model" / model.name)
        predictor["model_path"] = f"/{INPUT.as_posix()}/model/{model.name}"
        document["predictor"] = predictor
    elif isinstance(predictor, dict) and isinstance(predictor.get("model_path"), str):
        local = _local_path(predictor["model_path"], config_dir)
        if local is not None:
            if not local.exists():
                _fail(f"analysis_config.json: predictor.model_path names {predictor['model_path']!r}, and there is no file at {local}")
            link_or_copy(local, root / INPUT / "model" / local.name)
            document["predictor"] = {**predictor, "model_path": f"/{INPUT.as_posix()}/model/{local.name}"}

    methods = document.get("methods")
    shap = methods.get("shap") if isinstance(methods, dict) else None
    if isinstance(shap, dict) and isinstance(shap.get("baseline"), str):
        local = _local_path(shap["baseline"], config_dir)
        if local is not None:
            if not local.is_file():
                _fail(f"analysis_config.json: methods.shap.baseline names {shap['baseline']!r}, and there is no file at {local}")
            link_or_copy(local, root / INPUT / "baseline" / local.name)
            shap["baseline"] = f"/{INPUT.as_posix()}/baseline/{local.name}"

    config_target = root / INPUT / "config" / "analysis_config.json"
    config_target.parent.mkdir(parents=True, exist_ok=True)
    config_target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return notes


def _with_hint(error: Exception, model: Path | None) -> str:
    """The error's message, plus where a terminal user can give what is missing."""
    text = str(error)
    if model is None and str(getattr(error, "field", "") or "").startswith("predictor"):
        text += " (or pass --model FILE)"
    return text


class _StateColumn(ProgressColumn):
    """A spinner for the running stage, a mark for the others (pending stages show nothing)."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(width=1, no_wrap=True))
        self.spinner = Spinner("dots", style="progress.spinner")

    def render(self, task: Task) -> RenderableType:
        state = task.fields.get("state", "pending")
        if state == "running":
            return self.spinner.render(task.get_time())
        return Text.from_markup({"done": "[green]✓", "skipped": "[dim]–", "failed": "[bold red]✗"}.get(state, " "))


class _StageDisplay:
    """Rich progress rows, one per stage of the analysis, driven by the built-in's callback."""

    def __init__(self, progress: Progress, stages: tuple[tuple[str, str], ...]):
        self.progress = progress
        self.titles = dict(stages)
        self.tasks = {
            name: progress.add_task(f"[dim]{title}", total=1, start=False, detail="", state="pending", took="")
            for name, title in stages
        }
        self.started: dict[str, float] = {}

    def __call__(self, stage: str, event: str, detail: str) -> None:
        task = self.tasks.get(stage)
        if task is None:
            return
        title = self.titles[stage]
        if event == "start":
            self.started[stage] = time.perf_counter()
            self.progress.start_task(task)
            self.progress.update(task, description=f"[bold]{title}", state="running")
        elif event == "done":
            took = time.perf_counter() - self.started.get(stage, time.perf_counter())
            self.progress.update(task, description=title, detail=detail, completed=1, state="done", took=f"{took:.1f} s")
        elif event == "skip":
            self.progress.update(task, description=f"[dim]{title}", detail=f"[dim]skipped: {detail}", state="skipped")
        elif event == "fail":
            self.progress.update(task, description=f"[bold red]{title}", detail="[red]failed", state="failed")


@app.command("run")
def run(
    config: Path = typer.Option(..., "--config", exists=True, dir_okay=False, help="The analysis_config.json."),
    data: Path = typer.Option(..., "--data", exists=True, help="The dataset: a file, or a directory of files."),
    model: Optional[Path] = typer.Option(
        None, "--model", exists=True, help="A scikit-learn model file (joblib/pickle) or model.tar.gz."
    ),
    out_dir: Path = typer.Option(..., "--out", file_okay=False, help="Where to put analysis.json and the report."),
    keep_root: bool = typer.Option(False, "--keep-root", help="Keep the temporary container root and print where it is."),
) -> None:
    """Run a Clarify analysis of DATA as configured in CONFIG and write the results to OUT."""
    from ..builtins import ClientError
    from ..builtins.clarify import STAGES, process
    from ..builtins.clarify.config import ValidationError, parse

    try:
        document = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        _fail(f"analysis_config.json: is not valid JSON: {error}")
    if not isinstance(document, dict):
        _fail("analysis_config.json: must hold a JSON object")

    root = Path(tempfile.mkdtemp(prefix="charter-clarify-"))
    try:
        notes = _stage(document, config, data, model, root)
        try:
            parse(document)  # refuse a bad configuration before showing any progress
        except ValidationError as error:
            _fail(_with_hint(error, model))
        for note in notes:
            err.print(f"[yellow]note:[/] {note}")

        columns = (
            _StateColumn(),
            TextColumn("{task.description}", table_column=Column(no_wrap=True, min_width=18)),
            TextColumn("{task.fields[detail]}", table_column=Column(ratio=1, overflow="fold")),
            TextColumn("[dim]{task.fields[took]}", table_column=Column(width=7, no_wrap=True, justify="right")),
        )
        started = time.perf_counter()
        with Progress(*columns, console=err, transient=False) as progress:
            display = _StageDisplay(progress, STAGES)
            try:
                process(root, progress=display)
            except ClientError as error:
                progress.stop()
                _fail(_with_hint(error, model))
            except Exception as error:
                progress.stop()
                _fail(f"the analysis failed: {type(error).__name__}: {error}", status=1)
        elapsed = time.perf_counter() - started

        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(root / OUTPUT, out_dir, dirs_exist_ok=True)
        table = Table(title=f"Clarify analysis done in {elapsed:.1f} s", title_justify="left")
        table.add_column("Output")
        table.add_column("Size", justify="right")
        for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and (root / OUTPUT / p.relative_to(out_dir)).exists()):
            table.add_row(str(path), f"{path.stat().st_size:,} B")
        out.print(table)
        if keep_root:
            out.print(f"Container root kept at {root}")
    finally:
        if not keep_root:
            shutil.rmtree(root, ignore_errors=True)
