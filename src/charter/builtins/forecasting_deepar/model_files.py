"""The trained model as the DeepAR image leaves it in ``opt/ml/model``, and reading it back to serve.

Two files: ``model.pt``, the kernel's :meth:`DeepAR.state` saved with ``torch.save``
(network weights and the full configuration), and ``model.json``, a small readable summary
of what serving and people need to know without loading torch: the frequency, horizon,
likelihood, the categorical and dynamic features a request must carry, the
hyperparameters the job was given and the training outcome.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import ClientError

__all__ = ["MODEL_FILE", "SUMMARY_FILE", "FORMAT", "Summary", "load_model", "read_summary", "save_model"]

MODEL_FILE = "model.pt"
SUMMARY_FILE = "model.json"
FORMAT = "charter-deepar/1"


@dataclass(frozen=True)
class Summary:
    """What ``model.json`` says about a trained model."""

    time_freq: str
    prediction_length: int
    context_length: int
    likelihood: str
    cardinality: list[int]
    num_dynamic_feat: int
    seed: int
    document: dict[str, Any]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Summary":
        return cls(
            time_freq=document["time_freq"],
            prediction_length=int(document["prediction_length"]),
            context_length=int(document["context_length"]),
            likelihood=document["likelihood"],
            cardinality=[int(c) for c in document.get("cardinality", [])],
            num_dynamic_feat=int(document.get("num_dynamic_feat", 0)),
            seed=int(document.get("seed", 0)),
            document=document,
        )


def save_model(model, model_dir: Path, *, hyperparameters: dict[str, Any], extra: dict[str, Any]) -> Summary:
    """Write ``model.pt`` and ``model.json`` for a fitted kernel model; the summary written."""
    import torch

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state(), model_dir / MODEL_FILE)
    cfg = model.config
    document = {
        "format": FORMAT,
        "algorithm": "forecasting-deepar",
        "time_freq": cfg.time_freq,
        "prediction_length": cfg.prediction_length,
        "context_length": cfg.context_length,
        "likelihood": cfg.likelihood,
        "cardinality": list(cfg.cardinality),
        "num_dynamic_feat": cfg.num_dynamic_feat,
        "seed": cfg.seed,
        "final_loss": model.final_loss,
        "best_epoch": model.best_epoch,
        "hyperparameters": hyperparameters,
        **extra,
    }
    (model_dir / SUMMARY_FILE).write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return Summary.from_document(document)


def read_summary(model_dir: Path) -> Summary:
    """``model.json`` of the model in ``model_dir``; ClientError if it is not a DeepAR model from this image."""
    model_dir = Path(model_dir)
    path = model_dir / SUMMARY_FILE
    if not (model_dir / MODEL_FILE).is_file() or not path.is_file():
        raise ClientError(f"{model_dir} does not hold a DeepAR model: expected {MODEL_FILE} and {SUMMARY_FILE} "
                          "(written by the forecasting-deepar image's training)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, not {FORMAT!r}")
        return Summary.from_document(document)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ClientError(f"{path} is not a valid DeepAR model summary: {error}") from None


def load_model(model_dir: Path):
    """The kernel model saved in ``model_dir``, and its summary."""
    import torch

    from charter.analytics.forecasting.deepar import DeepAR

    summary = read_summary(model_dir)
    try:
        state = torch.load(Path(model_dir) / MODEL_FILE, map_location="cpu", weights_only=True)
        return DeepAR.from_state(state), summary
    except Exception as error:  # a truncated or foreign file: say which and why
        raise ClientError(f"{Path(model_dir) / MODEL_FILE} cannot be loaded as a DeepAR model: {error}") from None
