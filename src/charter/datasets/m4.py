"""The M4 competition's hourly subset (``shared/data/m4-hourly``).

414 series (``H1``..``H414``), train lengths 700 or 960, horizon 48, seasonal period 24;
the test file holds the 48 values that follow each training series. The organisers'
benchmark forecasts (Naive, Naive2, sNaive, SES) come as ``id,F1..F48`` files, and their
published scores as ``published-scores-hourly.csv``. Start timestamps come from the
derived ``Hourly-start-dates.csv`` (the README says why M4-info.csv stands in there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from charter.datasets import data_file

__all__ = ["BENCHMARKS", "HORIZON", "SEASON", "M4Hourly", "hourly", "published_scores"]

HORIZON = 48
SEASON = 24
BENCHMARKS = ("Naive", "Naive2", "sNaive", "SES")
FOLDER = "m4-hourly"


@dataclass(frozen=True)
class M4Hourly:
    """The hourly series in file order: ``train[i]`` is followed by ``test[i]``."""

    ids: list[str]
    train: list[np.ndarray]
    test: np.ndarray  # (series, HORIZON)
    starts: list[pd.Timestamp]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices) -> M4Hourly:
        indices = list(indices)
        return M4Hourly(
            [self.ids[i] for i in indices],
            [self.train[i] for i in indices],
            self.test[indices],
            [self.starts[i] for i in indices],
        )

    def benchmark_forecast(self, method: str) -> np.ndarray:
        """The organisers' ``method`` forecasts for these series, (series, HORIZON)."""
        if method not in BENCHMARKS:
            raise ValueError(f"no official {method!r} forecasts here; there are {', '.join(BENCHMARKS)}")
        frame = pd.read_csv(data_file(FOLDER, "benchmark-forecasts", f"submission-{method}-hourly.csv"), index_col=0)
        return frame.loc[self.ids].to_numpy(dtype=np.float64)


def _series_file(name: str) -> pd.DataFrame:
    return pd.read_csv(data_file(FOLDER, name), index_col=0)


def hourly() -> M4Hourly:
    """All 414 hourly series with their test values and start timestamps."""
    train = _series_file("Hourly-train.csv")
    test = _series_file("Hourly-test.csv")
    starts = pd.read_csv(data_file(FOLDER, "Hourly-start-dates.csv"), index_col=0)["StartingDate"]
    ids = [str(i) for i in train.index]
    if list(test.index) != ids:
        raise ValueError("Hourly-test.csv does not list the series in Hourly-train.csv's order")
    rows = train.to_numpy(dtype=np.float64)
    series = [row[~np.isnan(row)] for row in rows]
    return M4Hourly(
        ids=ids,
        train=series,
        test=test.to_numpy(dtype=np.float64),
        starts=[pd.Timestamp(starts[i]) for i in ids],
    )


def published_scores() -> pd.DataFrame:
    """The organisers' hourly and total sMAPE, MASE and OWA for every method, by ``method_id``."""
    return pd.read_csv(data_file(FOLDER, "published-scores-hourly.csv"), index_col="method_id")
