"""The XGBoost algorithm's data: the ``train`` and ``validation`` channels, in CSV, libsvm or Parquet.

A channel is ``opt/ml/input/data/<channel>`` (specs/containers.md, section 1): a file, or
a directory whose files are all read, in subfolders too, in name order (names starting
with ``.`` or ``_``, such as ``_SUCCESS``, are skipped, as the container skips them).  The
format is the channel's ``ContentType`` in ``inputdataconfig.json``; as in SageMaker's
container, ``text/libsvm`` when the ``train`` channel gives none, and the ``validation``
channel is read like ``train`` unless it names a type of its own:

- ``text/csv`` (or ``csv``): numbers, no header row, the label in the first column and,
  with hyperparameter ``csv_weights=1``, the instance weight in the second; the
  delimiter is sniffed from the first line; an empty field is a missing value.
  ``label_size``, if given as a parameter of the type, must be 1.
- ``text/libsvm`` (``libsvm``, ``text/x-libsvm``): ``<label>[:<weight>] [qid:<q>] <index>:<value> ...``
  with zero-based feature indices; ``#`` starts a comment.
- ``application/x-parquet`` (``parquet``): numeric columns, the label first.
- ``application/x-recordio-protobuf`` is refused: Charter does not read RecordIO.

Only ``File`` and ``FastFile`` input modes are read (the container's current release
refuses Pipe mode for every format too).  Every problem is a
:class:`~charter.builtins.ClientError` naming the file (and line) at fault.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import ClientError

__all__ = ["CSV", "LIBSVM", "PARQUET", "ChannelData", "content_format", "read_channel", "read_data_config"]

CSV, LIBSVM, PARQUET, RECORDIO = "csv", "libsvm", "parquet", "recordio-protobuf"
_FORMATS = {
    "csv": CSV, "text/csv": CSV,
    "libsvm": LIBSVM, "text/libsvm": LIBSVM, "text/x-libsvm": LIBSVM,
    "parquet": PARQUET, "application/x-parquet": PARQUET,
    "recordio-protobuf": RECORDIO, "application/x-recordio-protobuf": RECORDIO,
}  # fmt: skip
DEFAULT_CONTENT_TYPE = "text/libsvm"
CHANNELS = ("train", "validation", "code")  # "code" carries script-mode code; algorithm mode ignores it
_MODES = ("File", "FastFile")


@dataclass
class ChannelData:
    """One channel's rows: features (dense float32, or CSR for libsvm), labels and the optional extras."""

    name: str
    features: Any  # np.ndarray (n, d) or scipy.sparse.csr_matrix
    labels: np.ndarray
    weights: np.ndarray | None
    qid: np.ndarray | None  # libsvm query ids (ranking)
    files: list[Path]

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def columns(self) -> int:
        return int(self.features.shape[1])


def content_format(content_type: str | None, channel: str) -> str:
    """The format a ``ContentType`` names (``csv``, ``libsvm``, ``parquet``); ClientError for others."""
    if content_type is None:
        content_type = DEFAULT_CONTENT_TYPE
    base, _, parameters = content_type.lower().partition(";")
    base = base.strip()
    fmt = _FORMATS.get(base)
    accepted = "text/csv, text/libsvm (the default), application/x-parquet"
    if fmt is None:
        raise ClientError(f"channel {channel!r}: ContentType {content_type!r} is not one the XGBoost algorithm "
                          f"reads; use {accepted}")
    if fmt == RECORDIO:
        raise ClientError(f"channel {channel!r}: ContentType {content_type!r} (RecordIO-protobuf) is not supported "
                          f"by Charter's XGBoost algorithm; convert the data to {accepted}")
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if fmt == CSV and key.strip() == "label_size" and value.strip() != "1":
            raise ClientError(f"channel {channel!r}: ContentType {content_type!r}: label_size must be 1 (the label "
                              "is the first column)")
    return fmt


def read_data_config(config_dir: Path, data_dir: Path) -> dict[str, dict]:
    """``inputdataconfig.json`` (or the channel folders present when there is none), checked."""
    path = config_dir / "inputdataconfig.json"
    if path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ClientError(f"inputdataconfig.json is not valid JSON: {error}") from None
    else:
        present = sorted(p.name for p in data_dir.iterdir() if not p.name.startswith(".")) if data_dir.is_dir() else []
        document = {name: {} for name in present}
    if not isinstance(document, dict):
        raise ClientError("inputdataconfig.json must hold a JSON object of channel name -> configuration")
    for name, entry in document.items():
        if name not in CHANNELS:
            raise ClientError(f"channel {name!r} is not one the XGBoost algorithm reads: give a 'train' channel "
                              "and optionally a 'validation' channel")
        if not isinstance(entry, dict):
            raise ClientError(f"inputdataconfig.json: channel {name!r} must be a JSON object")
        mode = entry.get("TrainingInputMode", "File")
        if mode not in _MODES and name != "code":
            raise ClientError(f"channel {name!r}: input mode {mode!r} is not supported; the XGBoost algorithm reads "
                              "File or FastFile mode")
    if "train" not in document:
        raise ClientError("there is no 'train' channel: the XGBoost algorithm needs training data in a channel "
                          "named 'train'")
    return document


def data_files(path: Path) -> list[Path]:
    """The files of a channel, in subfolders too, in name order, without hidden and marker files."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    found = []
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found.extend(Path(folder) / n for n in sorted(names) if not n.startswith((".", "_")))
    return sorted(found, key=lambda p: p.relative_to(path).parts)


def read_channel(data_dir: Path, name: str, fmt: str, *, csv_weights: bool = False) -> ChannelData | None:
    """Channel ``name``'s rows in format ``fmt``; None if the channel has no (non-empty) files."""
    files = [f for f in data_files(data_dir / name) if f.stat().st_size > 0]
    if not files:
        return None
    where = {f: f"{name}/{f.relative_to(data_dir / name)}" if f != data_dir / name else name for f in files}
    if fmt == CSV:
        return _read_csv(name, files, where, csv_weights)
    if fmt == LIBSVM:
        return _read_libsvm(name, files, where)
    return _read_parquet(name, files, where)


# -- CSV --------------------------------------------------------------------------------------


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line
    return ""


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t| ").delimiter
    except csv.Error:
        return ","  # one column, or nothing to tell: the usual comma


def _first_non_number(path: Path, delimiter: str) -> tuple[int, int, str] | None:
    """(line, column, value) of the first field that is not a number, read slowly: only after a failure."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            for column, value in enumerate(line.rstrip("\r\n").split(delimiter), 1):
                if value.strip() == "":
                    continue
                try:
                    float(value)
                except ValueError:
                    return number, column, value
    return None


def _read_csv(name: str, files: list[Path], where: dict[Path, str], csv_weights: bool) -> ChannelData:
    import pandas as pd

    delimiter = _delimiter(_first_line(files[0]))
    tables, width = [], None
    for path in files:
        try:
            frame = pd.read_csv(path, header=None, sep=delimiter, dtype=np.float32, engine="c",
                                skip_blank_lines=True, na_values=[""], keep_default_na=False)
        except pd.errors.EmptyDataError:
            continue
        except (ValueError, pd.errors.ParserError) as error:
            bad = _first_non_number(path, delimiter)
            if bad is None:
                raise ClientError(f"{where[path]}: not a CSV file the XGBoost algorithm can read "
                                  f"(delimiter {delimiter!r}): {error}") from None
            line, column, value = bad
            hint = " Is the first line a header? The file must not have one." if line == 1 else ""
            raise ClientError(f"{where[path]} line {line}, column {column}: {value.strip()[:40]!r} is not a number; "
                              f"the XGBoost algorithm reads numeric CSV with the label first and no header.{hint} "
                              "Encode categorical values as numbers first") from None
        if width is not None and frame.shape[1] != width:
            raise ClientError(f"{where[path]} has {frame.shape[1]} columns, but {where[files[0]]} has {width}; every "
                              f"file of channel {name!r} needs the same columns")
        width = frame.shape[1]
        tables.append((path, frame.to_numpy(dtype=np.float32, copy=False)))
    if not tables:
        raise ClientError(f"channel {name!r} has no rows")
    needed = 3 if csv_weights else 2
    if width < needed:
        what = "a label, a weight (csv_weights=1) and at least one feature" if csv_weights else \
            "a label and at least one feature"
        raise ClientError(f"{where[tables[0][0]]} has {width} column(s); each row needs {what}")
    for path, table in tables:
        missing = np.flatnonzero(np.isnan(table[:, 0]))
        if missing.size:
            raise ClientError(f"{where[path]}: row {missing[0] + 1} has no label (the first column is empty)")
        if csv_weights:
            bad = np.flatnonzero(~(table[:, 1] >= 0))
            if bad.size:
                raise ClientError(f"{where[path]}: row {bad[0] + 1}: the weight (second column, csv_weights=1) must be "
                                  f"a number ≥ 0")
    data = np.concatenate([t for _, t in tables]) if len(tables) > 1 else tables[0][1]
    first = 2 if csv_weights else 1
    return ChannelData(name, np.ascontiguousarray(data[:, first:]), data[:, 0].copy(),
                       data[:, 1].copy() if csv_weights else None, None, [p for p, _ in tables])


# -- libsvm -----------------------------------------------------------------------------------


def _read_libsvm(name: str, files: list[Path], where: dict[Path, str]) -> ChannelData:
    from scipy import sparse

    labels: list[float] = []
    weights: list[float] = []
    qids: list[int] = []
    indptr, indices, values = [0], [], []
    weighted = has_qid = False
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                tokens = text.split()
                here = f"{where[path]} line {number}"
                label, _, weight = tokens[0].partition(":")
                try:
                    labels.append(float(label))
                    weights.append(float(weight) if weight else 1.0)
                except ValueError:
                    raise ClientError(f"{here}: {tokens[0]!r} is not a label (<label> or <label>:<weight>); the "
                                      "libsvm format is '<label> <index>:<value> ...'") from None
                weighted = weighted or bool(weight)
                qid = None
                for token in tokens[1:]:
                    key, colon, value = token.partition(":")
                    if key == "qid":
                        qid = value
                        continue
                    try:
                        index = int(key)
                        if not colon or index < 0:
                            raise ValueError
                        values.append(float(value))
                    except ValueError:
                        raise ClientError(f"{here}: {token!r} is not a feature <index>:<value> (indices are "
                                          "integers from 0)") from None
                    indices.append(index)
                if qid is not None:
                    try:
                        qids.append(int(qid))
                    except ValueError:
                        raise ClientError(f"{here}: qid:{qid} is not an integer query id") from None
                    has_qid = True
                elif has_qid or qids:
                    raise ClientError(f"{here}: no qid, though earlier rows have one; give every row a qid or none")
                indptr.append(len(indices))
    if not labels:
        raise ClientError(f"channel {name!r} has no rows")
    if has_qid and len(qids) != len(labels):
        raise ClientError(f"channel {name!r}: some rows have a qid and some do not; give every row a qid or none")
    width = (max(indices) + 1) if indices else 1
    matrix = sparse.csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int64),
                                np.asarray(indptr, dtype=np.int64)), shape=(len(labels), width))
    qid_array = np.asarray(qids, dtype=np.int64) if has_qid else None
    if qid_array is not None and np.any(np.diff(qid_array) < 0):
        raise ClientError(f"channel {name!r}: rows must be grouped by qid in ascending order (XGBoost's ranking "
                          "input); sort the rows by qid")
    return ChannelData(name, matrix, np.asarray(labels, dtype=np.float32),
                       np.asarray(weights, dtype=np.float32) if weighted else None, qid_array, files)


# -- Parquet ----------------------------------------------------------------------------------


def _read_parquet(name: str, files: list[Path], where: dict[Path, str]) -> ChannelData:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables, width = [], None
    for path in files:
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as error:
            raise ClientError(f"{where[path]}: not a Parquet file the XGBoost algorithm can read: {error}") from None
        for column, field in zip(table.column_names, table.schema):
            if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
                    or pa.types.is_boolean(field.type) or pa.types.is_decimal(field.type)):
                raise ClientError(f"{where[path]}: column {column!r} is {field.type}, not numeric; the XGBoost "
                                  "algorithm reads numeric columns, the label first")
        if width is not None and table.num_columns != width:
            raise ClientError(f"{where[path]} has {table.num_columns} columns, but {where[files[0]]} has {width}; "
                              f"every file of channel {name!r} needs the same columns")
        width = table.num_columns
        if table.num_rows:
            array = np.column_stack([table.column(i).to_numpy(zero_copy_only=False).astype(np.float32)
                                     for i in range(table.num_columns)])
            tables.append((path, array))
    if not tables:
        raise ClientError(f"channel {name!r} has no rows")
    if width < 2:
        raise ClientError(f"{where[tables[0][0]]} has {width} column(s); each row needs a label and at least one "
                          "feature")
    for path, array in tables:
        missing = np.flatnonzero(np.isnan(array[:, 0]))
        if missing.size:
            raise ClientError(f"{where[path]}: row {missing[0] + 1} has no label (the first column is null)")
    data = np.concatenate([a for _, a in tables]) if len(tables) > 1 else tables[0][1]
    return ChannelData(name, np.ascontiguousarray(data[:, 1:]), data[:, 0].copy(), None, None,
                       [p for p, _ in tables])
