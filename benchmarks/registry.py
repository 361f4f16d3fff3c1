"""Model Registry benchmark: Charter versus moto_server on the model-package operations.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/registry.py                  # full run: 1,000 groups x 100 versions
    .venv/bin/python benchmarks/registry.py --groups 20 --versions 10 --requests-scale 0.1   # smoke run

Method
------
1. Start both servers on free loopback ports, each with a fresh, empty store,
   exactly as benchmarks/api.py does (its helpers are imported from it).
2. Preload through the API, with ``--concurrency`` client threads (one boto3
   client each, Rich progress bar): ``--groups`` model package groups
   (CreateModelPackageGroup), then ``--groups`` x ``--versions`` versioned
   model packages (CreateModelPackage with ModelPackageGroupName, a realistic
   InferenceSpecification, ModelMetrics, MetadataProperties and customer
   metadata). Packages are registered round-robin over the groups, so writes
   to one group are spread out as they are in a real registry. In each group
   one version in five is registered ``Approved``, the rest
   ``PendingManualApproval``. The preload is part of the benchmark: its rates
   are reported in the table like any other operation, and the rate in each
   tenth of the preload is printed, to show whether it holds as the registry
   grows. moto numbers a version by scanning every package it holds, so its
   API preload is O(n^2); by default (``--moto-preload seeded``) moto is
   instead started by benchmarks/moto_seeded.py with the same registry built
   from the same requests inside its backend, and its preload rows read n/a. The ARN each create returns is kept, so the measured requests name
   packages as clients do.
3. For each operation, in this order, run a fixed number of requests over the
   same threads and clients (counts at ``--requests-scale 1``):

   - DescribeModelPackage of random existing ARNs (5,000);
   - ListModelPackages with ModelPackageGroupName of a random group,
     MaxResults=100: the whole group in one page (1,000);
   - ListModelPackages walking one random group with MaxResults=10 and
     NextToken until the end (200 walks, each ``--versions``/10 requests);
   - ListModelPackages with ModelPackageType=Versioned (all groups), walking
     ``--pages`` pages of 100 (50 walks);
   - Search, Resource=ModelPackage, Filters ModelPackageGroupName Equals a
     random group and ModelApprovalStatus Equals Approved, SortBy
     CreationTime, Descending, MaxResults=100 (500);
   - UpdateModelPackage approving distinct pending versions (2,000);
   - CreateModelPackage of new versions into the existing groups (2,000).

   Reads run first so they all see exactly the preloaded registry; Search runs
   before the approvals so its answers are known; creates run last. Each
   operation is preceded by one unmeasured warm-up request per client. An
   operation stops issuing new requests after ``--op-seconds`` (default 60):
   a server that is very slow at something is measured on the requests it
   managed, and the JSON records that it was capped.
4. Latency is each request's ``time.perf_counter`` duration as boto3 sees it;
   the rate is requests / wall time. Ratios: Charter rps / moto rps and
   moto p99 / Charter p99, so a ratio above 1 means Charter was faster.
5. An operation moto does not implement (its warm-up requests all answer an
   AWS error) is reported as "n/a" in moto's columns instead of failing the
   run. Every other error is counted and shown; Charter's make the script
   exit with status 1, moto's do not (moto is the yardstick, not the subject).
   A preload create answered with a 5xx is tried again (up to ten times) so
   that the registry is complete; retries are counted and reported. moto
   5.x's server answers some concurrent CreateModelPackage calls with HTTP 500
   ("dictionary changed size during iteration": it numbers versions by
   iterating a dict other request threads are adding to).
6. Print a Rich table, write benchmarks/results/registry.json, stop both
   servers (also on Ctrl-C, SIGTERM or an exception).

Caveats
-------
Those of benchmarks/api.py apply (one machine shared by clients and servers,
boto3 overhead in every latency, Charter doing more work per request than an
in-memory fake, GIL-bound client). Also: moto does not honour Search's SortBy
or MaxResults (it returns every match in insertion order), so its Search does
less work than asked; the JSON notes whether each server's answers came back
sorted. moto numbers a new version by counting the group's versions among all
packages, and filters List and Search by scanning every package, so its cost
grows with the registry. So, today, do some of Charter's: see "Time" in
benchmarks/README.md, which is why the default 100,000-package run is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from botocore.exceptions import ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as harness  # noqa: E402  (benchmarks/api.py: servers, clients, load generation, statistics)
from api import (  # noqa: E402
    Outcome,
    Server,
    make_client,
    ratio,
    redact,
    run_parallel,
    start_charter,
    start_moto,
    summarize,
    timed,
)

console = Console()
if not console.is_terminal:  # piped or captured: room for the whole table
    console = Console(width=150)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "registry.json"
REGION = harness.REGION
ACCOUNT_BUCKET = "s3://charter-bench-models"
APPROVED, PENDING = "Approved", "PendingManualApproval"
APPROVE_EVERY = 5  # one version in five is registered Approved
GROUP_PAGE, WALK_PAGE, ALL_PAGE, SEARCH_PAGE = 100, 10, 100, 100
PRELOAD_ATTEMPTS = 10  # a preload create that answers 5xx is tried again, up to this many times

Job = Callable[[object, int, Callable[[float], None]], int]


# --- the registry's content -------------------------------------------------------


def group_name(g: int) -> str:
    return f"bench-models-{g:04d}"


def package_request(group: str, serial: int, approved: bool) -> dict:
    """A CreateModelPackage request as a training pipeline would send it."""
    prefix = f"{ACCOUNT_BUCKET}/{group}/run-{serial:06d}"
    source = lambda kind: {"ContentType": "application/json", "S3Uri": f"{prefix}/{kind}.json"}  # noqa: E731
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"XGBoost churn model retrained on the weekly snapshot (run {serial})",
        "ModelApprovalStatus": APPROVED if approved else PENDING,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": f"{prefix}/output/model.tar.gz",
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_REGION": REGION},
                    "Framework": "XGBOOST",
                    "FrameworkVersion": "1.7-1",
                }
            ],
            "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["text/csv", "application/json"],
            "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge"],
            "SupportedTransformInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": source("evaluation"), "Constraints": source("quality-constraints")},
            "ModelDataQuality": {"Statistics": source("data-statistics"), "Constraints": source("data-constraints")},
            "Bias": {"PreTrainingReport": source("bias-pre"), "PostTrainingReport": source("bias-post")},
            "Explainability": {"Report": source("shap")},
        },
        "MetadataProperties": {
            "GeneratedBy": f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/churn/execution/{serial:08x}",
            "Repository": "https://git.example.com/ml/churn",
            "CommitId": f"{serial * 2654435761 % 2**32:08x}",
        },
        "CustomerMetadataProperties": {"team": "retention", "dataset": "churn-weekly", "auc": f"0.{8000 + serial % 999}"},
        "Domain": "MACHINE_LEARNING",
        "Task": "CLASSIFICATION",
    }


@dataclass
class Registry:
    """What the preload created on one server: the ARN and approval state of package ``i``."""

    groups: int
    versions: int
    arns: list[str | None] = field(default_factory=list)
    approved: list[bool] = field(default_factory=list)

    @staticmethod
    def plan(groups: int, versions: int) -> "Registry":
        total = groups * versions
        # Package i goes to group i % groups; its round i // groups decides its approval.
        approved = [(i // groups) % APPROVE_EVERY == APPROVE_EVERY - 1 for i in range(total)]
        return Registry(groups, versions, [None] * total, approved)

    def approved_per_group(self) -> int:
        return sum(1 for r in range(self.versions) if r % APPROVE_EVERY == APPROVE_EVERY - 1)


# --- operations ---------------------------------------------------------------


@dataclass
class Operation:
    key: str
    label: str
    jobs: int
    job: Job
    warm: Job
    unsorted: list = field(default_factory=list)  # Search answers that came back out of order


class PreloadFailed(RuntimeError):
    """The registry could not be built on one server; that server is reported as not measured."""


def operations(reg: Registry, scale: float, pages: int, seed: int, *, quiet: bool = False) -> list[Operation]:
    rng = random.Random(seed)
    say = (lambda message: None) if quiet else console.print
    n = lambda base: max(1, round(base * scale))  # noqa: E731
    total = reg.groups * reg.versions
    n_describe, n_list, n_walk, n_all, n_search, n_update, n_create = (
        n(5000), n(1000), n(200), n(50), n(500), n(2000), n(2000),
    )
    describe_ids = [rng.randrange(total) for _ in range(n_describe)]
    list_groups = [rng.randrange(reg.groups) for _ in range(n_list)]
    walk_groups = [rng.randrange(reg.groups) for _ in range(n_walk)]
    search_groups = [rng.randrange(reg.groups) for _ in range(n_search)]
    pending = [i for i in range(total) if not reg.approved[i]]
    rng.shuffle(pending)
    warm_count = min(64, max(1, len(pending) // 10))  # the warm-up approves versions of its own
    warm_pending, pending = pending[:warm_count], pending[warm_count:]
    if len(pending) < n_update:
        say(f"[yellow]only {len(pending)} pending versions to approve; UpdateModelPackage runs {len(pending)}.[/]")
        n_update = len(pending)
    update_ids = pending[:n_update]
    expected_approved = reg.approved_per_group()
    group_size = min(GROUP_PAGE, reg.versions)
    walk_pages = -(-reg.versions // WALK_PAGE)

    def describe(client, i, record):
        arn = reg.arns[describe_ids[i]]
        response = timed(record, lambda: client.describe_model_package(ModelPackageName=arn))
        if response["ModelPackageArn"] != arn:
            raise AssertionError(f"described {response['ModelPackageArn']!r}, asked {arn!r}")
        return 1

    def list_group(client, i, record):
        name = group_name(list_groups[i])
        response = timed(record, lambda: client.list_model_packages(ModelPackageGroupName=name, MaxResults=GROUP_PAGE))
        got = response["ModelPackageSummaryList"]
        if len(got) != group_size or any(p["ModelPackageGroupName"] != name for p in got):
            raise AssertionError(f"group {name}: first page held {len(got)} packages, expected {group_size} of that group")
        return 1

    def walk_group(client, i, record):
        name = group_name(walk_groups[i])
        seen: set[str] = set()
        token, requests = None, 0
        while True:
            kwargs = {"ModelPackageGroupName": name, "MaxResults": WALK_PAGE, **({"NextToken": token} if token else {})}
            response = timed(record, lambda: client.list_model_packages(**kwargs))
            requests += 1
            seen.update(p["ModelPackageArn"] for p in response["ModelPackageSummaryList"])
            token = response.get("NextToken")
            if not token:
                break
            if requests > walk_pages + 1:
                raise AssertionError(f"group {name}: still a NextToken after {requests} pages")
        if len(seen) != reg.versions:
            raise AssertionError(f"group {name}: walk saw {len(seen)} distinct versions, expected {reg.versions}")
        return requests

    def walk_all(client, i, record):
        token = None
        seen: set[str] = set()
        for page in range(pages):
            kwargs = {"ModelPackageType": "Versioned", "MaxResults": ALL_PAGE, **({"NextToken": token} if token else {})}
            response = timed(record, lambda: client.list_model_packages(**kwargs))
            got = response["ModelPackageSummaryList"]
            if len(got) != ALL_PAGE:
                raise AssertionError(f"versioned walk page {page + 1} held {len(got)} packages, expected {ALL_PAGE}")
            seen.update(p["ModelPackageArn"] for p in got)
            token = response.get("NextToken")
            if not token and page < pages - 1:
                raise AssertionError(f"no NextToken after page {page + 1}")
        if len(seen) != ALL_PAGE * pages:
            raise AssertionError(f"versioned walk saw {len(seen)} distinct packages in {pages} pages")
        return pages

    def search_job(op_holder: list) -> Job:
        def search(client, i, record):
            name = group_name(search_groups[i % len(search_groups)])
            expression = {
                "Filters": [
                    {"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": name},
                    {"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": APPROVED},
                ]
            }
            response = timed(record, lambda: client.search(
                Resource="ModelPackage", SearchExpression=expression, SortBy="CreationTime", SortOrder="Descending",
                MaxResults=SEARCH_PAGE))
            found = [r["ModelPackage"] for r in response["Results"]]
            if len(found) != expected_approved or any(
                p.get("ModelPackageGroupName") != name or p.get("ModelApprovalStatus") != APPROVED for p in found
            ):
                raise AssertionError(
                    f"group {name}: Search found {len(found)} packages, expected {expected_approved} approved ones of it"
                )
            times = [p.get("CreationTime") for p in found]
            if times != sorted(times, reverse=True) and len(op_holder[0].unsorted) < 1000:
                op_holder[0].unsorted.append(i)
            return 1

        return search

    def update(client, i, record):
        arn = reg.arns[update_ids[i]]
        timed(record, lambda: client.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=APPROVED, ApprovalDescription="approved by the benchmark"))
        return 1

    def warm_update(client, i, record):
        client.update_model_package(ModelPackageArn=reg.arns[warm_pending[i % len(warm_pending)]], ModelApprovalStatus=APPROVED)
        return 1

    def create(client, i, record):
        group = group_name(i % reg.groups)
        request = package_request(group, total + i, approved=False)
        response = timed(record, lambda: client.create_model_package(**request))
        if group not in response["ModelPackageArn"]:
            raise AssertionError(f"created {response['ModelPackageArn']!r} in group {group}")
        return 1

    def warm_create(client, i, record):
        client.create_model_package(**package_request(group_name(i % reg.groups), 10 * total + i, approved=False))
        return 1

    holder: list = []
    search_op = Operation("Search", "Search (group+Approved)", n_search, None, None)  # type: ignore[arg-type]
    holder.append(search_op)
    search_op.job = search_op.warm = search_job(holder)
    ops = [
        Operation("DescribeModelPackage", "Describe", n_describe, describe, describe),
        Operation("ListModelPackages+Group", f"List group (MaxResults={GROUP_PAGE})", n_list, list_group, list_group),
        Operation("ListModelPackages+GroupWalk", f"List group walk ({walk_pages}x{WALK_PAGE})", n_walk,
                  walk_group, walk_group),
        Operation("ListModelPackages+VersionedWalk", f"List versioned walk ({pages}x{ALL_PAGE})", n_all,
                  walk_all, walk_all),
        search_op,
        Operation("UpdateModelPackage", "Update (approve)", n_update, update, warm_update),
        Operation("CreateModelPackage", "Create (new version)", n_create, create, warm_create),
    ]
    if total < ALL_PAGE * pages:
        say(f"[yellow]{total} packages < {ALL_PAGE * pages}: skipping the all-versioned walk.[/]")
        ops = [op for op in ops if op.key != "ListModelPackages+VersionedWalk"]
    return [op for op in ops if op.jobs > 0]


def capped(job: Job, deadline: list[float]) -> Job:
    """``job``, except that after ``deadline[0]`` it makes no request and counts none."""

    def wrapped(client, i, record):
        if time.perf_counter() > deadline[0]:
            return 0
        return job(client, i, record)

    return wrapped


# --- preload --------------------------------------------------------------------------


def preload(server: Server, clients: list, reg: Registry, progress: Progress) -> tuple[Outcome, Outcome]:
    existing = clients[0].list_model_package_groups(MaxResults=1)["ModelPackageGroupSummaryList"]
    if existing:
        raise RuntimeError(f"{server.name}'s store already holds model package groups; benchmark an empty database.")

    def create_group(client, g, record):
        timed(record, lambda: client.create_model_package_group(
            ModelPackageGroupName=group_name(g), ModelPackageGroupDescription="churn models for one market"))
        return 1

    retried: list[str] = []
    total = reg.groups * reg.versions
    tenth = max(1, total // 10)
    done = [0]
    marks: list[float] = []  # perf_counter when each further tenth of the packages had been created
    lock = threading.Lock()

    def create_package(client, i, record):
        request = package_request(group_name(i % reg.groups), i, reg.approved[i])
        for attempt in range(1, PRELOAD_ATTEMPTS + 1):
            try:
                response = timed(record, lambda: client.create_model_package(**request))
                break
            except ClientError as exc:
                # An internal error: the registry must still be built, so try again
                # (counted and reported; the group's size is checked by the List runs).
                if exc.response["ResponseMetadata"].get("HTTPStatusCode", 0) < 500 or attempt == PRELOAD_ATTEMPTS:
                    raise
                retried.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01 * attempt * random.random())  # let the competing request finish
        reg.arns[i] = response["ModelPackageArn"]
        with lock:
            done[0] += 1
            if done[0] % tenth == 0:
                marks.append(time.perf_counter())
        return 1

    outcomes = []
    for label, jobs, job in (
        ("groups", reg.groups, create_group),
        ("packages", total, create_package),
    ):
        started = time.perf_counter()
        outcome = run_parallel(clients, jobs, job, progress=progress, label=f"preload {server.name} {label}")
        if outcome.errors:
            raise PreloadFailed(
                f"preloading {server.name} {label} failed {outcome.errors} times, e.g.:\n  " + "\n  ".join(outcome.error_samples)
                + f"\n{server.name}'s log ends with:\n{server.log_tail()}"
            )
        outcomes.append(outcome)
        console.print(f"{server.name}: preloaded {jobs:,} {label} in {outcome.wall:.1f} s ({jobs / outcome.wall:,.0f}/s)")
    if retried:
        console.print(f"[yellow]{server.name}: {len(retried)} preload create(s) answered a server error and were retried, "
                      f"e.g. {one_line(retried[0])}[/]")
        outcomes[1].error_samples[:] = retried[:3]
    outcomes[1].retried = len(retried)  # type: ignore[attr-defined]
    # Creates per second in each tenth of the preload: does the rate hold as the registry grows?
    edges = [started, *marks]
    outcomes[1].tenths = [round(tenth / (b - a), 1) for a, b in zip(edges, edges[1:]) if b > a]  # type: ignore[attr-defined]
    if len(outcomes[1].tenths) > 1:  # type: ignore[attr-defined]
        console.print(f"{server.name}: creates/s by tenth of the preload: "
                      + ", ".join(f"{r:,.0f}" for r in outcomes[1].tenths))  # type: ignore[attr-defined]
    return outcomes[0], outcomes[1]


# --- measuring one server -----------------------------------------------------------------


def measure(name: str, server: Server, clients: list, ops: list[Operation], op_seconds: float, progress: Progress) -> dict:
    stats: dict = {}
    for op in ops:
        warm = run_parallel(clients, len(clients), lambda client, i, record: op.warm(client, i % op.jobs, record))
        op.unsorted.clear()  # count the measured answers only
        entry: dict
        unsupported = warm.errors == len(clients) and all(s.startswith("ClientError") for s in warm.error_samples)
        if unsupported and name == "moto":
            # The peer answers every warm-up with an AWS error: it does not implement this as asked.
            console.print(f"[yellow]moto: {op.label} is not supported ({warm.error_samples[0]}); reporting n/a.[/]")
            stats[op.key] = {"supported": False, "error_samples": warm.error_samples}
            continue
        if warm.errors:
            console.print(f"[red]{name} {op.label} warm-up errors:[/] {'; '.join(one_line(e) for e in warm.error_samples)}")
        deadline = [time.perf_counter() + op_seconds]
        outcome = run_parallel(clients, op.jobs, capped(op.job, deadline), progress=progress, label=f"{name} {op.label}")
        entry = summarize(outcome)
        entry.update(supported=True, warmup_errors=warm.errors, capped=time.perf_counter() > deadline[0])
        if op.key == "Search":
            entry["unsorted_answers"] = len(op.unsorted)
        stats[op.key] = entry
        if entry["capped"]:
            console.print(f"[yellow]{name} {op.label}: stopped after --op-seconds {op_seconds:.0f} "
                          f"({outcome.requests:,} requests made)[/]")
    return stats


# --- report ----------------------------------------------------------------------------------


def render(results: dict, servers: list[str]) -> Table:
    both = len(servers) == 2
    table = Table(title=f"Model Registry API: {results['groups']:,} groups x {results['versions']} versions "
                        f"= {results['packages']:,} packages stored, {results['concurrency']} client threads")
    table.add_column("operation", no_wrap=True)
    for name in servers:
        table.add_column(f"{name} rps", justify="right")
    if both:
        table.add_column("ratio", justify="right")
    for name in servers:
        table.add_column(f"{name} p50/p99 ms", justify="right", no_wrap=True)
    if both:
        table.add_column("p99 ratio", justify="right")
    table.add_column("requests", justify="right", no_wrap=True)
    table.add_column("errors", justify="right")

    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    rows = [{"label": f"preload: {label}", **{n.lower(): results["preload"][n.lower()][key] for n in servers},
             **({"rps_ratio": results["preload"]["ratios"][key]["rps_ratio"],
                 "p99_ratio": results["preload"]["ratios"][key]["p99_ratio"]} if both else {})}
            for key, label in (("groups", "CreateGroup"), ("packages", "CreatePackage"))]
    for i, op in enumerate(rows + results["operations"]):
        if i == len(rows):
            table.add_section()
        stats = [op[name.lower()] for name in servers]
        row = [op["label"]]
        row += [fmt(s["rps"], ",.0f") if s.get("supported", True) else "n/a" for s in stats]
        if both:
            row.append("n/a" if op.get("rps_ratio") is None else fmt(op["rps_ratio"], ".2f") + "×")
        row += [f"{fmt(s['p50_ms'], '.1f')}/{fmt(s['p99_ms'], '.1f')}" if s.get("supported", True) else "n/a"
                for s in stats]
        if both:
            row.append("n/a" if op.get("p99_ratio") is None else fmt(op["p99_ratio"], ".2f") + "×")
        row.append("/".join(
            (f"{s['requests']:,}" + ("*" if s.get("capped") else "")) if s.get("supported", True) else "-" for s in stats))
        errors = "/".join(str(s.get("errors", 0) + s.get("warmup_errors", 0)) for s in stats)
        row.append(f"[bold red]{errors}[/]" if any(s.get("errors") or s.get("warmup_errors") for s in stats) else errors)
        table.add_row(*row)
    any_capped = any(op[n.lower()].get("capped") for op in results["operations"] for n in servers)
    caption = ["* stopped after --op-seconds"] if any_capped else []
    caption += [f"n/a preload: {n} was started with the registry seeded in memory" for n in servers
                if results["preload"][n.lower()]["packages"].get("seeded_in_memory")]
    if both:
        caption.insert(0, "ratio = Charter rps / moto rps; p99 ratio = moto p99 / Charter p99; > 1 means Charter faster")
    table.caption = "; ".join(caption)
    return table


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--groups", type=int, default=1000, help="model package groups preloaded (default 1000)")
    parser.add_argument("--versions", type=int, default=100, help="versions preloaded per group (default 100)")
    parser.add_argument("--requests-scale", type=float, default=1.0, help="multiply the request counts (0.1 for a smoke run)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads, one boto3 client each (default 8)")
    parser.add_argument("--pages", type=int, default=5, help="pages of 100 per all-versioned NextToken walk (default 5)")
    parser.add_argument("--op-seconds", type=float, default=60.0,
                        help="stop issuing an operation's requests after this long (default 60)")
    parser.add_argument("--database-url", help="CHARTER_DATABASE_URL for Charter, e.g. postgresql://... (must be empty)")
    parser.add_argument("--only", choices=["charter", "moto"], help="benchmark one server only")
    parser.add_argument("--moto-preload", choices=["seeded", "api"], default="seeded",
                        help="seeded (default): moto starts with the registry built in its own memory "
                             "(benchmarks/moto_seeded.py), since building it through moto's API is O(n^2); "
                             "api: preload moto through the API like Charter")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the picked packages and groups")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    args = parser.parse_args(argv)
    if min(args.groups, args.versions, args.concurrency) < 1 or args.pages < 2 or args.requests_scale <= 0 \
            or args.op_seconds <= 0:
        parser.error("--groups, --versions, --concurrency must be >= 1, --pages >= 2, --requests-scale and --op-seconds > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = ["Charter", "moto"] if args.only is None else [{"charter": "Charter", "moto": "moto"}[args.only]]
    # The operations' names and order (each server gets its own, bound to its own ARNs).
    ops = operations(Registry.plan(args.groups, args.versions), args.requests_scale, args.pages, args.seed)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="charter-bench-registry-"))
    servers: dict[str, Server] = {}
    seeded: dict[str, list[str]] = {}  # server name -> package ARNs it was started with
    per_server: dict[str, dict] = {}
    began = time.perf_counter()
    load_before = os.getloadavg()
    try:
        for name in names:
            if name == "Charter":
                with console.status(f"starting {name}…"):
                    servers[name] = start_charter(workdir, args.database_url)
            elif args.moto_preload == "seeded":
                with console.status(f"starting {name} with {args.groups * args.versions:,} packages seeded in memory…"):
                    servers[name], seeded[name] = start_moto_seeded(workdir, args.groups, args.versions)
            else:
                with console.status(f"starting {name}…"):
                    servers[name] = start_moto(workdir)
            console.print(f"{name} is up on {servers[name].endpoint}")

        progress = Progress(
            TextColumn("{task.description:<48}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console,
        )
        with progress:
            for name, server in servers.items():
                clients = [make_client(server) for _ in range(args.concurrency)]
                reg = Registry.plan(args.groups, args.versions)
                try:
                    if name in seeded:
                        reg.arns[:] = seeded[name]
                        check_seeded(clients[0], reg)
                        per_server[name] = {"preload": {"groups": SEEDED, "packages": SEEDED}}
                    else:
                        groups_loaded, packages_loaded = preload(server, clients, reg, progress)
                        per_server[name] = {"preload": {
                            "groups": summarize(groups_loaded),
                            "packages": {**summarize(packages_loaded), "retried_after_5xx": packages_loaded.retried,
                                         "rps_by_tenth": packages_loaded.tenths}}}
                except PreloadFailed as exc:
                    # Keep what the other server measured; this one gets "n/a" throughout.
                    console.print(f"[bold red]{name}: {exc}[/]")
                    per_server[name] = {"failed": str(exc)}
                    server.stop()
                    continue
                # The same seed picks the same packages on both servers (by preload index).
                server_ops = operations(reg, args.requests_scale, args.pages, args.seed, quiet=True)
                per_server[name]["operations"] = measure(name, server, clients, server_ops, args.op_seconds, progress)
                server.stop()  # so it does not compete for CPU with the next one
                # Written after each server, so a long run that fails later keeps what it measured.
                write(assemble(args, names, per_server, ops, began, load_before), args.output)
    except KeyboardInterrupt:
        harness.STOP.set()
        console.print("[yellow]interrupted; stopping servers[/]")
        return 130
    except harness.Interrupted:
        return 130
    finally:
        harness.STOP.set()
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    results = assemble(args, names, per_server, ops, began, load_before)
    console.print(render(results, names))
    write(results, args.output)
    console.print(f"results written to {args.output} ({results['elapsed_s']:.0f} s in all)")
    return report_notes(results, names)


NOT_MEASURED = {"supported": False, "requests": 0, "errors": 0, "rps": None, "p50_ms": None, "p99_ms": None}
# A preload step that did not go through the API (moto seeded in memory): nothing to compare.
SEEDED = {**NOT_MEASURED, "seeded_in_memory": True}


def start_moto_seeded(workdir: Path, groups: int, versions: int) -> tuple[Server, list[str]]:
    """moto_server started by benchmarks/moto_seeded.py, holding the planned registry; and its package ARNs."""
    port = harness.free_port()
    arns_path = workdir / "moto-arns.json"
    log_path = workdir / "moto.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("moto_seeded.py")), "--port", str(port),
             "--groups", str(groups), "--versions", str(versions), "--arns", str(arns_path)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server("moto", f"http://127.0.0.1:{port}", harness.MOTO_KEY, harness.MOTO_SECRET, process, log_path)
    # Seeding runs before the server listens: about 1 s per 2,000 packages here.
    harness._wait_until_up(server, "/moto-api/", timeout=120 + groups * versions / 500)
    return server, json.loads(arns_path.read_text())


def check_seeded(client, reg: Registry) -> None:
    """The seeded server answers for the planned registry: the last package of the first group is there."""
    last = reg.arns[(reg.versions - 1) * reg.groups]
    found = client.describe_model_package(ModelPackageName=last)
    if found.get("ModelPackageVersion") != reg.versions:
        raise PreloadFailed(f"seeded moto answered version {found.get('ModelPackageVersion')} for {last}, "
                            f"expected {reg.versions}")


def assemble(args: argparse.Namespace, names: list[str], per_server: dict, ops: list[Operation],
             began: float, load_before: tuple) -> dict:
    """The JSON results from what has been measured so far; a server not (yet) measured reads "n/a"."""
    def stats(name: str) -> dict:
        return per_server.get(name) or {"failed": "not measured"}

    results: dict = {
        "benchmark": "registry",
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - began, 1),
        "groups": args.groups,
        "versions": args.versions,
        "packages": args.groups * args.versions,
        "requests_scale": args.requests_scale,
        "concurrency": args.concurrency,
        "pages": args.pages,
        "op_seconds": args.op_seconds,
        "seed": args.seed,
        "charter_database": redact(args.database_url) or "sqlite (default, in a temporary CHARTER_HOME)",
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "loadavg_1m_before": round(load_before[0], 2), "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "versions_of": {pkg: harness._version(pkg) for pkg in ("charter", "moto", "boto3", "botocore")},
        "failed": {name.lower(): stats(name)["failed"] for name in names if "failed" in stats(name)},
        "preload": {},
        "operations": [],
    }
    for name in names:
        loaded = stats(name).get("preload") or {"groups": NOT_MEASURED, "packages": NOT_MEASURED}
        results["preload"][name.lower()] = loaded
    both = len(names) == 2
    if both:
        c, m = results["preload"]["charter"], results["preload"]["moto"]
        results["preload"]["ratios"] = {
            key: {"rps_ratio": ratio(c[key]["rps"], m[key]["rps"]), "p99_ratio": ratio(m[key]["p99_ms"], c[key]["p99_ms"])}
            for key in ("groups", "packages")
        }
    for op in ops:
        entry: dict = {"operation": op.key, "label": op.label}
        for name in names:
            entry[name.lower()] = stats(name).get("operations", {}).get(op.key, NOT_MEASURED)
        if both:
            c, m = entry["charter"], entry["moto"]
            measured = c.get("supported", True) and m.get("supported", True)
            entry["rps_ratio"] = ratio(c["rps"], m["rps"]) if measured else None
            entry["p50_ratio"] = ratio(m["p50_ms"], c["p50_ms"]) if measured else None
            entry["p99_ratio"] = ratio(m["p99_ms"], c["p99_ms"]) if measured else None
        results["operations"].append(entry)
    return results


def write(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")


def one_line(sample: str, limit: int = 240) -> str:
    """An error sample on one line (moto's 500s carry an HTML page)."""
    return " ".join(sample.split())[:limit]


def report_notes(results: dict, names: list[str]) -> int:
    """Print what the table cannot say; the exit status: 1 when Charter failed anything."""
    for name in names:
        preloaded = results["preload"][name.lower()]["packages"]
        if preloaded.get("retried_after_5xx"):
            console.print(f"[yellow]note: {name} answered {preloaded['retried_after_5xx']} preload create(s) with a "
                          f"server error; they were retried. e.g. {one_line(preloaded['error_samples'][0])}[/]")
    for entry in results["operations"]:
        for name in names:
            if entry[name.lower()].get("unsorted_answers"):
                console.print(f"[yellow]note: {name} returned {entry[name.lower()]['unsorted_answers']} "
                              f"{entry['label']} answers not sorted by CreationTime descending[/]")
    errors = {name: 0 for name in names}
    for name in names:
        for entry in results["operations"]:
            errors[name] += entry[name.lower()].get("errors", 0) + entry[name.lower()].get("warmup_errors", 0)
        failed = results["failed"].get(name.lower())
        # Charter's failures fail the run; the peer's are reported (moto is the yardstick, not the subject).
        style, lead = ("bold red", "FAILED: ") if name == "Charter" else ("yellow", "note: ")
        if failed:
            console.print(f"[{style}]{lead}{name} was not measured: {one_line(failed, 600)}[/]")
        if errors[name]:
            console.print(f"[{style}]{lead}{errors[name]} {name} request(s) failed[/]")
            for entry in results["operations"]:
                stats = entry[name.lower()]
                if stats.get("supported", True):
                    for sample in stats.get("error_samples", []):
                        console.print(f"  {name} {entry['label']}: {one_line(sample)}")
    return 1 if errors.get("Charter") or results["failed"].get("charter") else 0


if __name__ == "__main__":
    sys.exit(main())
