"""Per-feature data statistics in the layout of SageMaker Model Monitor's ``statistics.json``.

What is computed follows "Schema for Statistics (statistics.json file)" in the SageMaker
Developer Guide (model-monitor-interpreting-statistics / model-monitor-byoc-statistics):

* ``dataset.item_count`` and, per feature, ``inferred_type`` (Integral, Fractional, String or
  Unknown), ``num_present`` / ``num_missing``;
* numeric features: ``mean``, ``sum``, ``std_dev``, ``min``, ``max`` and a KLL quantile sketch
  (``distribution.kll.sketch`` with its ``parameters`` ``c`` and ``k`` and one list of items
  per compactor level) materialised in 10 equal-width ``buckets`` between min and max, as the
  guide says the prebuilt container does;
* string features: ``distinct_count`` and ``distribution.categorical.buckets`` of value counts.

Model Monitor's analyzer is built on Deequ, so types are inferred Deequ's way: every
non-missing value is classified by its text as integral, fractional, boolean or string, and
the column is String if any value is a string (or booleans mix with numbers), Fractional if
any value is fractional, Integral otherwise, and Unknown when no value is present.  Booleans
have no Model Monitor type and are reported as String.

Everything streams: :class:`Profiler` takes record batches one at a time (Arrow
``RecordBatch``/``Table`` or pandas ``DataFrame``), keeps O(k) state per feature, and two
profilers merge (:meth:`Profiler.merge`) into the profile of the concatenated data: counts,
sums, min/max and Welford/Chan moments exactly, the KLL sketch within its rank error, and the
categorical counts exactly while a column stays under ``max_categories`` distinct values
(beyond that, counts are kept for the first ``max_categories`` values seen and the distinct
count comes from a HyperLogLog estimate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "KLLSketch",
    "Profiler",
    "profile_files",
    "iter_batches",
    "DEFAULT_K",
    "DEFAULT_C",
    "NUM_BUCKETS",
]

#: Deequ's (and Model Monitor's) KLL parameters: sketch size k and shrinking factor c.
DEFAULT_K = 2048
DEFAULT_C = 0.64
#: Buckets the distribution is materialised in ("by default ... 10 buckets").
NUM_BUCKETS = 10

# Text classification of values, in the spirit of Deequ's DataType analyzer.
_INTEGRAL_RE = r"^[-+]?\d+$"
_FRACTIONAL_RE = r"^[-+]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][-+]?\d+|\.\d+[eE][-+]?\d+)$"
_BOOLEAN_RE = r"^(?i)(true|false)$"


# --------------------------------------------------------------------------------------
# KLL sketch
# --------------------------------------------------------------------------------------


class KLLSketch:
    """A mergeable KLL quantile sketch (Karnin, Lang & Liberty 2016) over float64 values.

    Level ``h`` holds items of weight ``2**h``; its capacity is ``max(2, ceil(k * c**(H-1-h)))``
    with ``H`` levels, so the top level has capacity ``k`` and the total size stays below
    ``k / (1 - c)``.  A full level is sorted and every other item (random offset) is promoted
    to the next level.  Batches are absorbed whole (one sort per level), which keeps updates
    vectorised.  Randomness is seeded so results are reproducible.

    The normalised rank error of a query is, with high probability, a small multiple of
    ``1/k`` (about 0.2% at k=2048); the tests allow 1%.
    """

    def __init__(self, k: int = DEFAULT_K, c: float = DEFAULT_C, seed: int = 0) -> None:
        self.k = int(k)
        self.c = float(c)
        self.n = 0
        self.levels: list[np.ndarray] = [np.empty(0, dtype=np.float64)]
        self._rng = np.random.default_rng(seed)

    # -- construction ------------------------------------------------------------------
    def _capacity(self, h: int) -> int:
        depth = len(self.levels) - 1 - h
        return max(2, int(math.ceil(self.k * self.c**depth)))

    def update(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        if values.size == 0:
            return
        self.n += int(values.size)
        self.levels[0] = np.concatenate([self.levels[0], values])
        self._compress()

    def _compress(self) -> None:
        h = 0
        while h < len(self.levels):
            level = self.levels[h]
            if level.size > self._capacity(h):
                if h + 1 == len(self.levels):
                    self.levels.append(np.empty(0, dtype=np.float64))
                level = np.sort(level, kind="stable")
                keep = level[:0]
                if level.size % 2:
                    # An odd item stays behind; which end is drawn at random.
                    if self._rng.integers(2):
                        keep, level = level[-1:], level[:-1]
                    else:
                        keep, level = level[:1], level[1:]
                promoted = level[int(self._rng.integers(2)) :: 2]
                self.levels[h] = keep.copy()
                self.levels[h + 1] = np.concatenate([self.levels[h + 1], promoted])
            h += 1

    def merge(self, other: "KLLSketch") -> "KLLSketch":
        """Absorb ``other`` (in place); the result sketches the union of both inputs."""
        while len(self.levels) < len(other.levels):
            self.levels.append(np.empty(0, dtype=np.float64))
        for h, level in enumerate(other.levels):
            if level.size:
                self.levels[h] = np.concatenate([self.levels[h], level])
        self.n += other.n
        self._compress()
        return self

    # -- queries -----------------------------------------------------------------------
    def _weighted(self) -> tuple[np.ndarray, np.ndarray]:
        items = np.concatenate(self.levels) if self.levels else np.empty(0)
        weights = np.concatenate(
            [np.full(level.size, float(2**h)) for h, level in enumerate(self.levels)]
        ) if self.levels else np.empty(0)
        order = np.argsort(items, kind="stable")
        return items[order], weights[order]

    def cdf(self, points: np.ndarray, inclusive: bool = True) -> np.ndarray:
        """Estimated fraction of values ``<= points`` (``< points`` if not inclusive)."""
        items, weights = self._weighted()
        total = weights.sum()
        if total == 0:
            return np.zeros(np.shape(points))
        cum = np.concatenate([[0.0], np.cumsum(weights)])
        side = "right" if inclusive else "left"
        return cum[np.searchsorted(items, points, side=side)] / total

    def quantile(self, q: float | np.ndarray) -> np.ndarray:
        items, weights = self._weighted()
        cum = np.cumsum(weights) / weights.sum()
        idx = np.searchsorted(cum, np.asarray(q, dtype=float), side="left")
        return items[np.clip(idx, 0, items.size - 1)]

    # -- Model Monitor layout ----------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "parameters": {"c": self.c, "k": float(self.k)},
            "data": [[float(v) for v in level] for level in self.levels],
        }

    @classmethod
    def from_json(cls, sketch: dict[str, Any], n: int | None = None) -> "KLLSketch":
        params = sketch.get("parameters") or {}
        out = cls(int(params.get("k", DEFAULT_K)), float(params.get("c", DEFAULT_C)))
        out.levels = [np.asarray(level, dtype=np.float64) for level in sketch.get("data") or [[]]]
        if not out.levels:
            out.levels = [np.empty(0, dtype=np.float64)]
        out.n = int(sum(level.size * 2**h for h, level in enumerate(out.levels))) if n is None else n
        return out


# --------------------------------------------------------------------------------------
# HyperLogLog (distinct counts of high-cardinality columns)
# --------------------------------------------------------------------------------------


class _HyperLogLog:
    P = 14
    M = 1 << P

    def __init__(self) -> None:
        self.registers = np.zeros(self.M, dtype=np.uint8)

    def add_hashes(self, hashes: np.ndarray) -> None:
        if hashes.size == 0:
            return
        hashes = hashes.astype(np.uint64, copy=False)
        idx = (hashes >> np.uint64(64 - self.P)).astype(np.int64)
        rest = (hashes << np.uint64(self.P)) | np.uint64(1 << (self.P - 1))
        lead = 63 - np.floor(np.log2(rest.astype(np.float64))).astype(np.int64)
        rho = (lead + 1).astype(np.uint8)
        np.maximum.at(self.registers, idx, rho)

    def merge(self, other: "_HyperLogLog") -> None:
        np.maximum(self.registers, other.registers, out=self.registers)

    def estimate(self) -> float:
        m = float(self.M)
        alpha = 0.7213 / (1 + 1.079 / m)
        est = alpha * m * m / np.sum(np.exp2(-self.registers.astype(np.float64)))
        zeros = int(np.count_nonzero(self.registers == 0))
        if est <= 2.5 * m and zeros:
            est = m * math.log(m / zeros)
        return float(est)


def _hash_values(values: pa.Array) -> np.ndarray:
    arr = values.to_numpy(zero_copy_only=False)
    return pd.util.hash_array(np.asarray(arr, dtype=object) if arr.dtype == object else arr)


# --------------------------------------------------------------------------------------
# Per-feature accumulator
# --------------------------------------------------------------------------------------


class _CategoryCounter:
    """Exact value counts for up to ``cap`` distinct values of one Arrow type, then a
    HyperLogLog for the distinct count (counts continue for the values already tracked)."""

    def __init__(self, cap: int, arrow_type: pa.DataType) -> None:
        self.cap = cap
        self.type = arrow_type
        self.keys: list[Any] = []
        self.key_index: dict[Any, int] = {}
        self.counts = np.zeros(0, dtype=np.int64)
        self.hll: _HyperLogLog | None = None
        self._value_set: pa.Array | None = None

    def _start_overflow(self) -> None:
        self.hll = _HyperLogLog()
        if self.keys:
            self.hll.add_hashes(_hash_values(pa.array(self.keys, type=self.type)))

    def _admit(self, values: list[Any], counts: np.ndarray) -> None:
        room = self.cap - len(self.keys)
        if len(values) > room:
            if self.hll is None:
                self._start_overflow()
            order = np.argsort(-counts, kind="stable")[: max(room, 0)]
            values = [values[i] for i in order]
            counts = counts[order]
        for v in values:
            self.key_index[v] = len(self.keys)
            self.keys.append(v)
        self.counts = np.concatenate([self.counts, np.asarray(counts, dtype=np.int64)])
        self._value_set = None

    def update(self, values: pa.Array) -> None:
        if len(values) == 0:
            return
        if self.keys:
            if self._value_set is None:
                self._value_set = pa.array(self.keys, type=self.type)
            idx = pc.index_in(values, value_set=self._value_set)
            idx_np = idx.drop_null().to_numpy(zero_copy_only=False)
            if idx_np.size:
                self.counts += np.bincount(idx_np, minlength=len(self.keys))
            unknown = pc.filter(values, pc.invert(idx.is_valid()))
        else:
            unknown = values
        if len(unknown) == 0:
            return
        if self.hll is not None:
            # Over the cap: only the distinct-count estimate learns about new values.
            self.hll.add_hashes(_hash_values(unknown))
            return
        vc = pc.value_counts(unknown)
        fresh = vc.field("values").to_pylist()
        counts = vc.field("counts").to_numpy()
        overflowing = len(fresh) > self.cap - len(self.keys)
        self._admit(fresh, counts)
        if overflowing:
            self.hll.add_hashes(_hash_values(unknown))

    def merge(self, other: "_CategoryCounter") -> None:
        if other.hll is not None and self.hll is None:
            self._start_overflow()
        if self.hll is not None:
            if other.hll is not None:
                self.hll.merge(other.hll)
            elif other.keys:
                self.hll.add_hashes(_hash_values(pa.array(other.keys, type=self.type)))
        fresh: list[Any] = []
        fresh_counts: list[int] = []
        for key, count in zip(other.keys, other.counts.tolist()):
            i = self.key_index.get(key)
            if i is None:
                fresh.append(key)
                fresh_counts.append(count)
            else:
                self.counts[i] += count
        if fresh:
            overflowing = len(fresh) > self.cap - len(self.keys)
            if overflowing and self.hll is None:
                self._start_overflow()
                self.hll.add_hashes(_hash_values(pa.array(fresh, type=self.type)))
            self._admit(fresh, np.asarray(fresh_counts, dtype=np.int64))

    def distinct(self) -> float:
        if self.hll is None:
            return float(len(self.keys))
        return float(max(round(self.hll.estimate()), len(self.keys)))


def _render_number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**63 else repr(float(v))


class _FeatureProfile:
    """Streaming state of one feature: type counts, moments, sketch, category counts."""

    def __init__(self, name: str, k: int, c: float, max_categories: int, seed: int) -> None:
        self.name = name
        self.max_categories = max_categories
        self.present = 0
        # Values classified by type (Deequ's DataType histogram).
        self.n_integral = 0
        self.n_fractional = 0
        self.n_boolean = 0
        self.n_string = 0
        # Moments of the numeric values (Welford/Chan).
        self.n_num = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.sketch = KLLSketch(k, c, seed)
        # Category counts of text values and (kept as numbers, cheaper) of typed numbers.
        self.text = _CategoryCounter(max_categories, pa.string())
        self.numbers = _CategoryCounter(max_categories, pa.float64())

    # -- updates -----------------------------------------------------------------------
    def _add_numbers(self, x: np.ndarray) -> None:
        if x.size == 0:
            return
        n_b = int(x.size)
        mean_b = float(x.mean())
        m2_b = float(np.sum((x - mean_b) ** 2))
        n_a = self.n_num
        n = n_a + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * n_a * n_b / n
        self.n_num = n
        self.sum += float(x.sum())
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        self.sketch.update(x)

    def _add_categories(self, text: pa.Array) -> None:
        self.text.update(text)

    def update(self, column: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        typ = column.type
        if pa.types.is_floating(typ):
            valid = pc.and_(column.is_valid(), pc.invert(pc.is_nan(column)))
            values = pc.filter(column, valid)
            x = values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            self.present += int(x.size)
            self.n_fractional += int(x.size)
            self._add_numbers(x)
            self.numbers.update(pa.array(x))
            return
        if pa.types.is_integer(typ):
            values = column.drop_null()
            x = values.to_numpy(zero_copy_only=False).astype(np.float64)
            self.present += int(x.size)
            self.n_integral += int(x.size)
            self._add_numbers(x)
            self.numbers.update(pa.array(x))
            return
        if pa.types.is_boolean(typ):
            values = column.drop_null()
            self.present += len(values)
            self.n_boolean += len(values)
            self._add_categories(pc.cast(values, pa.string()))
            return
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            column = pc.cast(column, pa.string())
        text = pc.utf8_trim_whitespace(column.drop_null())
        if pa.types.is_large_string(text.type):
            text = pc.cast(text, pa.string())
        text = pc.filter(text, pc.not_equal(text, ""))
        n = len(text)
        if n == 0:
            return
        self.present += n
        is_int = pc.match_substring_regex(text, _INTEGRAL_RE)
        is_frac = pc.and_(pc.invert(is_int), pc.match_substring_regex(text, _FRACTIONAL_RE))
        is_bool = pc.match_substring_regex(text, _BOOLEAN_RE)
        n_int = pc.sum(is_int).as_py() or 0
        n_frac = pc.sum(is_frac).as_py() or 0
        n_bool = pc.sum(is_bool).as_py() or 0
        self.n_integral += n_int
        self.n_fractional += n_frac
        self.n_boolean += n_bool
        self.n_string += n - n_int - n_frac - n_bool
        if n_int + n_frac:
            numeric = pc.filter(text, pc.or_(is_int, is_frac))
            x = pc.cast(numeric, pa.float64()).to_numpy(zero_copy_only=False)
            self._add_numbers(x)
        self._add_categories(text)

    def merge(self, other: "_FeatureProfile") -> None:
        self.present += other.present
        self.n_integral += other.n_integral
        self.n_fractional += other.n_fractional
        self.n_boolean += other.n_boolean
        self.n_string += other.n_string
        if other.n_num:
            n_a, n_b = self.n_num, other.n_num
            n = n_a + n_b
            delta = other.mean - self.mean
            self.mean += delta * n_b / n
            self.m2 += other.m2 + delta * delta * n_a * n_b / n
            self.n_num = n
            self.sum += other.sum
            self.min = min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.sketch.merge(other.sketch)
        self.text.merge(other.text)
        self.numbers.merge(other.numbers)

    # -- output ------------------------------------------------------------------------
    def inferred_type(self) -> str:
        """Deequ's rule: any string -> String; booleans with numbers -> String; any
        fractional -> Fractional; else Integral; nothing present -> Unknown."""
        if self.present == 0:
            return "Unknown"
        if self.n_string > 0:
            return "String"
        if self.n_boolean > 0:
            return "String"  # Boolean alone or mixed with numbers: no Model Monitor type
        if self.n_fractional > 0:
            return "Fractional"
        return "Integral"

    def categories(self) -> tuple[list[str], np.ndarray, float]:
        """Merged text and number counts: (values, counts, distinct count)."""
        merged: dict[str, int] = {}
        for key, count in zip(self.text.keys, self.text.counts.tolist()):
            merged[key] = merged.get(key, 0) + count
        for key, count in zip(self.numbers.keys, self.numbers.counts.tolist()):
            label = _render_number(key)
            merged[label] = merged.get(label, 0) + count
        if self.text.hll is None and self.numbers.hll is None:
            distinct = float(len(merged))
        else:
            distinct = self.text.distinct() + self.numbers.distinct()
        return list(merged), np.array(list(merged.values()), dtype=np.int64), float(distinct)

    def to_json(self, item_count: int) -> dict[str, Any]:
        inferred = self.inferred_type()
        common = {"num_present": self.present, "num_missing": max(item_count - self.present, 0)}
        out: dict[str, Any] = {"name": self.name, "inferred_type": inferred}
        if inferred in ("Integral", "Fractional"):
            std = math.sqrt(self.m2 / self.n_num) if self.n_num else 0.0
            out["numerical_statistics"] = {
                "common": common,
                "mean": self.mean,
                "sum": self.sum,
                "std_dev": std,
                "min": self.min,
                "max": self.max,
                "distribution": {
                    "kll": {"buckets": self._buckets(), "sketch": self.sketch.to_json()}
                },
            }
        elif inferred == "String":
            keys, counts, distinct = self.categories()
            order = np.argsort(-counts, kind="stable")[: self.max_categories]
            out["string_statistics"] = {
                "common": common,
                "distinct_count": distinct,
                "distribution": {
                    "categorical": {
                        "buckets": [
                            {"value": keys[i], "count": int(counts[i])} for i in order
                        ]
                    }
                },
            }
        else:
            out["string_statistics"] = {
                "common": common,
                "distinct_count": 0.0,
                "distribution": {"categorical": {"buckets": []}},
            }
        # Custom statistic (the schema leaves room for them): the per-type value counts
        # behind inferred_type, which the data type check measures conformance with.
        out["inferred_type_counts"] = {
            "Integral": self.n_integral,
            "Fractional": self.n_fractional,
            "Boolean": self.n_boolean,
            "String": self.n_string,
        }
        return out

    def _buckets(self) -> list[dict[str, float]]:
        lo, hi = self.min, self.max
        total = float(self.n_num)
        if self.n_num == 0:
            return []
        if hi <= lo:
            return [{"lower_bound": lo, "upper_bound": hi, "count": total}]
        edges = lo + (hi - lo) * np.arange(NUM_BUCKETS + 1) / NUM_BUCKETS
        edges[-1] = hi
        below = self.sketch.cdf(edges, inclusive=False) * total  # values < edge
        below[0] = 0.0
        below[-1] = total
        counts = np.diff(below)
        return [
            {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(round(counts[i]))}
            for i in range(NUM_BUCKETS)
        ]


# --------------------------------------------------------------------------------------
# Profiler
# --------------------------------------------------------------------------------------


def _to_columns(batch: Any) -> list[tuple[str, pa.Array]]:
    if isinstance(batch, pd.DataFrame):
        cols = []
        for name in batch.columns:
            series = batch[name]
            if series.dtype == object:
                mask = series.isna().to_numpy()
                text = series.astype(str).to_numpy(dtype=object)
                arr = pa.array(text, type=pa.string(), mask=mask)
            else:
                arr = pa.array(series.to_numpy(), from_pandas=True)
            cols.append((str(name), arr))
        return cols
    if isinstance(batch, (pa.RecordBatch, pa.Table)):
        return [(name, batch.column(i)) for i, name in enumerate(batch.schema.names)]
    raise TypeError(f"cannot profile a {type(batch).__name__}; pass an Arrow batch/table or a DataFrame")


class Profiler:
    """Streaming, mergeable profile of a tabular dataset.

    ``schema`` (optional): a ``pyarrow.Schema`` or a sequence of feature names that fixes the
    order features are reported in (and reports listed features that never appear as
    entirely missing).  Columns not listed are profiled too, after the listed ones, in the
    order first seen.  Rows of a batch that lacks a known column count as missing for it.
    """

    def __init__(
        self,
        schema: pa.Schema | Sequence[str] | None = None,
        *,
        k: int = DEFAULT_K,
        c: float = DEFAULT_C,
        max_categories: int = 1000,
        seed: int = 0,
    ) -> None:
        self.k, self.c, self.max_categories, self.seed = k, c, max_categories, seed
        self.item_count = 0
        self.features: dict[str, _FeatureProfile] = {}
        if schema is not None:
            names = schema.names if isinstance(schema, pa.Schema) else list(schema)
            for name in names:
                self._feature(str(name))

    def _feature(self, name: str) -> _FeatureProfile:
        feat = self.features.get(name)
        if feat is None:
            feat = _FeatureProfile(name, self.k, self.c, self.max_categories, self.seed + len(self.features))
            self.features[name] = feat
        return feat

    def update(self, batch: Any) -> "Profiler":
        """Add one batch (``pyarrow.RecordBatch``/``Table`` or ``pandas.DataFrame``)."""
        self.item_count += int(batch.num_rows if not isinstance(batch, pd.DataFrame) else len(batch))
        for name, column in _to_columns(batch):
            self._feature(name).update(column)
        return self

    def update_all(self, batches: Iterable[Any]) -> "Profiler":
        for batch in batches:
            self.update(batch)
        return self

    def merge(self, other: "Profiler") -> "Profiler":
        """Absorb ``other`` (in place): afterwards this profiles both inputs' rows."""
        self.item_count += other.item_count
        for name, feat in other.features.items():
            self._feature(name).merge(feat)
        return self

    def to_statistics_json(self, dataset_item_count: int | None = None) -> dict[str, Any]:
        """The ``statistics.json`` document (version 0)."""
        count = self.item_count if dataset_item_count is None else int(dataset_item_count)
        return {
            "version": 0.0,
            "dataset": {"item_count": count},
            "features": [feat.to_json(count) for feat in self.features.values()],
        }


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def iter_batches(
    paths: Sequence[str] | str,
    format: str,
    headers: Sequence[str] | bool | None = None,
    batch_size: int = 65536,
) -> Iterator[Any]:
    """Yield record batches of ``paths`` without reading any file whole.

    ``format``: ``csv``, ``jsonlines``/``json`` (one JSON object a line) or ``parquet``.
    CSV is read as text (Model Monitor infers types from the text; a column may hold numbers
    in one block and strings in the next).  ``headers``: ``None``/``True`` when the first CSV
    row names the columns; a list of names (or ``False`` for ``_c0``, ``_c1``, ...) when it
    does not.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if isinstance(paths, str):
        paths = [paths]
    fmt = format.lower()
    for path in paths:
        if fmt == "parquet":
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)
        elif fmt == "csv":
            if headers is None or headers is True:
                read_opts = pacsv.ReadOptions(block_size=1 << 22)
            else:
                read_opts = pacsv.ReadOptions(
                    block_size=1 << 22,
                    column_names=None if headers is False else list(headers),
                    autogenerate_column_names=headers is False,
                )
            # All columns as text; empty fields, and only those, are missing (Spark's CSV
            # reader, which the prebuilt analyzer uses, has nullValue "" by default).  Arrow's
            # default null markers would also turn text such as "NA" or "N/A" into missing
            # values: COMPAS's violent-recidivism file has score_text "N/A", a category.
            probe = pacsv.open_csv(path, read_options=read_opts)
            col_names = probe.schema.names
            probe.close()
            convert = pacsv.ConvertOptions(
                column_types={n: pa.string() for n in col_names},
                null_values=[""],
                strings_can_be_null=True,
            )
            reader = pacsv.open_csv(path, read_options=read_opts, convert_options=convert)
            for batch in reader:
                if headers is False:
                    batch = batch.rename_columns([f"_c{i}" for i in range(batch.num_columns)])
                yield batch
        elif fmt in ("json", "jsonlines", "jsonl"):
            for chunk in pd.read_json(path, lines=True, chunksize=batch_size, dtype=False):
                yield chunk
        else:
            raise ValueError(f"unsupported dataset format {format!r}; expected csv, json or parquet")


def profile_files(
    paths: Sequence[str] | str,
    format: str,
    headers: Sequence[str] | bool | None = None,
    *,
    schema: pa.Schema | Sequence[str] | None = None,
    batch_size: int = 65536,
    **profiler_kwargs: Any,
) -> Profiler:
    """Profile files batch by batch; returns the :class:`Profiler` (call
    :meth:`Profiler.to_statistics_json` for the document)."""
    profiler = Profiler(schema, **profiler_kwargs)
    for batch in iter_batches(paths, format, headers, batch_size):
        profiler.update(batch)
    return profiler
