"""Reading the dataset of a Clarify processing job and finding its columns.

SageMaker Clarify's dataset arrives as the processing input named ``dataset`` at
``/opt/ml/processing/input/data``: one file, or a prefix of several (every file below
the directory, in name order, read as one table -- hidden files and empty files such as
Spark's ``_SUCCESS`` are skipped).  ``dataset_type`` says how to read it:

``text/csv``
    Comma-separated values.  With ``headers`` in the configuration the files may or may
    not start with that same header row (a first row equal to ``headers`` is skipped);
    without ``headers`` the first row of each file is the header.  Column types are
    inferred: a column whose every value parses as a number is numeric.
``application/jsonlines``
    One JSON value per line.  With ``features`` (a dotted path such as
    ``"features"`` or ``"data.features.values"``) each line holds a list of feature
    values at that path and ``label`` is the dotted path of the label; ``headers`` name
    the features, followed by the label's name when ``label`` is given (Clarify's rule:
    "the last header shall be the header of label column").  Without ``features`` each
    line is a flat object of column name to value, and ``label`` is a column name.
``application/x-parquet``
    Apache Parquet; the file's column names, or ``headers`` (same number) in their place.

The columns named in the configuration (``label``, each ``facet[].name_or_index``,
``group_variable``, ``joinsource_name_or_index``, ``predicted_label``,
``excluded_columns``) are resolved by name or zero-based index; every problem names the
configuration field.  The model's features are all columns except the label, the
predicted label, the join source and the excluded columns -- facets and the group
variable stay features unless excluded, as in Clarify.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import ClientError
from .config import CSV, JSONLINES, PARQUET, AnalysisConfig, ValidationError

DATA_DIR = Path("opt/ml/processing/input/data")


class DataError(ClientError):
    """The dataset cannot be read as configured; the message says what was found."""

    def __init__(self, problem: str):
        super().__init__(f"dataset: {problem}")


@dataclass
class Dataset:
    """The dataset as one table, and the roles of its columns (all by column name)."""

    frame: pd.DataFrame
    features: list[str]
    label: str | None = None
    facets: list[str] = field(default_factory=list)  # one per config facet entry, in order
    group_variable: str | None = None
    joinsource: str | None = None
    predicted_label: str | None = None
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> np.ndarray:
        """A column as numpy: numbers as a numeric array, anything else as objects (missing = None)."""
        series = self.frame[name]
        if is_numeric(series):
            return series.to_numpy()
        values = series.to_numpy(dtype=object, na_value=None)
        return values

    def feature_frame(self) -> pd.DataFrame:
        return self.frame[self.features]


def is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


# --------------------------------------------------------------------------- files


def dataset_files(root: Path) -> list[Path]:
    """The dataset's files under ``root/opt/ml/processing/input/data``, in name order."""
    base = Path(root) / DATA_DIR
    if base.is_file():
        return [base]
    if not base.is_dir():
        raise DataError(
            f"nothing at {DATA_DIR.as_posix()}: give the dataset as the processing input named 'dataset' "
            "(destination /opt/ml/processing/input/data)"
        )
    files = []
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base)
        if any(part.startswith((".", "_")) for part in relative.parts):
            continue
        if path.is_file() and path.stat().st_size > 0:
            files.append(path)
    if not files:
        raise DataError(f"no data files under {DATA_DIR.as_posix()} (empty and hidden files are skipped)")
    return files


# --------------------------------------------------------------------------- formats


def _numeric_where_possible(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns read as text whose every value is a number become numeric columns."""
    out = {}
    for name in frame.columns:
        series = frame[name]
        if not is_numeric(series) and not pd.api.types.is_bool_dtype(series.dtype):
            present = series.dropna()
            if len(present) and all(isinstance(v, str) for v in present):
                converted = pd.to_numeric(present, errors="coerce")
                if not converted.isna().any():
                    series = pd.to_numeric(series, errors="coerce")
            elif len(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
                series = pd.to_numeric(series, errors="coerce")
        out[name] = series
    return pd.DataFrame(out, index=frame.index)


def _first_csv_row(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.reader(handle):
            if row:
                return row
    return []


def _read_csv(files: list[Path], headers: tuple[str, ...] | None) -> pd.DataFrame:
    parts = []
    names: list[str] | None = list(headers) if headers else None
    for path in files:
        first = [cell.strip() for cell in _first_csv_row(path)]
        if names is None:  # no headers configured: the first row names the columns
            names = first
            if len(set(names)) != len(names) or not all(names):
                raise DataError(
                    f"{path.name}: the first row {first!r} is not a header (empty or repeated names); "
                    "give the column names in headers"
                )
            skip = 1
        else:
            skip = 1 if first == names else 0
        try:
            part = pd.read_csv(
                path, header=None, skiprows=skip, names=None, dtype=object, encoding="utf-8-sig",
                skipinitialspace=True, keep_default_na=True,
            )
        except pd.errors.EmptyDataError:
            continue
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise DataError(f"{path.name} is not valid CSV: {error}") from None
        if part.shape[1] != len(names):
            field_name = "headers" if headers else None
            problem = (
                f"has {len(names)} names but {path.name} has {part.shape[1]} columns"
                if headers
                else f"{path.name} has {part.shape[1]} columns but its header row names {len(names)}"
            )
            if field_name:
                raise ValidationError(field_name, problem)
            raise DataError(problem)
        part.columns = names
        parts.append(part)
    if not parts:
        raise DataError("the CSV files hold no data rows")
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _numeric_where_possible(frame)


def _path_get(record: Any, path: str, line: str) -> Any:
    value = record
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise DataError(f"{line}: has nothing at path {path!r}")
    return value


def _read_jsonlines(files: list[Path], config: AnalysisConfig) -> pd.DataFrame:
    rows: list[dict] = []
    columns: dict[str, None] = {}
    feature_names: list[str] | None = None
    label_name: str | None = None
    if config.features is not None:
        headers = list(config.headers or [])
        if config.label is not None:
            if headers:
                label_name = headers.pop()  # the last header names the label
            else:
                label_name = str(config.label)
        feature_names = headers or None
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                where = f"{path.name} line {number}"
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as error:
                    raise DataError(f"{where} is not JSON: {error}") from None
                if config.features is None:
                    if not isinstance(record, dict):
                        raise DataError(
                            f"{where} is not a JSON object; give the path of the feature list in features"
                        )
                    for key in record:
                        columns.setdefault(str(key), None)
                    rows.append({str(k): v for k, v in record.items()})
                    continue
                values = _path_get(record, config.features, where)
                if not isinstance(values, list):
                    values = [values]
                if feature_names is None:
                    feature_names = [f"feature_{i}" for i in range(len(values))]
                if len(values) != len(feature_names):
                    raise ValidationError(
                        "headers",
                        f"names {len(feature_names)} features but {where} has {len(values)} at {config.features!r}",
                    )
                row = dict(zip(feature_names, values))
                if label_name is not None:
                    row[label_name] = _path_get(record, str(config.label), where)
                rows.append(row)
    if not rows:
        raise DataError("the JSON Lines files hold no records")
    if config.features is None:
        names = list(columns)
    else:
        names = list(feature_names or []) + ([label_name] if label_name is not None else [])
    frame = pd.DataFrame.from_records(rows, columns=names)
    if config.features is None and config.headers:
        frame = _rename(frame, config.headers)
    return _numeric_where_possible(frame.astype(object).where(frame.notna(), None))


def _rename(frame: pd.DataFrame, headers: tuple[str, ...]) -> pd.DataFrame:
    if len(headers) != frame.shape[1]:
        raise ValidationError("headers", f"has {len(headers)} names but the dataset has {frame.shape[1]} columns")
    frame = frame.copy()
    frame.columns = list(headers)
    return frame


def _read_parquet(files: list[Path], headers: tuple[str, ...] | None) -> pd.DataFrame:
    parts = []
    for path in files:
        try:
            parts.append(pd.read_parquet(path))
        except Exception as error:  # pyarrow raises several types for a bad file
            raise DataError(f"{path.name} is not a Parquet file: {error}") from None
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame.columns = [str(c) for c in frame.columns]
    if headers:
        frame = _rename(frame, headers)
    return frame


def read_table(files: list[Path], config: AnalysisConfig) -> pd.DataFrame:
    """The dataset's files as one DataFrame, per ``dataset_type``."""
    if config.dataset_type == CSV:
        frame = _read_csv(files, config.headers)
    elif config.dataset_type == JSONLINES:
        frame = _read_jsonlines(files, config)
    elif config.dataset_type == PARQUET:
        frame = _read_parquet(files, config.headers)
    else:  # config.parse refuses every other type
        raise ValidationError("dataset_type", f"{config.dataset_type!r} cannot be read")
    if frame.empty:
        raise DataError("the dataset has no rows")
    return frame


# --------------------------------------------------------------------------- columns


def resolve_column(name_or_index: str | int, columns: list[str], field_name: str) -> str:
    """The column a configuration field names, by name or zero-based index."""
    if isinstance(name_or_index, str):
        if name_or_index in columns:
            return name_or_index
        shown = ", ".join(columns[:40]) + (" ..." if len(columns) > 40 else "")
        raise ValidationError(field_name, f"names column {name_or_index!r}, which the dataset does not have; its columns are: {shown}")
    if 0 <= name_or_index < len(columns):
        return columns[name_or_index]
    raise ValidationError(field_name, f"is column index {name_or_index}, but the dataset has {len(columns)} columns (0..{len(columns) - 1})")


def load(root: Path, config: AnalysisConfig) -> Dataset:
    """Read the dataset of the container at ``root`` and resolve the configured columns."""
    files = dataset_files(root)
    frame = read_table(files, config)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns

    label = None
    if config.label is not None:
        label_field = "label"
        if config.dataset_type == JSONLINES and config.features is not None:
            label = columns[-1]  # read from its path into the last column
        else:
            label = resolve_column(config.label, columns, label_field)
    facets = [
        resolve_column(f.name_or_index, columns, f"facet[{i}].name_or_index") for i, f in enumerate(config.facets)
    ]
    group_variable = (
        resolve_column(config.group_variable, columns, "group_variable") if config.group_variable is not None else None
    )
    joinsource = (
        resolve_column(config.joinsource, columns, "joinsource_name_or_index") if config.joinsource is not None else None
    )
    predicted = (
        resolve_column(config.predicted_label, columns, "predicted_label") if config.predicted_label is not None else None
    )
    excluded = {resolve_column(c, columns, f"excluded_columns[{i}]") for i, c in enumerate(config.excluded_columns)}
    for role, name in (("label", label), ("predicted_label", predicted), ("joinsource_name_or_index", joinsource)):
        if name is not None and name in facets:
            raise ValidationError("facet", f"names column {name!r}, which is also the {role}")
    not_features = excluded | {c for c in (label, predicted, joinsource) if c is not None}
    features = [c for c in columns if c not in not_features]
    if not features:
        raise ValidationError("excluded_columns", "leaves no feature columns for the model")
    return Dataset(
        frame=frame,
        features=features,
        label=label,
        facets=facets,
        group_variable=group_variable,
        joinsource=joinsource,
        predicted_label=predicted,
        files=files,
    )


def read_baseline_file(path: Path, dataset_type: str, features: list[str]) -> list[list]:
    """SHAP baseline rows from a file in the dataset's format, features only (no header needed)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ValidationError("methods.shap.baseline", f"cannot be read: {error}") from None
    rows: list[list] = []
    if dataset_type == PARQUET:
        frame = pd.read_parquet(path)
        return frame.astype(object).where(frame.notna(), None).values.tolist()
    if dataset_type == JSONLINES:
        for line in text.splitlines():
            if line.strip():
                value = json.loads(line)
                if isinstance(value, dict):
                    value = [value.get(name) for name in features]
                rows.append(value if isinstance(value, list) else [value])
        return rows
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        if not row:
            continue
        if [c.strip() for c in row] == features:
            continue  # a header row
        rows.append([_csv_value(cell) for cell in row])
    return rows


def _csv_value(cell: str) -> Any:
    cell = cell.strip()
    try:
        return float(cell) if any(ch in cell for ch in ".eE") or cell.lower() in ("nan", "inf", "-inf") else int(cell)
    except ValueError:
        return cell
