"""The real public datasets in ``../shared/data``: where they are, and loaders for each.

Charter never ships these files (``shared/data/README.md``); they lie beside the checkout
for developers and CI. This package finds that folder and reads each set the way its
README describes, so tests, benchmarks and the demo workspace all see the same tables:

- :mod:`charter.datasets.fairness`: UCI Adult, Statlog German credit, ProPublica COMPAS;
- :mod:`charter.datasets.m4`: the M4 competition's hourly subset with its official forecasts.

Where the folder is: ``CHARTER_SHARED_DATA`` (read through :class:`~charter.settings.Settings`)
when set, else ``../shared/data`` beside the current directory, else beside the source
checkout this package was installed from. A loader whose file is absent raises
:class:`DataUnavailable`, which names the file, so a test can skip with that reason.
"""

from __future__ import annotations

from pathlib import Path

from charter.settings import Settings

__all__ = ["DataUnavailable", "data_file", "shared_data_root"]


class DataUnavailable(FileNotFoundError):
    """A file of ``shared/data`` is not on this machine."""


def _candidates() -> list[Path]:
    configured = Settings.from_env().shared_data
    if configured is not None:
        return [configured]
    checkout = Path(__file__).resolve().parents[3]  # src/charter/datasets -> the repository
    return [Path.cwd().parent / "shared" / "data", checkout.parent / "shared" / "data"]


def shared_data_root() -> Path | None:
    """The ``shared/data`` folder, or None where there is none."""
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate.resolve()
    return None


def data_file(folder: str, *names: str) -> Path:
    """The path of ``shared/data/<folder>/<names...>``; :class:`DataUnavailable` if it is absent."""
    root = shared_data_root()
    if root is None:
        looked = ", ".join(str(p) for p in _candidates())
        raise DataUnavailable(f"shared/data is not on this machine (looked in {looked}; set CHARTER_SHARED_DATA)")
    path = root.joinpath(folder, *names)
    if not path.is_file():
        raise DataUnavailable(f"{path} is absent (see {root / folder / 'README.md'})")
    return path
