"""The Python the entry point runs on, with the user's ``requirements.txt`` installed.

specs/containers.md, section 2, step 3: when the code directory holds ``requirements.txt``
the toolkit runs ``python -m pip install -r requirements.txt`` before the script.  SageMaker
installs into the image, which is thrown away after the job; Charter's framework "images"
share one Python, so the requirements go into a virtual environment of the job's own,
created with ``--system-site-packages`` and linked to the environment Charter runs in, so
the frameworks already installed (scikit-learn, PyTorch, XGBoost, pandas, ...) stay
visible while what the user pins takes precedence.

Building such an environment costs seconds to minutes, so with ``CHARTER_VENV_CACHE`` set
it is kept there, keyed by a hash of ``requirements.txt`` (and of the local files it names,
e.g. ``--find-links ./wheels`` or ``./mypkg``), the Python version and the environment it
extends, and reused by every later job with the same key.  A job builds in a private
directory of the cache and publishes it with one atomic ``symlink``; a job that loses the
race to publish discards its own build and uses the winner's, so concurrent jobs are safe
and the paths baked into the environment (scripts' ``#!`` lines) stay valid.  Without the
cache the environment is ``root/opt/ml/.venv``, one per job.

A code directory with ``setup.py`` (a package entry point) is installed with
``pip install . [-r requirements.txt]`` into a per-job environment, never the shared cache,
since the package itself is part of it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import site
import sys
import tempfile
import venv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .failures import InstallModuleError, InstallRequirementsError
from .logs import Log
from .runner import check

__all__ = ["CACHE_VARIABLE", "Interpreter", "cached", "prepare", "requirements_key"]

CACHE_VARIABLE = "CHARTER_VENV_CACHE"
REQUIREMENTS = "requirements.txt"
_MARKER = ".charter-requirements"  # the key an environment was built for
_LINK = "_charter_framework_site.pth"
_KEY_VERSION = b"charter-script-mode-venv-1"
# Options of a requirements file whose value is another file (whose content matters too).
_FILE_OPTIONS = {"-r", "--requirement", "-c", "--constraint"}
_SKIP_DIRS = {"__pycache__", ".git", "build", "dist"}


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs the entry point, and the environment it belongs to (if its own)."""

    python: str
    venv: Path | None = None
    reused: bool = False

    def env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Variables that make ``python`` (and installed console scripts) on ``PATH`` this one,
        for entry points that are shell scripts."""
        bin_dir = str(self.venv / "bin") if self.venv is not None else os.path.dirname(self.python)
        path = environ.get("PATH", os.defpath)
        env = {"PATH": f"{bin_dir}{os.pathsep}{path}" if path else bin_dir}
        if self.venv is not None:
            env["VIRTUAL_ENV"] = str(self.venv)
        return env


def _hash_tree(digest, path: Path) -> None:
    if path.is_file():
        digest.update(b"F\0" + path.read_bytes())
        return
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            file = Path(folder, name)
            digest.update(b"\0" + str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())


def _local_references(code_dir: Path, text: str) -> list[Path]:
    """Files and directories of the code directory that ``requirements.txt`` names: nested
    requirement/constraint files and path-like requirements or ``--find-links`` values."""
    found: list[Path] = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        expect_file = False
        for token in tokens:
            value = token.split("=", 1)[1] if token.startswith("--") and "=" in token else token
            if token in _FILE_OPTIONS:
                expect_file = True
                continue
            value = value.removeprefix("file://")
            looks_like_path = expect_file or value.startswith(".") or "/" in value
            expect_file = False
            if not looks_like_path or "://" in value:
                continue
            candidate = code_dir / value
            if candidate.exists():
                found.append(candidate)
                if candidate.is_file() and candidate.suffix == ".txt":  # nested requirements
                    found += _local_references(candidate.parent, candidate.read_text(errors="replace"))
    return found


def requirements_key(code_dir: Path) -> str:
    """The cache key of the environment ``code_dir/requirements.txt`` needs."""
    requirements = code_dir / REQUIREMENTS
    text = requirements.read_bytes()
    digest = hashlib.sha256(_KEY_VERSION)
    for part in (sys.version, sys.prefix, platform.machine()):
        digest.update(b"\0" + part.encode())
    digest.update(b"\0" + text)
    for reference in _local_references(code_dir, text.decode("utf-8", "replace")):
        digest.update(b"\0" + str(reference.relative_to(code_dir)).encode())
        _hash_tree(digest, reference)
    return digest.hexdigest()[:32]


def _framework_site_dirs() -> list[str]:
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _create(target: Path) -> Path:
    """A fresh virtual environment at ``target`` that also sees this Python's packages; its python."""
    venv.EnvBuilder(system_site_packages=True, clear=True, symlinks=os.name != "nt", with_pip=False).create(target)
    python = target / "bin" / "python"
    purelib = target / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    # --system-site-packages reaches the base interpreter's packages only; when Charter itself
    # runs in a virtual environment the frameworks live there, so add its site directories
    # (after the job's own, and with their .pth files processed) through a .pth file.
    lines = [f"import site; site.addsitedir({d!r})" for d in _framework_site_dirs()]
    purelib.mkdir(parents=True, exist_ok=True)
    (purelib / _LINK).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return python


def _pip_env(environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    env.update({"PYTHONUNBUFFERED": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1",
                "PIP_ROOT_USER_ACTION": "ignore"})
    return env


def cached(cache: Path, key: str, build: Callable[[Path], None]) -> tuple[Path, bool]:
    """The environment ``cache/key``, built by ``build(directory)`` unless already there;
    ``(its real path, whether it was reused)``.  Safe against concurrent jobs (module docstring)."""
    final = cache / key
    if (final / _MARKER).is_file():
        return final.resolve(), True
    cache.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(final) and not final.exists():
        try:
            final.unlink()  # a link to a build someone removed: nothing can use it
        except OSError:
            pass
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache))
    staging.chmod(0o755)  # mkdtemp makes it private; jobs of other users share the cache
    try:
        build(staging)
        (staging / _MARKER).write_text(key + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        os.symlink(staging.name, final)
    except FileExistsError:
        shutil.rmtree(staging, ignore_errors=True)
        if (final / _MARKER).is_file():
            return final.resolve(), True  # another job published the same environment first
        raise
    return staging.resolve(), False


def prepare(code_dir: Path, base_dir: Path, *, package: bool, log: Log,
            environ: Mapping[str, str] | None = None) -> Interpreter:
    """The interpreter for the entry point in ``code_dir`` (see the module docstring).

    ``package`` says the code directory is a package to ``pip install .``.  A failed
    installation raises :class:`~.failures.InstallRequirementsError` or
    :class:`~.failures.InstallModuleError` (the container then exits 1, as the toolkit's does).
    """
    environ = os.environ if environ is None else environ
    has_requirements = (code_dir / REQUIREMENTS).is_file()
    pip_env = _pip_env(environ)

    if package:
        target = base_dir / ".venv"
        log.info(f"Installing the package in {code_dir} into {target}")
        python = _create(target)
        command = [str(python), "-m", "pip", "install"]
        if not (code_dir / "pyproject.toml").is_file():
            # A bare setup.py builds with setuptools alone, which the framework environment has;
            # an isolated build would fetch it from an index the job may not reach.
            command.append("--no-build-isolation")
        command.append(".")
        if has_requirements:
            command += ["-r", REQUIREMENTS]
        check(command, code_dir, pip_env, InstallModuleError, exit_code=1)
        return Interpreter(str(python), target)

    if not has_requirements:
        return Interpreter(sys.executable)

    key = requirements_key(code_dir)

    def build(target: Path) -> None:
        python = _create(target)
        log.info(f"Installing dependencies from {REQUIREMENTS} into {target}")
        check([str(python), "-m", "pip", "install", "-r", REQUIREMENTS], code_dir, pip_env,
              InstallRequirementsError, exit_code=1)

    cache = environ.get(CACHE_VARIABLE)
    if cache:
        target, reused = cached(Path(cache), key, build)
    else:
        target = base_dir / ".venv"
        marker = target / _MARKER
        reused = marker.is_file() and marker.read_text(encoding="utf-8").strip() == key
        if not reused:
            build(target)
            marker.write_text(key + "\n", encoding="utf-8")
    if reused:
        log.info(f"Reusing the environment {target}, already built for this {REQUIREMENTS}")
    return Interpreter(str(target / "bin" / "python"), target, reused)
