"""Which runner an image URI names, and the command each host of a job runs.

Every SageMaker image URI that ``sagemaker.image_uris.retrieve`` produces for an
algorithm or framework Charter has built in (any region, any version) names a
built-in (:mod:`charter.builtins`): the XGBoost algorithm, the scikit-learn,
PyTorch and XGBoost framework images, DeepAR, Clarify and the Model Monitor
analyzer.  Any other image runs under Docker or Podman when one works on this
machine; otherwise a job on it fails, saying so and what to do.

The command follows the container contract (specs/containers.md): a training
host runs the image's ``train`` (or ``ContainerEntrypoint`` +
``ContainerArguments``), a processing host the image's entrypoint, replaced or
extended by the request's.  A framework image has no entrypoint of its own for
processing: ``ContainerEntrypoint`` says what to run (``python3 script.py``), with
Charter's Python first on the ``PATH``.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys

from .. import builtins
from .executors import ROOT


class UnknownImage(Exception):
    """An image that is neither built in nor runnable by a container engine here; the message says why."""


def describe(image: str) -> dict:
    """The runner of ``image`` as a job spec records it: ``{"Kind": "builtin", "Name": ...}`` or a container."""
    try:
        return {"Kind": "builtin", "Name": builtins.resolve(image).name, "Uri": image}
    except builtins.UnknownImage:
        return {"Kind": "container", "Uri": image}


def metric_definitions(runner: dict) -> list[dict]:
    """The metric definitions a built-in algorithm brings with it (none for other images)."""
    if runner["Kind"] != "builtin":
        return []
    return builtins.get(runner["Name"]).metric_definitions()


@functools.lru_cache(maxsize=None)
def container_engine() -> str | None:
    """``docker`` or ``podman`` when one is installed and answers, else None."""
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        try:
            if subprocess.run([engine, "info"], capture_output=True, timeout=20).returncode == 0:
                return engine
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def command(runner: dict, job_command: str, entrypoint: list[str] | None, arguments: list[str] | None,
            *, host_dir: str, isolated: bool, python: str = sys.executable, environment: tuple[str, ...] = (),
            host: str = "algo-1") -> list[str]:
    """The argv one host runs for ``job_command`` (``train`` or ``process``) on ``runner``.

    Under a container engine the job's ``environment`` (names only: ``-e NAME`` passes each
    from the engine client's own environment, which is the job's) goes into the container.
    """
    if runner["Kind"] == "builtin":
        if entrypoint:
            return [*entrypoint, *(arguments or [])]
        builtin = [python, "-m", "charter.builtins", runner["Name"], job_command, ROOT]
        if job_command == "process" and "process" not in builtins.get(runner["Name"]).commands():
            raise UnknownImage(
                f"The image {runner['Uri']} has no processing entrypoint of its own; set ContainerEntrypoint "
                "(for example [\"python3\", \"/opt/ml/processing/input/code/script.py\"]), as the SDK's "
                "ScriptProcessor does."
            )
        return builtin
    engine = container_engine()
    if engine is None:
        raise UnknownImage(
            f"The image {runner['Uri']} is not one Charter has built in, and no container engine is available to "
            "run it: install Docker or Podman on the Charter host (and make sure `docker info` works for the "
            "server's user), or use a SageMaker image URI Charter knows (see `charter container images`)."
        )
    argv = [engine, "run", "--rm", "--hostname", host, "-v", f"{host_dir}/opt/ml:/opt/ml"]
    for name in sorted(environment):
        if name not in ("PATH", "HOME", "PYTHONPATH"):  # the image's own, not the host's
            argv += ["-e", name]
    if isolated:
        argv += ["--network", "none"]
    if entrypoint:
        argv += ["--entrypoint", entrypoint[0], runner["Uri"], *entrypoint[1:], *(arguments or [])]
    elif arguments:
        argv += [runner["Uri"], *arguments]
    else:
        argv += [runner["Uri"]] + ([job_command] if job_command == "train" else [])
    return argv
