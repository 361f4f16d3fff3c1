"""Predictions for a Clarify job from a model the built-in loads itself.

SageMaker Clarify gets predictions from a shadow endpoint it deploys from
``predictor.model_name`` (or from an existing ``predictor.endpoint_name``).  Until
Charter serves endpoints, the built-in loads the model file and calls it in process.
Which file:

1. ``predictor.model_path`` in ``analysis_config.json``.  A path under ``/opt/ml/``
   is a path inside the container and is read from the container root (so
   ``/opt/ml/processing/input/model/model.joblib`` works under any executor); another
   absolute path is used as it is; a relative path is relative to
   ``/opt/ml/processing/input/``.
2. Otherwise the processing input named ``model`` at
   ``/opt/ml/processing/input/model``: a file, or a directory holding exactly one
   model file.
3. Otherwise the artifact of the SageMaker model ``predictor.model_name``, fetched
   as the platform would (``DescribeModel``, then its ``ModelDataUrl`` from S3, with
   the job's credentials; ``model_source.py``).  This is what the SageMaker SDK's
   ``SageMakerClarifyProcessor`` asks for with ``ModelConfig(model_name=...)``.

The file is a scikit-learn compatible estimator (anything with ``predict``) saved with
``joblib.dump`` or ``pickle`` (``*.joblib``, ``*.pkl``, ``*.pickle``, or a file named
``model``), or a ``model.tar.gz`` holding one such file, as SageMaker's scikit-learn
container expects.  Loading a pickle runs code from the file: the model must be trusted,
exactly as when SageMaker serves it.

What is explained and how predicted labels are made (Clarify's ``probability``,
``label_headers`` and ``probability_threshold``, applied to the model's methods):

* a classifier (``predict_proba`` and ``classes_``) with two classes: the output is the
  probability of the positive class -- the one class ``label_values_or_threshold``
  names, else ``classes_[1]``; the predicted label is that class when its probability
  exceeds ``probability_threshold`` (default 0.5), else the other class;
* a classifier with more classes: the outputs are every class probability; the
  predicted label is the most probable class;
* ``predictor.probability`` picks one output instead: a column index of
  ``predict_proba``, or a class label;
* any other model (a regressor): the outputs are ``predict``'s numbers, and they are
  also the predicted labels.

The outputs are named by ``predictor.label_headers``, else ``label0``, ``label1``, ...
as Clarify names them.  Models trained on a DataFrame (``feature_names_in_``, e.g. a
``Pipeline`` with a ``ColumnTransformer``) receive a DataFrame with their columns, taken
from the dataset's features by name; other models receive the feature matrix in
dataset order.

The analytics kernels work on numeric matrices, so :class:`FeatureCodec` gives each
text column integer codes (its categories in sorted order) and :class:`LocalModel`
turns codes back into the original values before calling the model.
"""

from __future__ import annotations

import pickle
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import ClientError
from .config import AnalysisConfig, Predictor, ValidationError
from .data import is_numeric
from .model_source import ModelSource, ModelSourceError

MODEL_DIR = Path("opt/ml/processing/input/model")
INPUT_DIR = Path("opt/ml/processing/input")
_MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")


class ModelError(ClientError):
    """The model cannot be loaded or does not fit the dataset; the message says why."""

    def __init__(self, problem: str):
        super().__init__(f"model: {problem}")


# --------------------------------------------------------------------------- encoding


class FeatureCodec:
    """Text (categorical) feature columns as integer codes, and back.

    Numeric columns pass through as float64.  A text column's categories are its
    distinct non-missing values, sorted; a row's code is the category's position, and a
    missing value stays NaN.
    """

    def __init__(self, frame: pd.DataFrame):
        self.names = [str(c) for c in frame.columns]
        self.categories: dict[int, np.ndarray] = {}
        self.integral: set[int] = set()
        for j, name in enumerate(self.names):
            series = frame[name]
            if is_numeric(series):
                if pd.api.types.is_integer_dtype(series.dtype):
                    self.integral.add(j)
                continue
            values = series.to_numpy(dtype=object, na_value=None)
            present = {v for v in values if v is not None and v == v}
            self.categories[j] = np.array(sorted(present, key=lambda v: (str(type(v)), v)), dtype=object)

    @property
    def categorical(self) -> list[str]:
        return [self.names[j] for j in sorted(self.categories)]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.names)), dtype=np.float64)
        for j, name in enumerate(self.names):
            series = frame[name]
            if j not in self.categories:
                out[:, j] = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                continue
            out[:, j] = self._codes(j, series.to_numpy(dtype=object, na_value=None), name)
        return out

    def encode_rows(self, rows: list[list], field_name: str) -> np.ndarray:
        """Baseline rows given as values (text for text columns) as codes."""
        out = np.empty((len(rows), len(self.names)), dtype=np.float64)
        for i, row in enumerate(rows):
            if len(row) != len(self.names):
                raise ValidationError(
                    f"{field_name}[{i}]", f"has {len(row)} values; the model has {len(self.names)} features ({', '.join(self.names)})"
                )
        for j, name in enumerate(self.names):
            column = np.array([row[j] for row in rows], dtype=object)
            if j in self.categories:
                out[:, j] = self._codes(j, column, name, field_name)
            else:
                try:
                    out[:, j] = [np.nan if v is None else float(v) for v in column]
                except (TypeError, ValueError):
                    raise ValidationError(field_name, f"has a non-numeric value for numeric feature {name!r}") from None
        return out

    def _codes(self, j: int, values: np.ndarray, name: str, field_name: str | None = None) -> np.ndarray:
        categories = self.categories[j]
        lookup = {v: float(i) for i, v in enumerate(categories.tolist())}
        codes = np.empty(len(values), dtype=np.float64)
        for i, value in enumerate(values.tolist()):
            if value is None or value != value:
                codes[i] = np.nan
            elif value in lookup:
                codes[i] = lookup[value]
            elif str(value) in lookup:
                codes[i] = lookup[str(value)]
            else:
                where = field_name or "data"
                raise ValidationError(where, f"has value {value!r} for feature {name!r}, which is not one of its categories")
        return codes

    def decode_column(self, j: int, codes: np.ndarray) -> np.ndarray:
        """Codes of column ``j`` as the original values (object array; NaN -> None)."""
        categories = self.categories[j]
        out = np.empty(len(codes), dtype=object)
        missing = np.isnan(codes)
        out[missing] = None
        out[~missing] = categories[codes[~missing].astype(np.int64)]
        return out

    def decode_value(self, j: int, value: Any) -> Any:
        if j in self.categories:
            return self.categories[j][int(value)]
        if j in self.integral and float(value).is_integer():
            return int(value)
        return value.item() if isinstance(value, np.generic) else value

    def decode(self, X: np.ndarray) -> pd.DataFrame:
        columns = {}
        for j, name in enumerate(self.names):
            if j in self.categories:  # kept as objects: pandas would turn None into NaN strings
                columns[name] = pd.Series(self.decode_column(j, X[:, j]), dtype=object)
            else:
                columns[name] = pd.Series(X[:, j])
        return pd.DataFrame(columns)


# --------------------------------------------------------------------------- model files


def _candidates(directory: Path) -> list[Path]:
    files = [p for p in sorted(directory.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    models = [p for p in files if p.suffix in _MODEL_SUFFIXES or p.name == "model" or p.name.endswith(".tar.gz")]
    return models


def _from_directory(directory: Path, what: str) -> Path:
    found = _candidates(directory)
    if len(found) == 1:
        return found[0]
    if not found:
        raise ModelError(f"no model file in {what} (expected one *.joblib, *.pkl, *.pickle, 'model' or model.tar.gz)")
    names = ", ".join(p.name for p in found)
    raise ModelError(f"{what} holds several model files ({names}); name one in predictor.model_path")


def _unpickle(path: Path) -> Any:
    try:
        import joblib

        return joblib.load(path)
    except ModuleNotFoundError as error:
        if error.name == "joblib":
            with path.open("rb") as handle:
                return pickle.load(handle)
        raise ModelError(f"{path.name} needs Python module {error.name!r}, which is not installed") from None
    except Exception as error:
        raise ModelError(f"{path.name} is not a joblib or pickle model file: {type(error).__name__}: {error}") from None


def _load_file(path: Path) -> Any:
    if path.name.endswith(".tar.gz") or path.name.endswith(".tgz"):
        with tempfile.TemporaryDirectory(prefix="charter-model-") as scratch:
            try:
                with tarfile.open(path, "r:gz") as archive:
                    archive.extractall(scratch, filter="data")
            except (tarfile.TarError, OSError) as error:
                raise ModelError(f"{path.name} is not a readable .tar.gz: {error}") from None
            return _unpickle(_from_directory(Path(scratch), path.name))
    return _unpickle(path)


def model_location(root: Path, predictor: Predictor | None) -> Path | None:
    """The model file (or directory) this job uses; None when there is none."""
    root = Path(root)
    if predictor is not None and predictor.model_path is not None:
        given = predictor.model_path
        if given.startswith("/opt/ml/"):
            path = root / given.lstrip("/")
        elif Path(given).is_absolute():
            path = Path(given)
        else:
            path = root / INPUT_DIR / given
        if not path.exists():
            raise ValidationError("predictor.model_path", f"names {given!r}, and there is no file at {path}")
        return path
    staged = root / MODEL_DIR
    if staged.exists() and (staged.is_file() or any(staged.iterdir())):
        return staged
    return None


def load_model(path: Path) -> Any:
    """A model object from a model file, a model.tar.gz or a directory holding one."""
    path = Path(path)
    if path.is_dir():
        path = _from_directory(path, str(path))
    model = _load_file(path)
    if not callable(getattr(model, "predict", None)):
        raise ModelError(f"{path.name} holds a {type(model).__name__}, which has no predict method")
    return model


# --------------------------------------------------------------------------- predictions


@dataclass
class Predictions:
    """The model's outputs on the dataset: what is explained, and the predicted labels."""

    scores: np.ndarray  # (n, K)
    predicted_label: np.ndarray  # (n,)
    label_headers: list[str]


class LocalModel:
    """A loaded model, called the way the configuration describes (see the module docstring)."""

    def __init__(self, model: Any, codec: FeatureCodec, config: AnalysisConfig, source: Path,
                 origin: str | None = None):
        self.model = model
        self.codec = codec
        self.source = source
        self.origin = origin  # where the file came from, when it is not a file of the job (a SageMaker model)
        self.threshold = config.probability_threshold
        predictor = config.predictor or Predictor()
        self.classes = np.asarray(getattr(model, "classes_", [])) if hasattr(model, "predict_proba") else None
        self.is_classifier = self.classes is not None and len(self.classes) >= 2
        self.positive = self._positive_class(config.label_values_or_threshold)
        self.column = self._output_column(predictor.probability)
        self.input_columns = self._input_columns()
        self.headers_given = list(predictor.label_headers) if predictor.label_headers else None
        self.calls = 0
        self.rows = 0

    @property
    def description(self) -> str:
        kind = "classifier" if self.is_classifier else "model"
        return f"{type(self.model).__name__} {kind} from {self.origin or self.source.name}"

    def _positive_class(self, label_values: list | None) -> int:
        """For a binary classifier, the column of the positive label: the one class that
        ``label_values_or_threshold`` names, else ``classes_[1]``."""
        if not self.is_classifier or len(self.classes) != 2 or not label_values:
            return 1
        classes = self.classes.tolist()
        named = [i for i, c in enumerate(classes) if any(c == v or str(c) == str(v) for v in label_values)]
        return named[0] if len(named) == 1 else 1

    def _output_column(self, probability: str | int | None) -> int | None:
        if probability is None:
            if self.is_classifier and len(self.classes) == 2:
                return self.positive
            return None
        if not self.is_classifier:
            if probability == 0:
                return None
            raise ValidationError(
                "predictor.probability", f"is {probability!r}, but the model has no predict_proba to take it from"
            )
        if isinstance(probability, int):
            if probability < len(self.classes):
                return probability
            raise ValidationError(
                "predictor.probability", f"is index {probability}, but the model has {len(self.classes)} classes"
            )
        labels = [str(c) for c in self.classes.tolist()]
        if probability in labels:
            return labels.index(probability)
        raise ValidationError("predictor.probability", f"is {probability!r}, which is not one of the model's classes {labels}")

    def _input_columns(self) -> list[str] | None:
        expected = getattr(self.model, "feature_names_in_", None)
        if expected is None:
            return None
        expected = [str(c) for c in expected]
        missing = [c for c in expected if c not in self.codec.names]
        if missing:
            raise ModelError(
                f"the model was trained on columns {missing} that are not among the dataset's features "
                f"({', '.join(self.codec.names)}); check headers and excluded_columns"
            )
        return expected

    # -- calling the model

    def _model_input(self, X: np.ndarray) -> Any:
        if self.input_columns is not None:
            return self.codec.decode(X)[self.input_columns]
        if self.codec.categories:
            return self.codec.decode(X).to_numpy(dtype=object)
        return X

    def _call(self, method: str, X: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.rows += len(X)
        try:
            return np.asarray(getattr(self.model, method)(self._model_input(X)))
        except ClientError:
            raise
        except Exception as error:
            raise ModelError(
                f"{type(self.model).__name__}.{method} failed on the dataset's features: {type(error).__name__}: {error}"
            ) from error

    def scores(self, X: np.ndarray) -> np.ndarray:
        """What is explained, (rows, outputs), for encoded rows ``X``."""
        if self.is_classifier:
            proba = np.asarray(self._call("predict_proba", X), dtype=np.float64)
            return proba[:, [self.column]] if self.column is not None else proba
        out = self._call("predict", X)
        try:
            out = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError(
                f"{type(self.model).__name__}.predict returns non-numeric values and the model has no predict_proba; "
                "SHAP and PDP explain numeric outputs"
            ) from None
        return out.reshape(len(X), -1)

    def label_headers(self, outputs: int) -> list[str]:
        if self.headers_given is not None:
            if len(self.headers_given) != outputs:
                raise ValidationError(
                    "predictor.label_headers", f"has {len(self.headers_given)} names but the model gives {outputs} outputs"
                )
            return list(self.headers_given)
        return [f"label{i}" for i in range(outputs)]

    def predict(self, X: np.ndarray) -> Predictions:
        """Scores and predicted labels of every row of ``X``."""
        if self.is_classifier:
            proba = np.asarray(self._call("predict_proba", X), dtype=np.float64)
            scores = proba[:, [self.column]] if self.column is not None else proba
            if len(self.classes) == 2:
                positive, negative = self.classes[self.positive], self.classes[1 - self.positive]
                predicted = np.where(proba[:, self.positive] > self.threshold, positive, negative)
            else:
                predicted = self.classes[np.argmax(proba, axis=1)]
        else:
            scores = self.scores(X)
            predicted = scores[:, 0]  # a regressor's (first) output is its predicted label
        return Predictions(scores, _native(predicted), self.label_headers(scores.shape[1]))


def _native(values: np.ndarray) -> np.ndarray:
    """Predicted labels with Python scalars (so "A" and numpy "A" compare alike in the kernels)."""
    values = np.asarray(values)
    if values.dtype.kind in "US":
        return values.astype(object)
    return values


def open_model(root: Path, config: AnalysisConfig, codec: FeatureCodec, *, source: ModelSource | None = None) -> LocalModel:
    """The job's model, ready to call; a clear error when it has none or cannot use it.

    ``source`` fetches ``predictor.model_name`` when no model file is in the job
    (default: boto3 clients of the container's environment).
    """
    location = model_location(root, config.predictor)
    if location is None:
        if config.predictor is not None and config.predictor.model_name is not None:
            return _open_named_model(source or ModelSource(config.predictor.model_name), config, codec)
        needs = "methods.shap/methods.pdp" if (config.shap or config.pdp) else "methods.post_training_bias"
        raise ValidationError(
            "predictor",
            f"is needed for {needs}: give predictor.model_name (a SageMaker model), predictor.model_path (a model "
            "file) or stage the model as the processing input 'model' (/opt/ml/processing/input/model)",
        )
    if location.is_dir():
        location = _from_directory(location, str(location))
    return LocalModel(load_model(location), codec, config, location)


def _open_named_model(source: ModelSource, config: AnalysisConfig, codec: FeatureCodec) -> LocalModel:
    """Download the SageMaker model's artifact to a scratch directory and load it from there."""
    with tempfile.TemporaryDirectory(prefix="charter-clarify-model-") as scratch:
        path = source.download(Path(scratch))
        uri, _ = source.artifact()
        try:
            model = load_model(path)
        except ModelError as error:
            image = source.container().get("Image") or "its image"
            raise ModelSourceError(
                source.name,
                f"its model data {uri} cannot be loaded ({error.args[0].removeprefix('model: ')}); Charter's Clarify "
                f"calls the model in process and needs a scikit-learn style model saved with joblib or pickle, as "
                f"the SageMaker scikit-learn image ({image}) loads it",
            ) from None
        return LocalModel(model, codec, config, path, origin=f"SageMaker model {source.name!r} ({uri})")
