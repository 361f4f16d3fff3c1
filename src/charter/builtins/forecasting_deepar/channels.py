"""DeepAR's data: the ``train`` and ``test`` channels and the series records in them (specs/deepar.md, section 1).

A channel is ``opt/ml/input/data/<channel>``: a file or a directory tree whose files are
all read, except names starting with ``.`` and ``_SUCCESS`` markers.  Each file's format
comes from its extension (``.json``/``.jsonl`` JSON Lines, the same gzip-compressed with
``.gz``, ``.parquet``), else from the channel's ``ContentType`` in
``inputdataconfig.json``, else JSON Lines.  A record is one series::

    {"start": "2009-11-01 00:00:00", "target": [4.3, "NaN", 5.1, null], "cat": [0, 1],
     "dynamic_feat": [[1.1, 1.2, 0.5, 0.7]]}

:func:`parse_record` checks one record (also used for inference requests) and
:func:`read_channel` a whole channel, with every problem reported as a
:class:`~charter.builtins.ClientError` naming the file and line at fault.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from charter.analytics.forecasting.frequency import Frequency

from .. import ClientError

if TYPE_CHECKING:  # the kernel imports torch; reading data should not
    from charter.analytics.forecasting.deepar import Series

__all__ = ["Dataset", "JSONLINES", "PARQUET", "format_of", "parse_record", "read_channel", "read_file", "records"]

JSONLINES, PARQUET = "jsonlines", "parquet"
# Channel content types DeepAR reads (the Parquet one is not documented by AWS; these are the usual spellings).
_CONTENT_TYPES = {
    "application/jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/json": JSONLINES,
    "application/x-parquet": PARQUET,
    "application/parquet": PARQUET,
}
_EXTENSIONS = ((".json.gz", JSONLINES), (".jsonl.gz", JSONLINES), (".json", JSONLINES), (".jsonl", JSONLINES),
               (".parquet", PARQUET))
_START = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_START_HINT = "use 'YYYY-MM-DD HH:MM:SS' or 'YYYY-MM-DD', with no time zone"


@dataclass
class Dataset:
    """The series of one channel, where each came from, and the shape of their features."""

    name: str  # "train channel"
    series: list["Series"] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # "train/part-0.json line 3", per series
    cat_count: int | None = None  # values in every series' cat (0: none); None until a series is read
    feat_count: int | None = None  # dynamic_feat series per series (0: none)

    def __len__(self) -> int:
        return len(self.series)

    def cat_max(self) -> list[int]:
        """The largest ``cat`` value per feature."""
        if not self.cat_count:
            return []
        return np.max(np.stack([s.cat for s in self.series]), axis=0).astype(int).tolist()

    def add(self, series: "Series", where: str) -> None:
        """Append a series, checking that its cat/dynamic_feat counts are those of the others."""
        cats = 0 if series.cat is None else len(series.cat)
        feats = 0 if series.dynamic_feat is None else series.dynamic_feat.shape[0]
        if self.series:
            if cats != self.cat_count:
                raise ClientError(
                    f"{where}: 'cat' has {cats} value(s), but {self.where[0]} has {self.cat_count}; "
                    "every series needs the same number of categorical features"
                )
            if feats != self.feat_count:
                raise ClientError(
                    f"{where}: 'dynamic_feat' has {feats} series, but {self.where[0]} has {self.feat_count}; "
                    "every series needs the same number of dynamic features"
                )
        else:
            self.cat_count, self.feat_count = cats, feats
        self.series.append(series)
        self.where.append(where)


def parse_start(value: Any, where: str) -> pd.Timestamp:
    """A record's ``start`` as a timestamp (no time zone)."""
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        stamp = pd.Timestamp(value)
    elif isinstance(value, dt.date):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str) and _START.match(value.strip()):
        try:
            stamp = pd.Timestamp(value.strip())
        except (ValueError, OverflowError):
            raise ClientError(f"{where}: 'start' {value!r} is not a valid date; {_START_HINT}") from None
    else:
        raise ClientError(f"{where}: 'start' {json.dumps(value, default=str)} is not a timestamp; {_START_HINT}")
    if stamp.tzinfo is not None:
        raise ClientError(f"{where}: 'start' {str(value)!r} has a time zone; {_START_HINT}")
    return stamp


def _numbers(values: Any, what: str, where: str, *, missing: bool) -> np.ndarray:
    """A JSON list of numbers as floats; with ``missing``, "NaN" and null are allowed (as NaN)."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise ClientError(f"{where}: {what!r} must be a list of numbers (got {json.dumps(values, default=str)[:60]})")
    try:
        array = np.asarray(values, dtype=np.float64)
        good = array.ndim == 1
    except (TypeError, ValueError):
        good = False
    if good and isinstance(values, (list, tuple)):
        good = not any(isinstance(v, bool) for v in values)  # numpy would read true as 1.0
    if good:
        bad = ~np.isfinite(array) if not missing else np.isinf(array)
        if not bad.any():
            return array
    for i, v in enumerate(values):  # find the first bad element, to name it
        if missing and (v is None or (isinstance(v, str) and v.strip().lower() == "nan")):
            continue
        if isinstance(v, float) and math.isnan(v) and missing:
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            continue
        hint = ' (use "NaN" or null for a missing value)' if missing else " (missing values are not allowed here)"
        raise ClientError(f"{where}: {what}[{i}] = {json.dumps(v, default=str)[:40]} is not a number{hint}")
    raise ClientError(f"{where}: {what!r} must be a flat list of numbers")  # pragma: no cover - caught above


def parse_record(obj: Any, where: str, freq: Frequency, *, use_cat: bool = True, use_feat: bool = True,
                 feat_horizon: int = 0) -> "Series":
    """One JSON record -> :class:`Series` (start on the frequency's grid, NaN for missing values).

    ``use_cat``/``use_feat`` drop those fields unread (cardinality/num_dynamic_feat ``ignore``);
    each dynamic feature must have at least ``len(target) + feat_horizon`` values.
    """
    if not isinstance(obj, dict):
        raise ClientError(f"{where}: a series must be a JSON object with 'start' and 'target' (got {type(obj).__name__})")
    for key in ("start", "target"):
        if key not in obj:
            raise ClientError(f"{where}: the series has no {key!r} field")
    start = freq.normalize(parse_start(obj["start"], where))
    target = _numbers(obj["target"], "target", where, missing=True)

    cat = None
    if use_cat and obj.get("cat") is not None:
        raw = obj["cat"]
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = [raw]
        if not isinstance(raw, (list, tuple, np.ndarray)):
            raise ClientError(f"{where}: 'cat' must be a list of non-negative integers (got {json.dumps(raw, default=str)[:60]})")
        for i, c in enumerate(raw):
            integral = isinstance(c, (int, np.integer)) and not isinstance(c, bool)
            if not integral or c < 0:
                raise ClientError(f"{where}: cat[{i}] = {json.dumps(c, default=str)} is not a non-negative integer")
        cat = np.asarray(raw, dtype=np.int64)

    feat = None
    if use_feat and obj.get("dynamic_feat") is not None:
        raw = obj["dynamic_feat"]
        if not isinstance(raw, (list, tuple, np.ndarray)) or any(not isinstance(r, (list, tuple, np.ndarray)) for r in raw):
            raise ClientError(f"{where}: 'dynamic_feat' must be a list of lists of numbers, one list per feature")
        needed = len(target) + feat_horizon
        rows = []
        for k, row in enumerate(raw):
            values = _numbers(row, f"dynamic_feat[{k}]", where, missing=False)
            if len(values) < needed:
                what = (f"the {len(target)} target points and the {feat_horizon} forecast points" if feat_horizon
                        else f"the {len(target)} target points")
                raise ClientError(f"{where}: dynamic_feat[{k}] has {len(values)} values, too few to cover {what} "
                                  f"(needs {needed})")
            rows.append(values[:needed])
        feat = np.stack(rows) if rows else None
    from charter.analytics.forecasting.deepar import Series

    return Series(start=start, target=target, cat=cat, dynamic_feat=feat)


def format_of(path: Path, content_type: str | None, channel: str) -> str:
    """JSON Lines or Parquet, from the file's extension, else the channel's ContentType."""
    name = path.name.lower()
    for suffix, kind in _EXTENSIONS:
        if name.endswith(suffix):
            return kind
    if content_type:
        kind = _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
        if kind is None:
            raise ClientError(
                f"{channel} channel: ContentType {content_type!r} is not one DeepAR reads; use application/jsonlines "
                "or application/x-parquet (or name the files .json, .json.gz or .parquet)"
            )
        return kind
    return JSONLINES


def records(path: Path, kind: str, label: str) -> Iterator[tuple[Any, str]]:
    """(record, "label line N") for each record in one file."""
    if kind == PARQUET:
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as error:  # pyarrow's errors are many; all mean "not a readable Parquet file"
            raise ClientError(f"{label}: is not a readable Parquet file: {error}") from None
        for n, row in enumerate(rows, 1):
            yield row, f"{label} row {n}"
        return
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ClientError(f"{label} line {n}: is not valid JSON ({error.msg} at column {error.colno})") from None
                yield record, f"{label} line {n}"
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise ClientError(f"{label}: cannot be read as {'gzip-compressed ' if opener is gzip.open else ''}"
                          f"UTF-8 JSON Lines: {error}") from None


def _data_files(path: Path) -> list[Path]:
    """The files of a channel: the path itself, or every file under it but hidden ones and _SUCCESS."""
    if path.is_file():
        return [path]
    files = []
    for folder, dirs, names in os.walk(path, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name == "_SUCCESS":
                continue
            files.append(Path(folder) / name)
    return files


def read_file(path: Path, dataset: Dataset, freq: Frequency, *, label: str, kind: str, use_cat: bool = True,
              use_feat: bool = True, feat_horizon: int = 0) -> None:
    """Add every series in one file to ``dataset``."""
    for record, where in records(path, kind, label):
        dataset.add(parse_record(record, where, freq, use_cat=use_cat, use_feat=use_feat, feat_horizon=feat_horizon),
                    where)


def read_channel(data_dir: Path, channel: str, freq: Frequency, *, content_type: str | None = None,
                 use_cat: bool = True, use_feat: bool = True) -> Dataset:
    """Every series in channel ``channel`` (the directory ``data_dir/channel``, or a file of that name)."""
    path = Path(data_dir) / channel
    if not path.exists():
        raise ClientError(f"there is no {channel} channel (expected data under {path})")
    files = _data_files(path)
    dataset = Dataset(f"{channel} channel")
    for file in files:
        label = f"{channel}/{file.relative_to(path).as_posix()}" if file != path else channel
        read_file(file, dataset, freq, label=label, kind=format_of(file, content_type, channel),
                  use_cat=use_cat, use_feat=use_feat)
    if not dataset.series:
        raise ClientError(f"the {channel} channel holds no series (files read: {len(files)}; "
                          "hidden files and _SUCCESS markers are skipped)")
    return dataset
