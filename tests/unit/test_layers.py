"""The house's layering (ARCHITECTURE.md), checked on the source: who may import whom.

Every ``import`` in ``src/charter`` is read (late imports inside functions too, and
relative ones resolved), so a shortcut across layers fails here rather than in a
review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import charter

ROOT = Path(charter.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The charter modules ``path`` imports, as dotted names."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "charter" or name.startswith("charter.")}


SOURCES = {_module_name(p): _imports(p) for p in sorted(ROOT.rglob("*.py")) if "migrations" not in p.parts}


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offenders(layer: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    out = {}
    for module, imported in SOURCES.items():
        if _under(module, layer):
            bad = sorted(name for name in imported if any(_under(name, f) for f in forbidden))
            if bad:
                out[module] = bad
    return out


FACES = ("charter.api", "charter.console", "charter.cli")


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        # the service model sits below everything
        ("charter.model", ("charter",)),
        # kernels are pure
        ("charter.analytics", FACES + ("charter.services", "charter.runtime", "charter.builtins", "charter.store",
                                        "charter.iam", "charter.render", "charter.instance", "charter.settings")),
        # what faces and built-ins both draw knows neither
        ("charter.render", FACES + ("charter.services", "charter.runtime", "charter.builtins", "charter.store",
                                     "charter.iam", "charter.instance")),
        # built-ins speak only the container contract
        ("charter.builtins", FACES + ("charter.services", "charter.runtime", "charter.store", "charter.instance")),
        # the runtime imports no service and no face
        ("charter.runtime", FACES + ("charter.services",)),
        # services know nothing of HTTP
        ("charter.services", FACES),
        ("charter.store", FACES + ("charter.services", "charter.runtime", "charter.builtins")),
        ("charter.iam", FACES + ("charter.services", "charter.runtime", "charter.builtins")),
        # one installation's plumbing; the composition roots wire the services to it
        ("charter.instance", FACES + ("charter.services", "charter.runtime", "charter.builtins")),
    ],
)
def test_no_layer_imports_from_above(layer, forbidden):
    assert _offenders(layer, forbidden) == {}


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                return True
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in ("environ", "getenv", "environb") for alias in node.names):
                return True
    return False


# Where reading the environment is right: Charter's own settings; the CLI's client,
# which reads the caller's AWS environment as boto3 does; the built-ins, whose
# environment is the container contract (SAGEMAKER_*, the monitor's variables); the few
# variables a job's process inherits to run at all (PATH, the locale), in one module.
ENVIRONMENT_READERS = ("charter.settings", "charter.cli.client", "charter.builtins",
                       "charter.runtime.executors.inherited")


def test_only_settings_reads_charters_configuration_from_the_environment():
    readers = sorted(
        _module_name(p) for p in ROOT.rglob("*.py") if "migrations" not in p.parts and _reads_environment(p)
    )
    assert [m for m in readers if not any(_under(m, allowed) for allowed in ENVIRONMENT_READERS)] == []


def test_the_checker_sees_late_and_relative_imports(tmp_path):
    source = tmp_path / "charter" / "runtime" / "x.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from ..services.search import Search\n    import charter.api.gateway\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path / "charter"
    try:
        assert _imports(source) == {"charter.services.search", "charter.services.search.Search", "charter.api.gateway"}
    finally:
        ROOT = saved
