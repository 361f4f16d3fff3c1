"""``charter forecast``: DeepAR forecasting of local files, for a person at a terminal.

``charter forecast train --train FILE_OR_DIR [--test FILE_OR_DIR] --hyperparameters FILE
[-p name=value ...] --model-dir DIR`` runs the built-in ``forecasting-deepar`` image exactly
as a training job would: it lays out a temporary container root (the hyperparameters as
strings in ``/opt/ml/input/config/hyperparameters.json``, the data linked under
``/opt/ml/input/data/train`` and ``test``), trains with a progress bar per epoch, shows
the test metrics and copies ``/opt/ml/model`` to ``--model-dir``.

``charter forecast predict --model-dir DIR --data FILE --out FILE.jsonl [--plot FILE.png]
[--actuals FILE]`` forecasts the ``prediction_length`` points after each series in DATA
(training format, one series per line) as the endpoint would, writes one prediction per
line, and can draw a fan chart and score the forecasts against the actual values.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .staging import link_or_copy

app = typer.Typer(help="DeepAR forecasting of local files: train a model, forecast, chart.", no_args_is_help=True)

out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)

IMAGE = "forecasting-deepar"
INPUT = Path("opt/ml/input")
MODEL = Path("opt/ml/model")
# The chart shows this many forecast horizons of history before the forecast.
HISTORY_HORIZONS = 4
MAX_CHARTS = 6


def _fail(message: str, status: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(status)


def _as_string(name: str, value: Any) -> str:
    """A hyperparameter as the string a training job passes (files may hold numbers and lists)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        _fail(f"hyperparameter {name!r}: {json.dumps(value)} is not a value DeepAR takes")
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)


def _hyperparameters(file: Path | None, pairs: list[str]) -> dict[str, str]:
    """The file's hyperparameters with each ``-p name=value`` on top, all as strings."""
    values: dict[str, str] = {}
    if file is not None:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            _fail(f"{file}: is not valid JSON: {error}")
        if not isinstance(document, dict):
            _fail(f"{file}: must hold a JSON object of hyperparameter name -> value")
        values.update({str(k): _as_string(str(k), v) for k, v in document.items()})
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            _fail(f"-p {pair!r}: give a hyperparameter as name=value, e.g. -p epochs=20")
        values[name.strip()] = value.strip()
    return values


def _stage(root: Path, hyperparameters: dict[str, str], channels: dict[str, Path]) -> None:
    """Lay out a training container root as SageMaker does for a File-mode job on one host."""
    config = root / INPUT / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters, indent=2), encoding="utf-8")
    (config / "inputdataconfig.json").write_text(json.dumps({
        name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}
        for name in channels
    }, indent=2), encoding="utf-8")
    (config / "resourceconfig.json").write_text(json.dumps({
        "current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo",
    }), encoding="utf-8")
    for name, source in channels.items():
        channel = root / INPUT / "data" / name
        link_or_copy(source, channel / source.name if source.is_file() else channel)


def _metrics_table(metrics: dict[str, float]) -> Table:
    table = Table()
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    first = ["RMSE", "mean_wQuantileLoss", "mean_absolute_QuantileLoss", "ND", "NRMSE", "MAPE", "sMAPE"]
    for name in first + sorted(k for k in metrics if k not in first):
        if name in metrics:
            table.add_row(name, f"{metrics[name]:.6g}")
    return table


@app.command("train")
def train(
    train_data: Path = typer.Option(..., "--train", exists=True, help="Training series: a JSON Lines/Parquet file or a directory."),
    test_data: Optional[Path] = typer.Option(
        None, "--test", exists=True, help="Test series (full length: the last prediction_length points are scored)."
    ),
    hyperparameters_file: Optional[Path] = typer.Option(
        None, "--hyperparameters", exists=True, dir_okay=False, help="A JSON object of DeepAR hyperparameters."
    ),
    parameter: list[str] = typer.Option([], "-p", "--param", help="A hyperparameter as name=value (repeatable; wins over the file)."),
    model_dir: Path = typer.Option(..., "--model-dir", file_okay=False, help="Where to put the trained model."),
    seed: int = typer.Option(0, "--seed", help="Seed of the initial weights, window sampling and test forecasts."),
    log: Optional[Path] = typer.Option(None, "--log", dir_okay=False, help="Write the training log (SageMaker's log lines) here."),
    keep_root: bool = typer.Option(False, "--keep-root", help="Keep the temporary container root and print where it is."),
) -> None:
    """Train a DeepAR model on TRAIN (scored on TEST if given) and save it to MODEL_DIR."""
    from ..builtins import ClientError
    from ..builtins.forecasting_deepar import hyperparameters as hps
    from ..builtins.forecasting_deepar import train as train_image

    values = _hyperparameters(hyperparameters_file, parameter)
    try:
        hp = hps.parse(values)  # refuse bad hyperparameters before staging anything
    except ClientError as error:
        _fail(str(error))

    channels = {"train": train_data}
    if test_data is not None:
        channels["test"] = test_data
    root = Path(tempfile.mkdtemp(prefix="charter-deepar-"))
    try:
        _stage(root, values, channels)
        columns = (
            TextColumn("[bold]Training DeepAR"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs  loss {task.fields[loss]}  best {task.fields[best]}"),
            TimeElapsedColumn(),
        )
        log_path = root / "training.log"
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("train", total=hp.epochs, loss="-", best="-")

            def on_epoch(report) -> None:
                progress.update(task, completed=report.epoch + 1, loss=f"{report.loss:.4f}",
                                best=f"{report.best_loss:.4f} (epoch {report.best_epoch})")

            with open(log_path, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
                try:
                    result = train_image(root, progress=on_epoch, seed=seed)
                except ClientError as error:
                    progress.stop()
                    _fail(str(error))
                except Exception as error:
                    progress.stop()
                    _fail(f"training failed: {type(error).__name__}: {error}", status=1)
            progress.update(task, total=result.epochs_run, completed=result.epochs_run)
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, log)

        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(root / MODEL, model_dir, dirs_exist_ok=True)
        for note in result.notes or []:
            err.print(f"[yellow]note:[/] {note}", highlight=False)
        summary = Table(title=f"DeepAR trained in {result.seconds:.1f} s", title_justify="left", show_header=False)
        summary.add_column("")
        summary.add_column("")
        summary.add_row("Final loss", f"{result.final_loss:.6g} (epoch {result.best_epoch})")
        summary.add_row("Epochs run", f"{result.epochs_run} of {hp.epochs}")
        summary.add_row("Training series", str(result.train_series))
        summary.add_row("Model", str(model_dir))
        if log is not None:
            summary.add_row("Log", str(log))
        out.print(summary)
        if result.test_metrics is not None:
            out.print(f"[bold]Test metrics[/] ({result.test_series} series, last {hp.prediction_length} points, "
                      f"{hp.num_eval_samples} sample paths)", highlight=False)
            out.print(_metrics_table(result.test_metrics))
        if keep_root:
            out.print(f"Container root kept at {root}")
    finally:
        if not keep_root:
            shutil.rmtree(root, ignore_errors=True)


def _read_series(path: Path, parse, what: str) -> list:
    """Every record of a JSON Lines/Parquet file, each through ``parse(record, where)``."""
    from ..builtins.forecasting_deepar.channels import format_of, records

    return [parse(record, where) for record, where in records(path, format_of(path, None, what), path.name)]


def _quantile_list(text: str) -> list[str]:
    names = [q.strip() for q in text.split(",") if q.strip()]
    if not names:
        _fail("--quantiles: give quantiles as a comma-separated list, e.g. 0.1,0.5,0.9")
    for name in names:
        try:
            value = float(name)
        except ValueError:
            value = -1.0
        if not 0 < value < 1:
            _fail(f"--quantiles: {name!r} is not a quantile strictly between 0 and 1")
    return names


def _actual_future(actuals: list, starts: list, freq, horizon: int):
    """The actual values at each forecast's points (NaN where the actual series has none): (n, horizon)."""
    import numpy as np

    from ..builtins.forecasting_deepar.inference import time_index

    rows = np.full((len(starts), horizon), np.nan)
    for i, (series, start) in enumerate(zip(actuals, starts)):
        stamps = time_index(series.start, len(series.target), freq)
        positions = stamps.get_indexer(time_index(start, horizon, freq))
        found = positions >= 0
        rows[i, found] = np.asarray(series.target, dtype=float)[positions[found]]
    return rows


@app.command("predict")
def predict(
    model_dir: Path = typer.Option(..., "--model-dir", exists=True, file_okay=False, help="A model from `charter forecast train`."),
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="Series to forecast from (training format)."),
    num_samples: int = typer.Option(100, "--num-samples", min=1, max=10_000, help="Sample paths per series."),
    quantiles: str = typer.Option("0.1,0.5,0.9", "--quantiles", help="Quantiles to write, comma-separated."),
    samples: bool = typer.Option(False, "--samples", help="Also write every sample path."),
    out_file: Path = typer.Option(..., "--out", dir_okay=False, help="The predictions, one JSON object per line."),
    plot: Optional[Path] = typer.Option(None, "--plot", dir_okay=False, help="Draw a fan chart (PNG) of up to six series."),
    actuals: Optional[Path] = typer.Option(
        None, "--actuals", exists=True, dir_okay=False,
        help="The actual series (same order; full series or just the future) to score and chart against.",
    ),
) -> None:
    """Forecast the points after each series in DATA with the model in MODEL_DIR."""
    import numpy as np

    from ..analytics.forecasting.metrics import accuracy
    from ..builtins import ClientError
    from ..builtins.forecasting_deepar.channels import parse_record
    from ..builtins.forecasting_deepar.inference import Forecaster, InferenceConfig, forecast_start

    names = _quantile_list(quantiles)
    config = InferenceConfig(num_samples, ("mean", "quantiles", "samples") if samples else ("mean", "quantiles"), tuple(names))
    started = time.perf_counter()
    try:
        forecaster = Forecaster.load(model_dir)
        series = _read_series(data, forecaster.parse_instance, "--data")
        truth = None
        if actuals is not None:
            truth = _read_series(actuals, lambda r, w: parse_record(r, w, forecaster.freq, use_cat=False, use_feat=False),
                                 "--actuals")
    except ClientError as error:
        _fail(str(error))
    if not series:
        _fail(f"{data}: holds no series")
    if truth is not None and len(truth) != len(series):
        _fail(f"--actuals has {len(truth)} series but --data has {len(series)}; give them in the same order")

    P, freq = forecaster.prediction_length, forecaster.freq
    with err.status(f"Forecasting {len(series)} series ({num_samples} sample paths each)..."):
        paths = forecaster.sample_paths(series, num_samples)
    starts = [forecast_start(s.start, len(s.target), freq) for s in series]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with open(out_file, "w", encoding="utf-8") as sink:
        for start, p in zip(starts, paths):
            sink.write(json.dumps({"start": str(start), **forecaster.prediction(p, config)}) + "\n")

    table = Table(title=f"Forecast {len(series)} series in {time.perf_counter() - started:.1f} s", title_justify="left",
                  show_header=False)
    table.add_column("")
    table.add_column("")
    table.add_row("Horizon", f"{P} points of {forecaster.summary.time_freq} after each series")
    table.add_row("Predictions", str(out_file))
    future = None
    if truth is not None:
        future = _actual_future(truth, starts, freq, P)
        if not np.isfinite(future).any():
            err.print("[yellow]note:[/] --actuals has no values at the forecast points; nothing to score")
    if plot is not None:
        _fan_chart(plot, series, starts, paths, freq, future, forecaster.summary.context_length)
        table.add_row("Chart", str(plot))
    out.print(table)
    if future is not None and np.isfinite(future).any():
        metrics = accuracy(future, np.stack(paths), quantiles=[float(q) for q in names])
        out.print(f"[bold]Accuracy[/] against {actuals.name}", highlight=False)
        out.print(_metrics_table(metrics))


def _fan_chart(path: Path, series: list, starts: list, paths: list, freq, future, context_length: int) -> None:
    """A grid of up to six series: recent history, median forecast, 50% and 80% bands, actual future values."""
    import numpy as np

    from ..builtins.forecasting_deepar.inference import forecast_start, time_index
    from ..render import charts

    count = min(len(series), MAX_CHARTS)
    cols = 1 if count == 1 else 2
    rows = -(-count // cols)
    horizon = paths[0].shape[1]

    def draw(figure) -> None:
        axes = figure.subplots(rows, cols, squeeze=False)
        for i in range(count):
            axis = axes[i // cols][i % cols]
            s = series[i]
            keep = min(len(s.target), max(HISTORY_HORIZONS * horizon, context_length))
            if keep:
                history_index = time_index(forecast_start(s.start, len(s.target) - keep, freq), keep, freq)
                axis.plot(history_index, s.target[-keep:], color="#333333", linewidth=1.0, label="history")
            index = time_index(starts[i], horizon, freq)
            low80, low50, median, high50, high80 = np.quantile(paths[i], [0.1, 0.25, 0.5, 0.75, 0.9], axis=0)
            axis.fill_between(index, low80, high80, color="#1f77b4", alpha=0.18, linewidth=0, label="80% interval")
            axis.fill_between(index, low50, high50, color="#1f77b4", alpha=0.38, linewidth=0, label="50% interval")
            axis.plot(index, median, color="#1f77b4", linewidth=1.6, label="median forecast")
            if future is not None and np.isfinite(future[i]).any():
                axis.plot(index, future[i], color="#d62728", linewidth=1.2, linestyle="--", label="actual")
            axis.axvline(index[0], color="#999999", linewidth=0.8, linestyle=":")
            axis.set_title(f"series {i}" + (f" (cat {list(map(int, s.cat))})" if s.cat is not None else ""), fontsize=10)
            axis.tick_params(labelsize=8)
            axis.grid(alpha=0.3)
            if i == 0:
                axis.legend(fontsize=7, loc="upper left")
        for j in range(count, rows * cols):
            axes[j // cols][j % cols].set_visible(False)
        figure.suptitle(f"DeepAR forecasts ({count} of {len(series)} series)", fontsize=12)
        figure.autofmt_xdate()
        figure.tight_layout()

    picture = charts.image(draw, size=(6.5 * cols, 3.2 * rows), fmt=charts.image_format(path), house_style=False, dpi=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(picture)
