"""DeepAR: an autoregressive LSTM that forecasts a distribution, trained across many series.

Model: Salinas, Flunkert, Gasthaus, Januschowski, "DeepAR: Probabilistic forecasting
with autoregressive recurrent networks" (arXiv 1704.04110), as SageMaker's built-in and
GluonTS's ``DeepAREstimator`` implement it; spec: specs/deepar.md, section 5.

At each time step t of a series the network sees the (scaled) values at the lags of
t, the calendar features of t, the series' age ``log10(2 + t)``, its dynamic features
at t, the embeddings of its categories and ``log ν`` (ν = the series' mean absolute
value over the context window), and outputs the parameters of the likelihood of z_t:

    h_t = LSTM(h_{t-1}, [z_{t-l}/ν for l in lags, x_t, embed(cat), log ν]),   z_t ~ ℓ(· | head(h_t), ν)

Training samples windows of ``context_length + prediction_length`` points uniformly
over every (series, forecast start) where the forecast part lies in the series,
unrolls with the true values (teacher forcing) and minimises the mean negative
log-likelihood of the observed points. Forecasting runs the LSTM over the context
with true values, then draws each future point and feeds it back as the lag input
of later steps (ancestral sampling), for all sample paths at once.

The whole training set lives in flat arrays (each series preceded by enough zero,
unobserved padding for its first window), so a mini-batch is a handful of numpy
gathers rather than a per-window Python pipeline; that is most of the speed over
GluonTS on a CPU. Regularisation is dropout between LSTM layers (GluonTS's PyTorch
model does the same; the MXNet original used zoneout).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from .frequency import Frequency, feature_names, lags_for, parse_frequency, time_features
from .likelihoods import Likelihood, likelihood

__all__ = ["DeepAR", "DeepARConfig", "EpochReport", "Series"]

MIN_SCALE = 1e-10
LR_PATIENCE, LR_FLOOR = 10, 5e-5  # halve the rate after 10 epochs without a better loss, down to 5e-5


@dataclass
class Series:
    """One time series: ``target[0]`` is at ``start``; NaN marks a missing value.

    ``dynamic_feat`` has shape (K, n) with n >= len(target); it must reach
    ``prediction_length`` points past the target wherever the series is forecast.
    """

    start: pd.Timestamp
    target: np.ndarray
    cat: np.ndarray | None = None
    dynamic_feat: np.ndarray | None = None


@dataclass
class DeepARConfig:
    """The model's hyperparameters (SageMaker's names and defaults, specs/deepar.md section 2).

    These defaults are the only copy: the DeepAR image's ``hyperparameters.json`` reader
    (:mod:`charter.builtins.forecasting_deepar.hyperparameters`) takes its own from here.
    """

    time_freq: str
    prediction_length: int
    context_length: int
    epochs: int
    likelihood: str = "student-T"
    num_cells: int = 40
    num_layers: int = 2
    dropout_rate: float = 0.1
    embedding_dimension: int = 10
    cardinality: list[int] = field(default_factory=list)  # categories per cat feature; [] = cat not used
    num_dynamic_feat: int = 0
    learning_rate: float = 1e-3
    mini_batch_size: int = 128
    early_stopping_patience: int | None = None
    seed: int = 0
    lags: list[int] = field(default_factory=list)  # filled from time_freq when empty

    def __post_init__(self) -> None:
        if not self.lags:
            self.lags = lags_for(self.frequency)

    @property
    def frequency(self) -> Frequency:
        return parse_frequency(self.time_freq)

    @property
    def history(self) -> int:
        """Points before the first unrolled step that its lags reach back to."""
        return max(self.lags)


@dataclass
class EpochReport:
    epoch: int  # 0-based
    loss: float  # mean negative log-likelihood per observed point
    best_loss: float
    best_epoch: int
    improved: bool
    learning_rate: float
    batches: int
    seconds: float


class _Network(nn.Module):
    def __init__(self, cfg: DeepARConfig, n_covariates: int, head_params: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, cfg.embedding_dimension) for c in cfg.cardinality)
        n_static = cfg.embedding_dimension * len(cfg.cardinality) + 1  # embeddings and log ν
        self.input_size = len(cfg.lags) + n_covariates + n_static
        self.rnn = nn.LSTM(self.input_size, cfg.num_cells, cfg.num_layers, batch_first=True,
                           dropout=cfg.dropout_rate if cfg.num_layers > 1 else 0.0)
        self.head = nn.Linear(cfg.num_cells, head_params)

    def static(self, cat: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
        parts = [emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
        return torch.cat([*parts, log_scale[:, None]], dim=1)

    def forward(self, lags, covariates, static, state=None):
        steps = lags.shape[1]
        inputs = torch.cat([lags, covariates, static[:, None, :].expand(-1, steps, -1)], dim=2)
        out, state = self.rnn(inputs, state)
        return self.head(out), state


class _Windows:
    """Every training series in flat, padded arrays, and uniform sampling of training windows."""

    def __init__(self, model: "DeepAR", series: Sequence[Series]):
        cfg = model.config
        self.before = cfg.history + cfg.context_length  # padding in front of each series
        P = cfg.prediction_length
        values, observed, covariates, starts, counts, cats = [], [], [], [], [], []
        offset = 0
        for s in series:
            n = len(s.target)
            if n < P:  # too short to hold one forecast window: SageMaker skips it too
                continue
            target = np.asarray(s.target, dtype=np.float32)
            obs = np.isfinite(target)
            pad = self.before
            values.append(np.concatenate([np.zeros(pad, np.float32), np.where(obs, target, 0.0).astype(np.float32)]))
            observed.append(np.concatenate([np.zeros(pad, np.float32), obs.astype(np.float32)]))
            cov = model.covariates(s, 0, n)
            covariates.append(np.concatenate([np.zeros((cov.shape[0], pad), np.float32), cov], axis=1))
            # Forecast starts t0 in 1..n-P (at least one point of history), as flat positions.
            first = 1 if n > P else 0
            starts.append(offset + pad + first)
            counts.append(n - P - first + 1)
            cats.append(model.cat_of(s))
            offset += pad + n
        if not values:
            raise ValueError(f"no training series has at least prediction_length ({P}) points")
        self.values = torch.from_numpy(np.concatenate(values))
        self.observed = torch.from_numpy(np.concatenate(observed))
        self.covariates = torch.from_numpy(np.concatenate(covariates, axis=1).T.copy())  # (positions, C)
        self.starts = np.asarray(starts, dtype=np.int64)
        self.counts = np.asarray(counts, dtype=np.int64)
        self.cumulative = np.cumsum(self.counts)
        self.cats = torch.from_numpy(np.asarray(cats, dtype=np.int64).reshape(len(cats), -1))
        self.series = len(values)
        self.points = int(self.observed.sum().item())

    @property
    def windows(self) -> int:
        return int(self.cumulative[-1])

    def sample(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``size`` windows uniformly over all (series, forecast start): flat forecast starts and series."""
        picks = rng.integers(0, self.windows, size=size)
        which = np.searchsorted(self.cumulative, picks, side="right")
        before = np.concatenate([[0], self.cumulative[:-1]])[which]
        return torch.from_numpy(self.starts[which] + picks - before), torch.from_numpy(which)


class DeepAR:
    """A DeepAR model: configure, ``fit`` on series, ``forecast`` sample paths, save with ``state``."""

    def __init__(self, config: DeepARConfig):
        self.config = config
        self.freq = config.frequency
        self.distribution: Likelihood = likelihood(config.likelihood)
        self.n_time = len(feature_names(self.freq))
        self.n_covariates = self.n_time + 1 + config.num_dynamic_feat  # calendar, age, dynamic features
        torch.manual_seed(config.seed)
        self.network = _Network(config, self.n_covariates, self.distribution.params)
        self.lags = torch.tensor(config.lags, dtype=torch.long)
        self.final_loss: float | None = None
        self.best_epoch: int | None = None

    # --- inputs ---------------------------------------------------------------------

    def covariates(self, s: Series, begin: int, end: int) -> np.ndarray:
        """Covariates of positions [begin, end) of ``s`` (may run past its target): (C, end - begin).

        Positions before the series start (begin < 0) get zeros, like the padding.
        """
        lo = max(begin, 0)
        rows = np.zeros((self.n_covariates, end - begin), dtype=np.float32)
        if end > lo:
            index = self.freq.index(s.start, end)[lo:end]
            rows[: self.n_time, lo - begin:] = time_features(self.freq, index)
            rows[self.n_time, lo - begin:] = np.log10(2.0 + np.arange(lo, end, dtype=np.float32))
            k = self.config.num_dynamic_feat
            if k:
                feat = np.asarray(s.dynamic_feat, dtype=np.float32)
                if feat.ndim != 2 or feat.shape[0] != k or feat.shape[1] < end:
                    raise ValueError(f"dynamic_feat must be {k} series covering {end} points "
                                     f"(the target and the forecast), got shape {feat.shape}")
                rows[self.n_time + 1:, lo - begin:] = feat[:, lo:end]
        return rows

    def cat_of(self, s: Series) -> list[int]:
        card = self.config.cardinality
        if not card:
            return [0]
        cat = [] if s.cat is None else [int(c) for c in np.asarray(s.cat).ravel()]
        if len(cat) != len(card):
            raise ValueError(f"cat must have {len(card)} values, got {len(cat)}")
        for i, (c, n) in enumerate(zip(cat, card)):
            if not 0 <= c < n:
                raise ValueError(f"cat[{i}] = {c} is outside 0..{n - 1} (cardinality {n})")
        return cat

    def _scale(self, context: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """ν per row: mean |z| over the observed context; the batch's mean where a row has none (GluonTS
        MeanScaler), and 1 where the whole batch has none (a lone series forecast from its features alone)."""
        if not self.distribution.scaled:
            return torch.ones(context.shape[0])
        total = (context.abs() * observed).sum(1)
        count = observed.sum(1)
        scale = total / count.clamp(min=1.0)
        default = total.sum() / count.sum() if total.sum() > 0 else torch.tensor(1.0)
        scale = torch.where(total > 0, scale, default)
        return scale.clamp(min=MIN_SCALE)

    def _gather_lags(self, scaled: torch.Tensor, first: int, steps: int) -> torch.Tensor:
        """Lagged values for ``steps`` steps, the first at column ``first`` of ``scaled``: (rows, steps, lags)."""
        # One flat index_select: several times faster than indexing with a 2-D index tensor.
        index = (first + torch.arange(steps)[:, None] - self.lags[None, :]).reshape(-1)
        return scaled.index_select(1, index).reshape(scaled.shape[0], steps, len(self.lags))

    # --- training -------------------------------------------------------------------

    def batches_per_epoch(self, windows: _Windows) -> int:
        """One epoch is one pass over the data: about one window per (context + prediction) observed points."""
        cfg = self.config
        per_epoch = math.ceil(windows.points / (cfg.context_length + cfg.prediction_length))
        return max(1, math.ceil(per_epoch / cfg.mini_batch_size))

    def fit(self, series: Sequence[Series], *, on_epoch: Callable[[EpochReport], None] | None = None,
            on_batch: Callable[[int, int, float], None] | None = None, max_batches_per_epoch: int | None = None) -> "DeepAR":
        """Train on ``series``; keeps the parameters of the epoch with the best training loss.

        ``on_batch(epoch, batch, running_loss)`` and ``on_epoch(report)`` are called as it goes.
        """
        cfg = self.config
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        windows = _Windows(self, series)
        batches = self.batches_per_epoch(windows)
        if max_batches_per_epoch:
            batches = min(batches, max_batches_per_epoch)
        optimizer = torch.optim.Adam(self.network.parameters(), lr=cfg.learning_rate)
        best, best_epoch, best_state, since_best, since_lr = math.inf, -1, None, 0, 0
        lr = cfg.learning_rate
        for epoch in range(cfg.epochs):
            began = time.perf_counter()
            self.network.train()
            total = 0.0
            for b in range(batches):
                starts, which = windows.sample(rng, cfg.mini_batch_size)
                loss = self._loss(windows, starts, which)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item()
                if on_batch:
                    on_batch(epoch, b, total / (b + 1))
            epoch_loss = total / batches
            improved = epoch_loss < best
            if improved:
                best, best_epoch, since_best, since_lr = epoch_loss, epoch, 0, 0
                best_state = copy.deepcopy(self.network.state_dict())
            else:
                since_best += 1
                since_lr += 1
                if since_lr >= LR_PATIENCE and lr > LR_FLOOR:
                    lr = max(lr / 2, LR_FLOOR)
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                    since_lr = 0
            if on_epoch:
                on_epoch(EpochReport(epoch, epoch_loss, best, best_epoch, improved, lr, batches,
                                     time.perf_counter() - began))
            if cfg.early_stopping_patience is not None and since_best >= cfg.early_stopping_patience:
                break
        if best_state is not None:
            self.network.load_state_dict(best_state)
        self.final_loss, self.best_epoch = best, best_epoch
        self.network.eval()
        return self

    def _loss(self, w: _Windows, starts: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        H, C, P = cfg.history, cfg.context_length, cfg.prediction_length
        span = starts[:, None] + torch.arange(-H - C, P)[None, :]  # flat positions of each window
        values, observed = w.values[span], w.observed[span]
        scale = self._scale(values[:, H: H + C], observed[:, H: H + C])
        scaled = values / scale[:, None] if self.distribution.scaled else values
        lags = self._gather_lags(scaled, H, C + P)
        covariates = w.covariates[span[:, H:]]
        static = self.network.static(w.cats[which], torch.log(scale))
        raw, _ = self.network(lags, covariates, static)
        target, mask = values[:, H:], observed[:, H:]
        nll = self.distribution.nll(raw, scale[:, None], self.distribution.support(target))
        return (nll * mask).sum() / mask.sum().clamp(min=1.0)

    # --- forecasting ----------------------------------------------------------------

    @torch.no_grad()
    def forecast(self, series: Sequence[Series], num_samples: int = 100, *, seed: int | None = None,
                 chunk_rows: int = 20_000) -> np.ndarray:
        """Sample paths for the ``prediction_length`` points after each series' last target point.

        Returns an array (len(series), num_samples, prediction_length). Missing values in the
        history are treated as unobserved; an empty target forecasts from the features alone.
        """
        cfg = self.config
        if seed is not None:
            torch.manual_seed(seed)
        self.network.eval()
        per_chunk = max(1, chunk_rows // max(1, num_samples))
        out = [self._forecast_chunk(series[i: i + per_chunk], num_samples)
               for i in range(0, len(series), per_chunk)]
        if not out:
            return np.zeros((0, num_samples, cfg.prediction_length), np.float32)
        return np.concatenate(out)

    def _forecast_chunk(self, series: Sequence[Series], S: int) -> np.ndarray:
        cfg = self.config
        H, C, P = cfg.history, cfg.context_length, cfg.prediction_length
        n = len(series)
        values = np.zeros((n, H + C), np.float32)
        observed = np.zeros((n, H + C), np.float32)
        covariates = np.zeros((n, C + P, self.n_covariates), np.float32)
        for i, s in enumerate(series):
            target = np.asarray(s.target, dtype=np.float32)[-(H + C):]
            obs = np.isfinite(target)
            if len(target):
                values[i, -len(target):] = np.where(obs, target, 0.0)
                observed[i, -len(target):] = obs
            t0 = len(s.target)
            covariates[i] = self.covariates(s, t0 - C, t0 + P).T
        values_t, observed_t = torch.from_numpy(values), torch.from_numpy(observed)
        scale = self._scale(values_t[:, H:], observed_t[:, H:])
        scaled = values_t / scale[:, None] if self.distribution.scaled else values_t
        cats = torch.tensor([self.cat_of(s) for s in series], dtype=torch.long).reshape(n, -1)
        static = self.network.static(cats, torch.log(scale))
        cov = torch.from_numpy(covariates)
        # The context, with the true values: the state every sample path starts from.
        _, (h, c) = self.network(self._gather_lags(scaled, H, C), cov[:, :C], static)
        rows = n * S
        h, c = h.repeat_interleave(S, dim=1), c.repeat_interleave(S, dim=1)
        static = static.repeat_interleave(S, dim=0)
        scale_rows = scale.repeat_interleave(S)[:, None]
        cov = cov.repeat_interleave(S, dim=0)
        # The last H scaled values, then room for the samples as they are drawn.
        path = torch.cat([scaled[:, C:].repeat_interleave(S, dim=0), torch.zeros(rows, P)], dim=1)
        drawn = torch.empty(rows, P)  # in the data's units, exactly as sampled
        for j in range(P):
            lags = self._gather_lags(path, H + j, 1)
            raw, (h, c) = self.network(lags, cov[:, C + j: C + j + 1], static, (h, c))
            z = self.distribution.sample(raw, scale_rows)[:, 0]
            drawn[:, j] = z
            path[:, H + j] = z / scale_rows[:, 0] if self.distribution.scaled else z
        return drawn.reshape(n, S, P).numpy()

    # --- persistence ----------------------------------------------------------------

    def state(self) -> dict:
        """Everything needed to rebuild the model (``torch.save`` it; ``from_state`` reads it back)."""
        return {"format": "charter-deepar/1", "config": asdict(self.config),
                "final_loss": self.final_loss, "best_epoch": self.best_epoch,
                "network": self.network.state_dict()}

    @classmethod
    def from_state(cls, state: dict) -> "DeepAR":
        if state.get("format") != "charter-deepar/1":
            raise ValueError("not a Charter DeepAR model (format charter-deepar/1)")
        model = cls(DeepARConfig(**state["config"]))
        model.network.load_state_dict(state["network"])
        model.network.eval()
        model.final_loss, model.best_epoch = state.get("final_loss"), state.get("best_epoch")
        return model
