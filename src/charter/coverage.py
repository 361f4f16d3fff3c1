"""The coverage page: which AWS operations Charter answers, family by family.

``python -m charter.coverage`` writes ``docs/coverage.md``; ``--check`` only
compares it with what it would write and exits 1 when it is stale.  The page is
generated, as moto's ``IMPLEMENTATION_COVERAGE.md`` is, from two sources:

* every operation of botocore's service model (:func:`charter.model.service_model`)
  for each service Charter serves or will serve, and
* the handler registry (:func:`charter.services.load_all`): an operation is
  implemented when a handler is registered for it.

Operations are grouped into families named for the resource they act on, derived
from the operation names alone: the verb (the first word, or the first two for
``Batch...``) is dropped and the rest is matched, at word boundaries and longest
first, against the resources the service models create or describe
(``CreateModelPackage``, ``DescribeModelPackage`` make ``ModelPackage`` a
resource, so ``ListModelPackages`` and ``BatchDescribeModelPackage`` join it).
Sub-resources with no Create or Describe of their own join their parent
(``GetModelPackageGroupPolicy`` is in ``ModelPackageGroup``).  Where no created
or described resource matches (S3's objects, CloudWatch's metrics), the shortest
noun the service's other operations act on names the family.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import botocore

from .model import service_model

#: The services in the order the page lists them: what Charter serves first,
#: then the faces ARCHITECTURE.md names, listed at 0 % until they exist so that
#: progress shows.
SERVICES = ("sagemaker", "sagemaker-runtime", "s3", "logs", "cloudwatch", "sts", "iam")

PAGE = Path(__file__).resolve().parents[2] / "docs" / "coverage.md"
COMMAND = "python -m charter.coverage"

_WORD = re.compile(r"[A-Z]+[0-9]*(?![a-z])|[A-Z][a-z0-9]*|[0-9]+")
_DEFINING_VERBS = {"Create", "Describe"}


def words(name: str) -> list[str]:
    """``ModelPackageGroupPolicy`` -> ``[Model, Package, Group, Policy]`` (acronyms kept whole)."""
    return _WORD.findall(name)


def _singulars(noun: str) -> list[str]:
    """The noun and the singular forms an English plural of it could have."""
    forms = [noun]
    if noun.endswith("ies"):
        forms.append(noun[:-3] + "y")
    if noun.endswith("es"):
        forms.append(noun[:-2])
    if noun.endswith("s") and not noun.endswith("ss"):
        forms.append(noun[:-1])
    return forms


def split_operation(operation: str) -> tuple[str, list[str]]:
    """(verb, noun words): ``BatchDescribeModelPackage`` -> (``BatchDescribe``, [Model, Package])."""
    parts = words(operation)
    take = 2 if parts[0] == "Batch" and len(parts) > 1 else 1
    return "".join(parts[:take]), parts[take:]


def _match(noun: list[str], resources: set[str], canon, *, longest: bool) -> str | None:
    sizes = range(len(noun), 0, -1) if longest else range(1, len(noun) + 1)
    for size in sizes:
        candidate = "".join(noun[:size])
        for form in (canon(candidate), *_singulars(candidate)):
            if form in resources:
                return form
    return None


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    operations: tuple[str, ...]


def load_services(names: tuple[str, ...] = SERVICES) -> list[Service]:
    services = []
    for name in names:
        model = service_model(name)
        title = model.metadata.get("serviceFullName", name)
        services.append(Service(name, title, tuple(sorted(model.operation_names))))
    return services


def families(services: list[Service]) -> dict[str, dict[str, list[str]]]:
    """service -> family -> its operations, each family sorted by operation name."""
    nouns_of = {
        service.name: {"".join(split_operation(op)[1]) for op in service.operations} - {""} for service in services
    }
    every_noun = set().union(*nouns_of.values())

    def canon(noun: str) -> str:
        # A plural whose singular some operation names is that singular
        # (DescribeLogGroups beside CreateLogGroup, ListAssociations beside AddAssociation).
        return next((form for form in _singulars(noun)[1:] if form in every_noun), noun)

    # Resources are pooled across services, so sagemaker-runtime's InvokeEndpoint
    # joins the Endpoint that SageMaker creates.
    defined = {
        canon("".join(noun))
        for service in services
        for verb, noun in map(split_operation, service.operations)
        if verb in _DEFINING_VERBS and noun
    }
    grouped: dict[str, dict[str, list[str]]] = {}
    for service in services:
        nouns = {canon(noun) for noun in nouns_of[service.name]}
        by_family: dict[str, list[str]] = defaultdict(list)
        for operation in service.operations:
            _, noun = split_operation(operation)
            family = (
                _match(noun, defined, canon, longest=True)
                or _match(noun, nouns, canon, longest=False)
                or operation  # a bare verb such as SageMaker's Search
            )
            by_family[family].append(operation)
        grouped[service.name] = {name: sorted(ops) for name, ops in sorted(by_family.items())}
    return grouped


def implemented() -> dict[str, set[str]]:
    """service -> the operations a handler is registered for."""
    from .services import HANDLERS, load_all

    load_all()
    done: dict[str, set[str]] = defaultdict(set)
    for service, operations in HANDLERS.items():
        done[service].update(operations)
    return done


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", text.lower()).replace(" ", "-")


def render(services: list[Service] | None = None, done: dict[str, set[str]] | None = None) -> str:
    """The Markdown page."""
    services = load_services() if services is None else services
    done = implemented() if done is None else done
    grouped = families(services)
    known = {service.name: set(service.operations) for service in services}
    unknown = sorted(
        f"{service}:{name}" for service, names in done.items() for name in names - known.get(service, set())
    )
    if unknown:
        raise SystemExit(f"handlers registered for operations botocore's models do not have: {', '.join(unknown)}")

    lines = [
        "# Implementation coverage",
        "",
        "Which AWS operations Charter answers, generated from the handler registry against every",
        f"operation of botocore {botocore.__version__}'s service models. Do not edit by hand: run",
        f"`{COMMAND}` after adding a handler (a test fails while this page is stale).",
        "",
        "Families are named for the resource the operations act on (derived from the operation",
        "names; see `src/charter/coverage.py`). An operation without a handler answers an",
        "AWS-shaped error saying so.",
        "",
        "| Service | Implemented | Operations | Coverage |",
        "|---|---:|---:|---:|",
    ]
    for service in services:
        total = len(service.operations)
        count = len(done.get(service.name, set()) & set(service.operations))
        title = f"{service.title} (`{service.name}`)"
        lines.append(f"| [{title}](#{_anchor(service.name)}) | {count} | {total} | {_percent(count, total)} |")

    for service in services:
        ours = done.get(service.name, set())
        by_family = grouped[service.name]
        total = len(service.operations)
        count = len(ours & set(service.operations))
        started = [name for name, ops in by_family.items() if ours & set(ops)]
        lines += [
            "",
            f"## {service.name}",
            "",
            f"{service.title}: {count} of {total} operations ({_percent(count, total)}) "
            f"in {len(by_family)} families, {len(started)} of them begun.",
            "",
        ]
        if started:
            lines += ["| Family | Implemented | Operations | Coverage |", "|---|---:|---:|---:|"]
            for name in started:
                ops = by_family[name]
                have = len(ours & set(ops))
                lines.append(f"| {name} | {have} | {len(ops)} | {_percent(have, len(ops))} |")
            lines.append("")
        for name, ops in by_family.items():
            have = len(ours & set(ops))
            lines += ["<details>" if not have else "<details open>",
                      f"<summary>{name}: {have} of {len(ops)} ({_percent(have, len(ops))})</summary>", ""]
            lines += [f"- [{'X' if op in ours else ' '}] {op}" for op in ops]
            lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale instead of writing it")
    parser.add_argument("--output", type=Path, default=PAGE, help=f"where the page goes (default {PAGE})")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if not args.output.exists() or args.output.read_text() != page:
            print(f"{args.output} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
