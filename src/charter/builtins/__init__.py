"""Charter's built-in "images": SageMaker algorithms and containers that run without Docker.

A SageMaker container is started with one argument, ``train``, ``serve`` or (for
processing jobs) whatever its entrypoint expects, and talks to the platform only
through the ``/opt/ml`` tree (``specs/containers.md``).  A built-in here is a Python
module that exposes the same three entry points as functions of the container root,
the directory that plays ``/opt/ml``'s parent::

    def train(root: Path) -> None: ...     # reads root/opt/ml/input, writes root/opt/ml/model
    def serve(root: Path) -> None: ...     # serves root/opt/ml/model on :8080
    def process(root: Path) -> None: ...   # reads/writes root/opt/ml/processing/...

An image need only define the commands it supports.  :func:`run` is what
``charter container run IMAGE COMMAND --root DIR`` calls: it finds the image, calls the
entry point, and turns a failure into what the container contract asks of a failed
container -- a non-zero exit status and the reason in ``/opt/ml/output/failure``
(training, whose first 1024 characters become ``FailureReason``) or
``/opt/ml/output/message`` (processing, whose first 1 KB becomes ``ExitMessage``),
prefixed ``ClientError:`` for bad input and ``AlgorithmError:`` for anything else,
as SageMaker's own algorithms do.

Images are registered by name with the module that implements them; the module is
imported only when the image runs, so registering costs nothing.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = [
    "COMMANDS",
    "BuiltinImage",
    "ClientError",
    "UnknownCommand",
    "UnknownImage",
    "entry_point",
    "get",
    "images",
    "register",
    "resolve",
    "run",
]

COMMANDS = ("train", "serve", "process")

# Exit statuses of a failed built-in.
EXIT_CLIENT_ERROR = 2
EXIT_ALGORITHM_ERROR = 1

# Where each command reports why it failed (container contract, sections 1 and 3).
_FAILURE_FILES = {"train": "failure", "process": "message"}
_MESSAGE_LIMIT = 1024


class ClientError(ValueError):
    """The job's input is wrong (configuration, data, model); the message says how to fix it.

    Built-ins raise subclasses of this for problems the user can correct; :func:`run`
    reports them as ``ClientError: ...`` and exits with status 2.
    """


class UnknownImage(LookupError):
    """No built-in image has this name; the message lists the ones there are."""


class UnknownCommand(LookupError):
    """The image does not implement this command; the message lists the ones it does."""


@dataclass(frozen=True)
class BuiltinImage:
    """A registered built-in: its name, the module implementing it and a one-line description."""

    name: str
    module: str
    description: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def commands(self) -> list[str]:
        """The entry points the module defines, in contract order."""
        module = self.load()
        return [c for c in COMMANDS if callable(getattr(module, c, None))]

    def metric_definitions(self) -> list[dict]:
        """The ``MetricDefinitions`` SageMaker applies to this algorithm's log (its module's
        ``METRIC_DEFINITIONS``: ``[{"Name": ..., "Regex": ...}]``), empty for images without any."""
        return [dict(d) for d in getattr(self.load(), "METRIC_DEFINITIONS", ())]


_IMAGES: dict[str, BuiltinImage] = {}


def register(name: str, module: str, description: str, repositories: tuple[str, ...] = ()) -> BuiltinImage:
    """Add (or replace) a built-in image implemented by ``module`` (an import path).

    ``repositories`` are the ECR repository names of the SageMaker images it stands in for.
    """
    image = BuiltinImage(name, module, description)
    _IMAGES[name] = image
    for repository in repositories:
        _REPOSITORIES[repository] = name
    return image


_REPOSITORIES: dict[str, str] = {}  # ECR repository name -> built-in image name
# <account>.dkr.ecr.<region>.<partition's domain>/<repository>[:tag|@digest]; the domain is
# amazonaws.com, amazonaws.com.cn, or an isolated partition's (c2s.ic.gov, sc2s.sgov.gov, ...).
_ECR_URI = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.[a-z0-9.-]+/(?P<repository>[^:@]+)(?:[:@].*)?$")


def resolve(image: str) -> BuiltinImage:
    """The built-in for an image a request names: a built-in's own name, or the ECR URI of the
    SageMaker image it stands in for (``image_uris.retrieve("forecasting-deepar", region)``
    gives ``<account>.dkr.ecr.<region>.amazonaws.com/forecasting-deepar:1``), in any region."""
    if image in _IMAGES:
        return _IMAGES[image]
    match = _ECR_URI.match(image)
    if match and match.group("repository") in _REPOSITORIES:
        return _IMAGES[_REPOSITORIES[match.group("repository")]]
    known = ", ".join(sorted(_REPOSITORIES)) or "none"
    raise UnknownImage(f"{image!r} is neither a built-in image nor the URI of a SageMaker image Charter has "
                       f"built in (ECR repositories: {known})")


def images() -> list[BuiltinImage]:
    """Every registered image, sorted by name."""
    return [_IMAGES[name] for name in sorted(_IMAGES)]


def get(name: str) -> BuiltinImage:
    try:
        return _IMAGES[name]
    except KeyError:
        known = ", ".join(sorted(_IMAGES)) or "none"
        raise UnknownImage(f"no built-in image named {name!r}; the built-in images are: {known}") from None


def entry_point(name: str, command: str) -> Callable[[Path], object]:
    """The function implementing ``command`` of image ``name``."""
    image = get(name)
    if command not in COMMANDS:
        raise UnknownCommand(f"{command!r} is not a container command; use one of: {', '.join(COMMANDS)}")
    function = getattr(image.load(), command, None)
    if not callable(function):
        raise UnknownCommand(
            f"image {name!r} has no {command!r} entry point; it supports: {', '.join(image.commands()) or 'nothing'}"
        )
    return function


def _report_failure(root: Path, command: str, text: str) -> None:
    """Write the failure reason where the platform reads it (best effort: never masks the error)."""
    name = _FAILURE_FILES.get(command)
    if name is None:
        return
    path = root / "opt" / "ml" / "output" / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8")[:_MESSAGE_LIMIT])
    except OSError:
        pass


def run(name: str, command: str, root: Path, **options) -> int:
    """Run one command of a built-in against container root ``root``; the exit status.

    ``options`` are passed to the entry point (for in-process callers such as
    ``charter clarify run``, e.g. a progress callback).  Unknown images and commands
    raise :class:`UnknownImage` / :class:`UnknownCommand` before anything runs.
    """
    function = entry_point(name, command)
    root = Path(root)
    try:
        function(root, **options)
    except ClientError as error:
        text = f"ClientError: {error}"
        _report_failure(root, command, text)
        print(text, file=sys.stderr)
        return EXIT_CLIENT_ERROR
    except Exception as error:  # the container's last line of defence: report, don't crash
        text = f"AlgorithmError: {type(error).__name__}: {error}"
        _report_failure(root, command, text)
        traceback.print_exc(file=sys.stderr)
        print(text, file=sys.stderr)
        return EXIT_ALGORITHM_ERROR
    return 0


register(
    "clarify",
    "charter.builtins.clarify",
    "SageMaker Clarify processing: bias metrics, SHAP and partial dependence, analysis.json and a report",
    ("sagemaker-clarify-processing",),
)
register(
    "model-monitor",
    "charter.builtins.model_monitor",
    "SageMaker Model Monitor data quality: baseline statistics/constraints, violations, CloudWatch metrics and a report",
    ("sagemaker-model-monitor-analyzer",),
)
register(
    "forecasting-deepar",
    "charter.builtins.forecasting_deepar",
    "SageMaker DeepAR forecasting: train on JSON Lines/Parquet series (test metrics in the log), serve forecasts",
    ("forecasting-deepar",),
)
register(
    "xgboost",
    "charter.builtins.xgboost",
    "SageMaker XGBoost: the built-in algorithm (CSV, libsvm, Parquet), or script mode when given an entry point",
    ("sagemaker-xgboost", "xgboost"),  # "xgboost" is the legacy algorithm's repository (version "1")
)
register(
    "sklearn",
    "charter.builtins.frameworks.sklearn",
    "SageMaker scikit-learn framework image: script-mode training, and the Python that processing scripts run on",
    ("sagemaker-scikit-learn",),
)
register(
    "pytorch",
    "charter.builtins.frameworks.pytorch",
    "SageMaker PyTorch framework image: script-mode training (torch.distributed across hosts)",
    ("pytorch-training",),
)
