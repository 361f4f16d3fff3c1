"""DeepAR benchmark: Charter's DeepAR kernel against GluonTS's DeepAR (PyTorch) and seasonal naive.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/deepar.py --quick                 # smoke run (< 1 min with --only charter)
    .venv/bin/python benchmarks/deepar.py                         # electricity-like and M4-hourly-like
    .venv/bin/python benchmarks/deepar.py --train train.jsonl --test test.jsonl --windows 7   # your data
    .venv/bin/python benchmarks/deepar.py --dataset m4-hourly --seeds 3 --epochs 80 --batches-per-epoch 40 \
        --batch-size 64 --learning-rate 3e-3 --context-length 168           # real M4 hourly (README)

Method
------
1. Data.  By default two seeded synthetic sets from ``charter.analytics.forecasting.synthetic``
   (they stand in for ``../shared/data``'s electricity and M4 hourly, which are not always
   there; their numbers are not comparable with published ones):

   - electricity-like: 370 hourly series of 12 weeks (some start late), prediction and
     context length 24, rolling evaluation over the last 7 days (7 windows of 24 h), as in
     the DeepAR paper's electricity protocol;
   - M4-hourly-like: 414 hourly series of 700-960 points, prediction and context length
     48 (M4's hourly horizon), one evaluation window (the last 48 points), as in M4.

   ``--dataset m4-hourly`` is the real competition set from ``../shared/data/m4-hourly``: the
   414 training series with their start dates, the official 48-step test values as the one
   evaluation window.  Besides the table above it prints the M4 organisers' measures (sMAPE,
   MASE with m = 24, OWA against the official Naive2 forecasts) of each method's median
   forecast, next to the published sNaive, Naive2 and winner's scores.

   With ``--train``/``--test`` (SageMaker DeepAR JSON Lines; only ``start`` and ``target``
   are used) the test series are the full series and the train file is used as given.
   Training series are the full series minus their last ``windows * prediction_length``
   points.  The driver writes train and test series to JSON Lines in a temporary
   directory once; every worker parses those same files with the same code.
2. Evaluation windows.  For each test series and each window w (0 = oldest) the history is
   the series up to ``windows - w`` horizons before its end and the actual values are the
   ``prediction_length`` points after it: rolling evaluation with the trained model, no
   retraining.  Each method forecasts every window with ``--samples`` (100) sample paths
   and the driver scores all three the same way with
   ``charter.analytics.forecasting.metrics.accuracy`` (mean_wQuantileLoss over the
   quantiles 0.1-0.9, ND, RMSE, NRMSE).  Seasonal naive (``metrics.seasonal_naive``,
   season 24 for hourly data) is one point path, so its quantile losses are its absolute
   error.
3. Equal budget.  Both DeepARs get the same epochs, mini-batch size and batches per epoch,
   context and prediction length, layers, cells (GluonTS ``hidden_size``), dropout,
   learning rate, Student-t likelihood, lags (GluonTS's default
   ``get_lags_for_frequency``, which Charter's ``lags_for`` reproduces; both lists are
   recorded and compared) and torch threads (``--threads``, default 1).  Batches per epoch
   are Charter's data-dependent count (``DeepAR.batches_per_epoch``: one window per
   ``context + prediction`` observed points), capped by ``--batches-per-epoch``; Charter
   is given that as ``max_batches_per_epoch`` and GluonTS as ``num_batches_per_epoch``.
   Left as each library has it: GluonTS clips gradients at norm 10 and uses weight decay
   1e-8, feeds a dummy static category and static real, samples training windows with its
   ``ExpectedNumInstanceSampler`` and keeps the best epoch through a Lightning checkpoint;
   Charter samples windows uniformly over all (series, start) pairs and keeps the best
   epoch's parameters in memory.
4. Timing.  Each (method, seed) trains in its own subprocess (Charter under this
   interpreter, GluonTS under ``--peer-python``), one at a time, never concurrently.
   "s/epoch" is the median wall time of an epoch (the median, not the mean, so that a burst
   of other work on a shared machine weighs less; the JSON has every epoch and the mean).
   Charter's is its ``EpochReport.seconds`` (first batch to the best parameters kept);
   GluonTS's runs from the start of one epoch to the start of the next (the last to the
   end of training), through a Lightning callback.  Both include sampling the windows,
   building the batches, forward, backward, the optimiser step and keeping the best
   parameters (GluonTS: writing its checkpoint).  They exclude imports, reading the JSON
   Lines, building the model and the training set (Charter's flat arrays; GluonTS's
   transformation chain and data loader), which "fit s" (the whole ``fit`` / ``train``
   call) includes.  Inference is the wall time of forecasting every evaluation window (the
   library's own input preparation included), reported per 1,000 series.  Ratios are
   GluonTS time / Charter time (above 1: Charter faster) and Charter metric / GluonTS
   metric (below 1: Charter more accurate).  With ``--seeds N`` both train N times
   (seeds 0..N-1) on the same data; the table shows the means, the JSON every run.

A Rich table is printed and ``benchmarks/results/deepar.json`` written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = "/tmp/deepar-peers/bin/python"
PROGRESS = "@@progress "  # prefix of the progress lines a worker prints on stdout
PEER_SETUP = ("python3 -m venv /tmp/deepar-peers && /tmp/deepar-peers/bin/pip install torch==2.13.0 && "
              "/tmp/deepar-peers/bin/pip install 'gluonts[torch]==0.17.0' 'lightning==2.6.6' 'pandas==2.3.3'")
SEASONS = {"min": 60, "H": 24, "D": 7, "W": 52, "M": 12}


# --------------------------------------------------------------------------------------
# Shared by driver and workers (standard library and numpy only: the peer venv has no Charter)
# --------------------------------------------------------------------------------------


def read_jsonl(path: str) -> list[tuple[str, list[float]]]:
    """(start, target) of every line of a SageMaker DeepAR JSON Lines file; null/"NaN" -> nan."""
    out = []
    with open(path) as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out.append((str(rec["start"]),
                            [math.nan if v is None or v == "NaN" else float(v) for v in rec["target"]]))
    return out


def evaluation_windows(test: list[tuple[str, list[float]]], windows: int, horizon: int):
    """(start, history, actual) of every evaluation window, series-major, oldest window first.

    Series too short to leave at least one point of history before their oldest window are
    left out (the same ones for every method).
    """
    out = []
    for start, target in test:
        n = len(target)
        if n - windows * horizon < 1:
            continue
        for w in range(windows):
            end = n - (windows - w) * horizon
            out.append((start, target[:end], target[end:end + horizon]))
    return out


def emit(**event) -> None:
    print(PROGRESS + json.dumps(event), flush=True)


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


# --------------------------------------------------------------------------------------
# Workers (each runs in its own subprocess)
# --------------------------------------------------------------------------------------


def _charter_worker(spec: dict) -> dict:
    import numpy as np
    import pandas as pd
    import torch

    from charter.analytics.forecasting.deepar import DeepAR, DeepARConfig, Series

    _set_threads(spec["threads"])
    train = [Series(pd.Timestamp(s), np.asarray(t, dtype=np.float64)) for s, t in read_jsonl(spec["train"])]
    evals = evaluation_windows(read_jsonl(spec["test"]), spec["windows"], spec["prediction_length"])
    histories = [Series(pd.Timestamp(s), np.asarray(h, dtype=np.float64)) for s, h, _ in evals]
    cfg = DeepARConfig(time_freq=spec["freq"], prediction_length=spec["prediction_length"],
                       context_length=spec["context_length"], epochs=spec["epochs"], likelihood="student-T",
                       num_cells=spec["num_cells"], num_layers=spec["num_layers"],
                       dropout_rate=spec["dropout_rate"], learning_rate=spec["learning_rate"],
                       mini_batch_size=spec["batch_size"], seed=spec["seed"])
    model = DeepAR(cfg)
    batches = spec["batches_per_epoch"]
    epochs = []
    last = [0.0]

    def on_batch(epoch: int, batch: int, loss: float) -> None:
        now = time.perf_counter()
        if now - last[0] > 0.5 or batch == batches - 1:
            last[0] = now
            emit(done=epoch * batches + batch + 1, note=f"epoch {epoch + 1} loss {loss:.3f}")

    def on_epoch(report) -> None:
        epochs.append({"seconds": report.seconds, "loss": report.loss, "batches": report.batches})

    t0 = time.perf_counter()
    model.fit(train, on_epoch=on_epoch, on_batch=on_batch, max_batches_per_epoch=batches)
    fit_s = time.perf_counter() - t0

    torch.manual_seed(spec["seed"])
    chunk = 250
    samples = []
    t0 = time.perf_counter()
    for i in range(0, len(histories), chunk):
        samples.append(model.forecast(histories[i: i + chunk], num_samples=spec["samples"]))
        emit(done=spec["epochs"] * batches + min(i + chunk, len(histories)), note="forecasting")
    infer_s = time.perf_counter() - t0
    np.save(spec["samples_out"], np.concatenate(samples).astype(np.float32))
    return {"epochs": epochs, "fit_seconds": fit_s, "infer_seconds": infer_s, "final_loss": model.final_loss,
            "best_epoch": model.best_epoch, "lags": list(cfg.lags),
            "versions": {"torch": torch.__version__, "numpy": np.__version__, "pandas": pd.__version__}}


def _gluonts_worker(spec: dict) -> dict:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("gluonts").setLevel(logging.ERROR)

    import gluonts
    import lightning
    import lightning.pytorch as pl
    import numpy as np
    import pandas as pd
    import torch
    from gluonts.dataset.common import ListDataset
    from gluonts.torch.distributions import StudentTOutput
    from gluonts.torch.model.deepar import DeepAREstimator

    _set_threads(spec["threads"])
    # pandas 2.2+ spells hours "h"; the DeepAR spec (and Charter) spell them "H".
    freq = spec["freq"].replace("H", "h")
    train_rows = read_jsonl(spec["train"])
    evals = evaluation_windows(read_jsonl(spec["test"]), spec["windows"], spec["prediction_length"])
    train = ListDataset([{"start": pd.Period(s, freq), "target": np.asarray(t, dtype=np.float32)}
                         for s, t in train_rows], freq=freq)
    histories = ListDataset([{"start": pd.Period(s, freq), "target": np.asarray(h, dtype=np.float32)}
                             for s, h, _ in evals], freq=freq)
    batches = spec["batches_per_epoch"]

    class Timer(pl.Callback):
        """Epoch wall times (start to next start; the last to the end of training) and losses."""

        def __init__(self):
            self.starts, self.losses, self.end, self.last = [], [], None, 0.0

        def on_train_epoch_start(self, trainer, module):
            self.starts.append(time.perf_counter())

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            now = time.perf_counter()
            if now - self.last > 0.5 or batch_idx == batches - 1:
                self.last = now
                loss = trainer.callback_metrics.get("train_loss")
                emit(done=(len(self.starts) - 1) * batches + batch_idx + 1,
                     note=f"epoch {len(self.starts)}" + (f" loss {float(loss):.3f}" if loss is not None else ""))

        def on_train_epoch_end(self, trainer, module):
            loss = trainer.callback_metrics.get("train_loss")
            self.losses.append(None if loss is None else float(loss))

        def on_train_end(self, trainer, module):
            self.end = time.perf_counter()

    timer = Timer()
    pl.seed_everything(spec["seed"], verbose=False)
    estimator = DeepAREstimator(
        freq=freq, prediction_length=spec["prediction_length"], context_length=spec["context_length"],
        num_layers=spec["num_layers"], hidden_size=spec["num_cells"], lr=spec["learning_rate"],
        dropout_rate=spec["dropout_rate"], distr_output=StudentTOutput(), batch_size=spec["batch_size"],
        num_batches_per_epoch=batches, num_parallel_samples=spec["samples"],
        trainer_kwargs={"max_epochs": spec["epochs"], "accelerator": "cpu", "devices": 1, "logger": False,
                        "enable_progress_bar": False, "enable_model_summary": False,
                        "default_root_dir": spec["workdir"], "callbacks": [timer]})
    t0 = time.perf_counter()
    predictor = estimator.train(train)
    fit_s = time.perf_counter() - t0
    marks = timer.starts + [timer.end]
    epochs = [{"seconds": b - a, "loss": loss, "batches": batches}
              for a, b, loss in zip(marks[:-1], marks[1:], timer.losses)]

    torch.manual_seed(spec["seed"])
    samples = []
    t0 = time.perf_counter()
    for i, forecast in enumerate(predictor.predict(histories, num_samples=spec["samples"])):
        samples.append(forecast.samples)
        if (i + 1) % 250 == 0 or i + 1 == len(evals):
            emit(done=spec["epochs"] * batches + i + 1, note="forecasting")
    infer_s = time.perf_counter() - t0
    np.save(spec["samples_out"], np.stack(samples).astype(np.float32))
    lags = [lag + 1 for lag in predictor.prediction_net.model.lags_seq]  # stored zero-based
    losses = [e["loss"] for e in epochs if e["loss"] is not None]
    return {"epochs": epochs, "fit_seconds": fit_s, "infer_seconds": infer_s,
            "final_loss": min(losses) if losses else None, "lags": lags,
            "versions": {"gluonts": gluonts.__version__, "lightning": lightning.__version__,
                         "torch": torch.__version__, "numpy": np.__version__, "pandas": pd.__version__}}


WORKERS = {"charter": _charter_worker, "gluonts": _gluonts_worker}


def worker_main(spec_path: str) -> int:
    # Nothing in benchmarks/ may shadow a module the libraries import.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    spec = json.loads(Path(spec_path).read_text())
    result = WORKERS[spec["method"]](spec)
    result["python"] = sys.executable
    Path(spec["out"]).write_text(json.dumps(result))
    return 0


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def peer_ready(python: str) -> str | None:
    """None if ``python`` can import GluonTS's torch DeepAR, else why not."""
    if not Path(python).exists():
        return f"{python} does not exist"
    proc = subprocess.run([python, "-c", "import gluonts.torch.model.deepar, lightning"], capture_output=True,
                          text=True, timeout=300, cwd=tempfile.gettempdir())
    if proc.returncode:
        return (proc.stderr.strip().splitlines() or ["cannot import gluonts.torch"])[-1]
    return None


def run_worker(python: str, spec: dict, workdir: Path, timeout: float, progress, task) -> dict:
    tag = f"{spec['dataset']}-{spec['method']}-{spec['seed']}"
    spec = dict(spec, out=str(workdir / f"{tag}.out.json"), samples_out=str(workdir / f"{tag}.samples.npy"),
                workdir=str(workdir / tag))
    spec_path = workdir / f"{tag}.spec.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]), MKL_NUM_THREADS=str(spec["threads"]))
    if spec["method"] == "charter":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH", "")]))
    else:
        env.pop("PYTHONPATH", None)  # the peer must not see Charter's sources
    stderr_path = workdir / f"{tag}.stderr"
    started = time.perf_counter()
    with open(stderr_path, "w") as err:
        # cwd is the temp dir so no file of this repository shadows a module of the peer's.
        proc = subprocess.Popen([python, str(Path(__file__).resolve()), "--worker", str(spec_path)],
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=str(workdir))
        try:
            for line in proc.stdout:
                if line.startswith(PROGRESS):
                    event = json.loads(line[len(PROGRESS):])
                    progress.update(task, completed=event["done"],
                                    description=f"{spec['label']} {event.get('note', '')}")
                if time.perf_counter() - started > timeout:
                    proc.kill()
                    return {"error": f"timed out after {timeout:.0f} s"}
            proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            proc.kill()
            return {"error": f"timed out after {timeout:.0f} s"}
    tail = stderr_path.read_text()[-3000:]
    if proc.returncode != 0 or not Path(spec["out"]).exists():
        return {"error": (tail.strip().splitlines() or ["failed"])[-1], "stderr_tail": tail}
    out = json.loads(Path(spec["out"]).read_text())
    out["samples_path"] = spec["samples_out"]
    out["process_seconds"] = time.perf_counter() - started
    return out


def load_dataset(args, name: str):
    """(label, freq, prediction_length, context_length, windows, train rows, test rows)."""
    if name == "file":
        test = read_jsonl(args.test)
        train = read_jsonl(args.train)
        P = args.prediction_length or 24
        return (Path(args.test).stem, args.freq, P, args.context_length or P, args.windows or 1, train, test)
    if name == "m4-hourly":  # the real competition data: train, then the official 48-step test
        from charter.datasets import m4

        data = m4.hourly()
        if args.series:
            data = data.subset(range(args.series))
        starts = [str(s) for s in data.starts]
        train = [(s, list(x)) for s, x in zip(starts, data.train)]
        test = [(s, list(x) + list(y)) for s, x, y in zip(starts, data.train, data.test)]
        return ("m4-hourly (real)", "H", m4.HORIZON, args.context_length or m4.HORIZON, 1, train, test)
    from charter.analytics.forecasting.synthetic import electricity_like, m4_hourly_like

    if name == "electricity":
        n = args.series or (40 if args.quick else 370)
        weeks = args.weeks or (4 if args.quick else 12)
        data = electricity_like(n, 24 * 7 * weeks, seed=args.data_seed)
        P, windows = args.prediction_length or 24, args.windows or 7
    else:
        data = m4_hourly_like(args.series or (40 if args.quick else 414), seed=args.data_seed)
        P, windows = args.prediction_length or 48, args.windows or 1
    # Round trip through the JSON Lines records so every method sees the written values.
    test = [(r["start"], [math.nan if v is None else v for v in r["target"]]) for r in data.records()]
    train = [(r["start"], [math.nan if v is None else v for v in r["target"]]) for r in data.records(cut=windows * P)]
    return data.name, data.freq, P, args.context_length or P, windows, train, test


def differenced(rows, season: int, freq) -> list:
    """(start, target) rows as their seasonal differences, each starting ``season`` steps later."""
    import numpy as np
    import pandas as pd

    from charter.analytics.forecasting.transforms import seasonal_difference

    return [(str(pd.Timestamp(start) + season * freq.offset),
             [float(v) for v in seasonal_difference(np.asarray(target, dtype=np.float64), season)])
            for start, target in rows]


def write_jsonl(rows, path: Path) -> None:
    with open(path, "w") as fh:
        for start, target in rows:
            fh.write(json.dumps({"start": start, "target": [None if math.isnan(v) else v for v in target]}) + "\n")


def kernel_batches(freq: str, P: int, C: int, batch_size: int, train) -> int:
    """Charter's own batches per epoch for this training set (``DeepAR.batches_per_epoch``)."""
    from types import SimpleNamespace

    from charter.analytics.forecasting.deepar import DeepAR, DeepARConfig

    # The kernel counts the observed points of the series it trains on (those with >= P points).
    points = sum(sum(1 for v in t if not math.isnan(v)) for _, t in train if len(t) >= P)
    model = DeepAR(DeepARConfig(time_freq=freq, prediction_length=P, context_length=C, epochs=1,
                                mini_batch_size=batch_size))
    return model.batches_per_epoch(SimpleNamespace(points=points))


def score(evals, samples) -> dict:
    import numpy as np

    from charter.analytics.forecasting.metrics import accuracy

    actual = np.array([a for _, _, a in evals], dtype=np.float64)
    return accuracy(actual, samples)


M4_MEASURES = ("sMAPE", "MASE", "OWA")


def m4_scorer(series: int | None):
    """Scores a (series, paths, 48) sample array as the M4 organisers score point forecasts.

    The point forecast is the median of the sample paths; OWA is relative to the official Naive2.
    """
    import numpy as np

    from charter.analytics.forecasting.metrics import m4_scores
    from charter.datasets import m4

    data = m4.hourly()
    if series:
        data = data.subset(range(series))
    naive2 = data.benchmark_forecast("Naive2")

    def scorer(samples) -> dict:
        point = np.median(np.asarray(samples, dtype=np.float64), axis=1)
        return m4_scores(data.train, data.test, point, m4.SEASON, naive2=naive2)

    return scorer


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def _fmt(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if abs(value) < 1000 else f"{value:,.0f}"


def _ratio(a, b) -> float | None:
    return a / b if a is not None and b not in (None, 0) else None


METRICS = ("mean_wQuantileLoss", "ND", "RMSE", "NRMSE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["electricity", "m4", "m4-hourly"], action="append",
                        help="electricity, m4: synthetic sets; m4-hourly: the real M4 hourly data in "
                             "../shared/data (repeatable; default electricity and m4)")
    parser.add_argument("--train", help="training series, SageMaker DeepAR JSON Lines (with --test)")
    parser.add_argument("--test", help="full series to evaluate on, JSON Lines (with --train)")
    parser.add_argument("--freq", default="H", help="time_freq of --train/--test data (default H)")
    parser.add_argument("--series", type=int, help="synthetic series per set (default 370 / 414)")
    parser.add_argument("--weeks", type=int, help="electricity-like length in weeks (default 12)")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--prediction-length", type=int, help="default 24 (electricity, files), 48 (M4)")
    parser.add_argument("--context-length", type=int, help="default: the prediction length")
    parser.add_argument("--windows", type=int, help="rolling evaluation windows (default 7 electricity, 1 M4)")
    parser.add_argument("--epochs", type=int, help="default 10 (--quick 2)")
    parser.add_argument("--batch-size", type=int, default=128, help="mini-batch size (SageMaker's default 128)")
    parser.add_argument("--batches-per-epoch", type=int,
                        help="cap on Charter's data-dependent batches per epoch (default 50, --quick 5)")
    parser.add_argument("--num-cells", type=int, default=40)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--dropout-rate", type=float, default=0.1)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--samples", type=int, default=100, help="sample paths per forecast")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in every worker")
    parser.add_argument("--seeds", type=int, default=1, help="train each DeepAR this many times (seeds 0..N-1)")
    parser.add_argument("--seasonal-difference", action="store_true",
                        help="train both DeepARs on y_t - y_{t-season} and undifference their sample paths "
                             "(analytics.forecasting.transforms); scores stay on the original scale")
    parser.add_argument("--quick", action="store_true", help="40 series per set, 2 epochs of 5 batches")
    parser.add_argument("--only", choices=["charter", "gluonts"], action="append",
                        help="DeepARs to run (repeatable; seasonal naive always runs)")
    parser.add_argument("--peer-python", default=PEER_PYTHON, help=f"interpreter with gluonts[torch] "
                        f"(default {PEER_PYTHON})")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on a worker after this many s")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "deepar.json"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.worker)
    if bool(args.train) != bool(args.test):
        parser.error("--train and --test go together")

    import numpy as np
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from charter.analytics.forecasting.frequency import parse_frequency
    from charter.analytics.forecasting.metrics import seasonal_naive
    from charter.analytics.forecasting.transforms import undifference

    console = Console(width=max(Console().width, 130))
    epochs = args.epochs or (2 if args.quick else 10)
    cap = args.batches_per_epoch or (5 if args.quick else 50)
    methods = args.only or ["charter", "gluonts"]
    if "gluonts" in methods:
        why = peer_ready(args.peer_python)
        if why:
            console.print(f"[yellow]GluonTS skipped: {escape(why)}.[/] Create the peers' virtualenv with\n"
                          f"  {escape(PEER_SETUP)}\n"
                          "or pass --peer-python; measuring Charter and seasonal naive only.")
            methods = [m for m in methods if m != "gluonts"]
    datasets = ["file"] if args.train else (args.dataset or ["electricity", "m4"])

    workdir = Path(tempfile.mkdtemp(prefix="charter-deepar-bench-"))
    results: dict[str, dict] = {}
    load_before = os.getloadavg()
    try:
        for name in datasets:
            label, freq, P, C, windows, train, test = load_dataset(args, name)
            freq_obj = parse_frequency(freq)
            season = max(1, SEASONS[freq_obj.unit] // freq_obj.multiple)
            if args.seasonal_difference:
                label = f"{label}, seasonally differenced"
            (workdir / label).mkdir()
            train_path, test_path = workdir / label / "train.jsonl", workdir / label / "test.jsonl"
            write_jsonl(test, test_path)  # the original scale: what is scored
            evals = evaluation_windows(read_jsonl(str(test_path)), windows, P)
            if args.seasonal_difference:  # the workers see only the differences
                train, test = differenced(train, season, freq_obj), differenced(test, season, freq_obj)
                test_path = workdir / label / "test-differenced.jsonl"
                write_jsonl(test, test_path)
            write_jsonl(train, train_path)
            natural = kernel_batches(freq, P, C, args.batch_size, read_jsonl(str(train_path)))
            batches = min(natural, cap)
            console.print(f"[bold]{label}[/]: {len(train)} series, {sum(len(t) for _, t in train):,} training points, "
                          f"{len(evals)} evaluation windows of {P}; context {C}; {epochs} epochs x {batches} "
                          f"batches of {args.batch_size} (Charter's own count {natural})")
            t0 = time.perf_counter()
            naive = seasonal_naive([np.asarray(h, dtype=np.float64) for _, h, _ in evals], season, P)
            naive_s = time.perf_counter() - t0
            m4_score = m4_scorer(args.series) if name == "m4-hourly" else None
            entry = {"freq": freq, "seasonal_difference": args.seasonal_difference, "series": len(train),
                     "prediction_length": P, "context_length": C,
                     "windows": windows, "evaluation_windows": len(evals), "epochs": epochs,
                     "batches_per_epoch": batches, "charter_batches_per_epoch": natural,
                     "batch_size": args.batch_size, "season": season,
                     "seasonal_naive": {"metrics": score(evals, naive), "infer_seconds": naive_s}, "runs": {}}
            if m4_score:
                from charter.datasets import m4

                published = m4.published_scores()
                entry["m4"] = {"seasonal_naive": m4_score(naive),
                               "published": {k: {m: float(published.loc[k, f"hourly_{m}"]) for m in M4_MEASURES}
                                             for k in ("Naive2", "sNaive", "118")}}
            results[label] = entry
            spec_base = {"dataset": label, "train": str(train_path), "test": str(test_path), "freq": freq,
                         "prediction_length": P, "context_length": C, "windows": windows, "epochs": epochs,
                         "batch_size": args.batch_size, "batches_per_epoch": batches, "num_cells": args.num_cells,
                         "num_layers": args.num_layers, "dropout_rate": args.dropout_rate,
                         "learning_rate": args.learning_rate, "samples": args.samples, "threads": args.threads}
            for method in methods:
                python = sys.executable if method == "charter" else args.peer_python
                entry["runs"][method] = []
                for seed in range(args.seeds):
                    name_ = {"charter": "Charter", "gluonts": "GluonTS"}[method]
                    spec = dict(spec_base, method=method, seed=seed, label=f"{label} {name_} seed {seed}:")
                    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=console, transient=True) as progress:
                        task = progress.add_task(spec["label"], total=epochs * batches + len(evals))
                        run = run_worker(python, spec, workdir, args.timeout, progress, task)
                    if "error" in run:
                        console.print(f"[red]{name_} seed {seed} failed: {run['error']}")
                        console.print(run.get("stderr_tail", ""))
                    else:
                        samples = np.load(run.pop("samples_path"))
                        if args.seasonal_difference:
                            samples = np.stack([undifference(paths, np.asarray(history, dtype=np.float64), season)
                                                for paths, (_, history, _) in zip(samples, evals)])
                        run["metrics"] = score(evals, samples)
                        if m4_score:
                            run["m4"] = m4_score(samples)
                        times = [e["seconds"] for e in run["epochs"]]
                        run["seconds_per_epoch"] = statistics.median(times)
                        run["seconds_per_epoch_mean"] = _mean(times)
                        run["infer_seconds_per_1000"] = run["infer_seconds"] / len(evals) * 1000
                        got = {e["batches"] for e in run["epochs"]}
                        if got != {batches}:
                            console.print(f"[red]{name_} ran {sorted(got)} batches per epoch, not {batches}")
                        console.print(f"  {name_} seed {seed}: {run['seconds_per_epoch']:.2f} s/epoch, "
                                      f"fit {run['fit_seconds']:.1f} s, inference {run['infer_seconds']:.1f} s, "
                                      f"mean_wQuantileLoss {run['metrics']['mean_wQuantileLoss']:.4f}, "
                                      f"best loss {_fmt(run['final_loss'])}")
                    run["seed"] = seed
                    entry["runs"][method].append(run)
            lags = {m: runs[0].get("lags") for m, runs in entry["runs"].items() if runs and "lags" in runs[0]}
            entry["lags"] = lags
            if len({tuple(v) for v in lags.values()}) > 1:
                console.print(f"[red]the two DeepARs used different lags: {lags}")
    finally:
        load_after = os.getloadavg()
        shutil.rmtree(workdir, ignore_errors=True)

    # Means over seeds, then the tables.
    for entry in results.values():
        entry["summary"] = {}
        for method, runs in entry["runs"].items():
            ok = [r for r in runs if "error" not in r]
            if not ok:
                continue
            entry["summary"][method] = {
                "runs": len(ok),
                "seconds_per_epoch": _mean([r["seconds_per_epoch"] for r in ok]),
                "fit_seconds": _mean([r["fit_seconds"] for r in ok]),
                "infer_seconds_per_1000": _mean([r["infer_seconds_per_1000"] for r in ok]),
                "final_loss": _mean([r["final_loss"] for r in ok]),
                "metrics": {k: _mean([r["metrics"][k] for r in ok]) for k in METRICS},
                "metrics_range": {k: [min(r["metrics"][k] for r in ok), max(r["metrics"][k] for r in ok)]
                                  for k in METRICS},
            }
            if "m4" in entry:
                entry["summary"][method]["m4"] = {k: _mean([r["m4"][k] for r in ok]) for k in M4_MEASURES}
                entry["summary"][method]["m4_range"] = {k: [min(r["m4"][k] for r in ok), max(r["m4"][k] for r in ok)]
                                                        for k in M4_MEASURES}
        ch, gl = entry["summary"].get("charter"), entry["summary"].get("gluonts")
        entry["ratios"] = {}
        if ch and gl:
            entry["ratios"] = {
                "train_seconds_per_epoch": _ratio(gl["seconds_per_epoch"], ch["seconds_per_epoch"]),
                "fit_seconds": _ratio(gl["fit_seconds"], ch["fit_seconds"]),
                "inference": _ratio(gl["infer_seconds_per_1000"], ch["infer_seconds_per_1000"]),
                **{k: _ratio(ch["metrics"][k], gl["metrics"][k]) for k in METRICS},
            }

    table = Table(title=f"DeepAR: {epochs} epochs, batch {args.batch_size}, {args.samples} sample paths, "
                        f"{args.threads} torch thread(s); means over {args.seeds} seed(s)")
    headers = {"mean_wQuantileLoss": "mean wQL"}
    for col in ("dataset", "method", "s/epoch", "fit s", "infer s/1k", "best loss", *METRICS):
        table.add_column(headers.get(col, col), justify="left" if col in ("dataset", "method") else "right")
    for label, entry in results.items():
        names = {"charter": "Charter DeepAR", "gluonts": "GluonTS DeepAR"}
        for method in ("charter", "gluonts"):
            s = entry["summary"].get(method)
            if s:
                table.add_row(label, names[method], _fmt(s["seconds_per_epoch"], 2), _fmt(s["fit_seconds"], 1),
                              _fmt(s["infer_seconds_per_1000"], 2), _fmt(s["final_loss"]),
                              *(_fmt(s["metrics"][k], 4) for k in METRICS))
            elif method in entry["runs"]:  # it ran and failed
                table.add_row(label, names[method], *["-"] * 4, *["-"] * len(METRICS))
        sn = entry["seasonal_naive"]
        table.add_row(label, "seasonal naive", "-", "-",
                      _fmt(sn["infer_seconds"] / entry["evaluation_windows"] * 1000, 4), "-",
                      *(_fmt(sn["metrics"][k], 4) for k in METRICS))
        r = entry["ratios"]
        if r:
            table.add_row(label, "[bold]ratio[/]",
                          *(f"[bold]{_fmt(r[k], 2)}x" for k in ("train_seconds_per_epoch", "fit_seconds", "inference")),
                          "", *(f"[bold]{_fmt(r[k], 3)}" for k in METRICS), end_section=True)
        else:
            table.add_section()
    console.print(table)
    console.print("ratio: times GluonTS / Charter (above 1: Charter faster), metrics Charter / GluonTS (below 1: "
                  "Charter more accurate).  s/epoch: training wall time per epoch; fit s: the whole fit call; "
                  "infer s/1k: forecasting 1,000 series with all sample paths; best loss: the best epoch's mean "
                  "training NLL; mean wQL: mean_wQuantileLoss (seasonal naive's is that of one point path, season "
                  + "/".join(sorted({str(e["season"]) for e in results.values()})) + ").")
    for label, entry in results.items():
        if "m4" not in entry:
            continue
        m4_table = Table(title=f"{label}: M4 measures of the median forecast (OWA against the official Naive2); "
                               f"means over {args.seeds} seed(s), range in brackets")
        for col in ("method", *M4_MEASURES):
            m4_table.add_column(col, justify="left" if col == "method" else "right")
        for method, title in (("charter", "Charter DeepAR"), ("gluonts", "GluonTS DeepAR")):
            s_ = entry["summary"].get(method)
            if s_:
                m4_table.add_row(title, *(f"{s_['m4'][k]:.3f} [{s_['m4_range'][k][0]:.3f}-{s_['m4_range'][k][1]:.3f}]"
                                          for k in M4_MEASURES))
        m4_table.add_row("seasonal naive (Charter's)", *(f"{entry['m4']['seasonal_naive'][k]:.3f}" for k in M4_MEASURES))
        for key, title in (("sNaive", "published sNaive"), ("Naive2", "published Naive2"),
                           ("118", "published winner (118 Smyl)")):
            m4_table.add_row(title, *(f"{entry['m4']['published'][key][k]:.3f}" for k in M4_MEASURES))
        ch, gl = entry["summary"].get("charter"), entry["summary"].get("gluonts")
        if ch and gl:
            m4_table.add_row("[bold]ratio Charter / GluonTS[/]", *(f"[bold]{_fmt(_ratio(ch['m4'][k], gl['m4'][k]), 3)}"
                                                                   for k in M4_MEASURES))
        console.print(m4_table)
    console.print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs")

    versions = {m: runs[0].get("versions") for e in results.values() for m, runs in e["runs"].items()
                if runs and runs[0].get("versions")}
    out = {"settings": {k: v for k, v in vars(args).items() if k != "worker"}, "epochs": epochs,
           "batches_per_epoch_cap": cap, "methods": methods, "datasets": results, "versions": versions,
           "load_average": {"before": load_before, "after": load_after},
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": sys.version.split()[0]},
           "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2, default=str))
    console.print(f"wrote {args.output}")
    failed = any("error" in r for e in results.values() for runs in e["runs"].values() for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
