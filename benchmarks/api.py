"""API benchmark: Charter versus moto_server on the model-package-group operations.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/api.py                        # full run, ~10,000 groups
    .venv/bin/python benchmarks/api.py --groups 500 --requests-scale 0.1   # smoke run

Method
------
1. Start both servers on free loopback ports, each with a fresh, empty store:
   Charter (``python -m charter.cli.main server``, temporary CHARTER_HOME,
   SQLite by default or ``--database-url``) and ``moto_server`` (moto[server],
   in-memory; it accepts any keys).
2. Preload ``--groups`` model package groups into each with a pool of
   ``--concurrency`` threads, one boto3 client per thread (Rich progress bar).
3. For each operation, in this order, run a fixed number of requests spread
   over the same threads and clients:

   - DescribeModelPackageGroup of random existing names (5,000);
   - ListModelPackageGroups, MaxResults=100, first page (500);
   - ListModelPackageGroups, MaxResults=100, NameContains matching ~100 groups
     picked at random per request (500);
   - ListModelPackageGroups walking ``--pages`` pages of 100 with NextToken
     (100 walks; every page is one request);
   - CreateModelPackageGroup of new names (2,000).

   Reads run first so they see exactly ``--groups`` groups; the creates run
   last, on top of them. Counts are multiplied by ``--requests-scale``. Each
   operation is preceded by one unmeasured warm-up request per client.
4. Latency is each request's ``time.perf_counter`` duration as boto3 sees it
   (signing, HTTP, parsing included); the rate is requests / wall time from the
   moment all threads are released until the last one finishes. We report
   p50/p99 and the ratios Charter/moto for the rate and moto/Charter for p99,
   so a ratio above 1 always means Charter was faster.
5. Print a Rich table, write benchmarks/results/api.json, stop both servers
   (also on Ctrl-C, SIGTERM or an exception).

botocore retries are disabled (``max_attempts=1``) so that no error is
hidden behind a retry; errors are counted per operation and the run exits
with status 1 if there were any (after printing and writing what it has).

Caveats
-------
- Everything shares one machine: the client threads, Charter and moto compete
  for the same CPU cores (two on the reference machine). boto3's own
  signing/parsing cost is part of every latency and is the same for both
  servers, so it compresses ratios towards 1; both servers suffer equally.
- The servers are not doing the same work. Charter verifies every SigV4
  signature against its keyring, authorises the call, writes an audit record
  and commits each write to a durable database; moto skips authentication and
  keeps everything in a Python dict. The comparison says how far Charter's
  extra guarantees cost relative to a popular in-memory fake, not that the two
  are equivalent.
- Python's GIL limits how much load N client threads can generate; the
  numbers are for this client, not a server's absolute capacity.
- Only one run is made; repeat it for confidence, and compare runs only when
  they come from the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import boto3
from botocore.config import Config
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "api.json"
REGION = "us-east-1"
CHARTER_KEY = "AKIACHARTERBENCHMARK"
CHARTER_SECRET = "charter-benchmark-secret-0123456789abcdef"
MOTO_KEY, MOTO_SECRET = "testing", "testing"
PAGE = 100

console = Console()
if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
    console = Console(width=120)


# --- servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    endpoint: str
    key: str
    secret: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_until_up(server: Server, path: str, timeout: float = 60.0) -> None:
    """Poll ``path`` until the server answers; any HTTP status counts unless ``path`` is /health."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with status {server.process.returncode} while starting:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.endpoint + path, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError:
            if path != "/health":
                return
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer on {server.endpoint}{path} within {timeout:.0f} s:\n{server.log_tail()}")


def start_charter(workdir: Path, database_url: str | None) -> Server:
    home = workdir / "charter-home"
    home.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "CHARTER_HOME": str(home),
        "CHARTER_PORT": str(port),
        "CHARTER_ROOT_ACCESS_KEY_ID": CHARTER_KEY,
        "CHARTER_ROOT_SECRET_ACCESS_KEY": CHARTER_SECRET,
    }
    env.pop("CHARTER_DATABASE_URL", None)
    if database_url:
        env["CHARTER_DATABASE_URL"] = database_url
    log_path = workdir / "charter.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "charter.cli.main", "server", "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the server ourselves
        )
    server = Server("Charter", f"http://127.0.0.1:{port}", CHARTER_KEY, CHARTER_SECRET, process, log_path)
    _wait_until_up(server, "/health")
    return server


def start_moto(workdir: Path) -> Server:
    executable = Path(sys.executable).with_name("moto_server")
    if not executable.exists():
        executable = Path(shutil.which("moto_server") or "moto_server")
    port = free_port()
    log_path = workdir / "moto.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server("moto", f"http://127.0.0.1:{port}", MOTO_KEY, MOTO_SECRET, process, log_path)
    _wait_until_up(server, "/moto-api/")
    return server


def make_client(server: Server):
    # A session per client: boto3's default session is not safe to share across threads.
    return boto3.session.Session().client(
        "sagemaker",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=server.key,
        aws_secret_access_key=server.secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=120),
    )


# --- load generation ----------------------------------------------------------


@dataclass
class Outcome:
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    wall: float = 0.0


class Interrupted(Exception):
    pass


STOP = threading.Event()


def run_parallel(
    clients: list,
    jobs: int,
    job: Callable[[object, int, Callable[[float], None]], int],
    *,
    progress: Progress | None = None,
    label: str = "",
) -> Outcome:
    """Run ``job(client, i, record)`` for i in range(jobs) over one thread per client.

    ``job`` times its own requests with ``record(seconds)`` and returns how many
    requests it made (a paged walk makes several). Exceptions count as one error.
    """
    outcome = Outcome()
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)
    task = progress.add_task(label, total=jobs) if progress else None

    def worker(index: int) -> None:
        client = clients[index]
        latencies: list[float] = []
        requests = errors = 0
        samples: list[str] = []
        start.wait()
        for i in range(index, jobs, len(clients)):
            if STOP.is_set():
                break
            try:
                requests += job(client, i, latencies.append)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                requests += 1
                errors += 1
                if len(samples) < 3:
                    samples.append(f"{type(exc).__name__}: {exc}")
            if progress is not None:
                progress.advance(task)
        with lock:
            outcome.latencies.extend(latencies)
            outcome.requests += requests
            outcome.errors += errors
            outcome.error_samples.extend(samples[: max(0, 5 - len(outcome.error_samples))])

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        while thread.is_alive():  # join with a timeout so Ctrl-C reaches the main thread
            thread.join(0.2)
    outcome.wall = time.perf_counter() - began
    if progress is not None:
        progress.remove_task(task)
    if STOP.is_set():
        raise Interrupted()
    return outcome


def timed(record: Callable[[float], None], call: Callable[[], dict]) -> dict:
    began = time.perf_counter()
    response = call()
    record(time.perf_counter() - began)
    return response


def group_name(i: int) -> str:
    return f"bench-{i:06d}"


@dataclass
class Operation:
    key: str
    label: str
    jobs: int
    job: Callable[[object, int, Callable[[float], None]], int]


def operations(groups: int, scale: float, pages: int, seed: int) -> list[Operation]:
    rng = random.Random(seed)
    n_describe = max(1, round(5000 * scale))
    n_list = max(1, round(500 * scale))
    n_walks = max(1, round(500 * scale / pages))
    n_create = max(1, round(2000 * scale))
    describe_names = [group_name(rng.randrange(groups)) for _ in range(n_describe)]
    # "bench-" plus the first four of six digits: matches (up to) 100 groups.
    filters = [group_name(rng.randrange(groups))[:10] for _ in range(n_list)]

    def describe(client, i, record):
        response = timed(record, lambda: client.describe_model_package_group(ModelPackageGroupName=describe_names[i]))
        if response["ModelPackageGroupName"] != describe_names[i]:
            raise AssertionError(f"described {response['ModelPackageGroupName']!r}, asked {describe_names[i]!r}")
        return 1

    def list_first(client, i, record):
        response = timed(record, lambda: client.list_model_package_groups(MaxResults=PAGE))
        got = len(response["ModelPackageGroupSummaryList"])
        if got != min(PAGE, groups):
            raise AssertionError(f"first page held {got} groups, expected {min(PAGE, groups)}")
        return 1

    def list_filtered(client, i, record):
        response = timed(record, lambda: client.list_model_package_groups(MaxResults=PAGE, NameContains=filters[i]))
        names = [g["ModelPackageGroupName"] for g in response["ModelPackageGroupSummaryList"]]
        if not names or any(filters[i] not in name for name in names):
            raise AssertionError(f"NameContains={filters[i]!r} returned {len(names)} groups, some not matching")
        return 1

    def list_walk(client, i, record):
        token = None
        for page in range(pages):
            kwargs = {"MaxResults": PAGE, **({"NextToken": token} if token else {})}
            response = timed(record, lambda: client.list_model_package_groups(**kwargs))
            if len(response["ModelPackageGroupSummaryList"]) != PAGE:
                raise AssertionError(f"page {page + 1} held {len(response['ModelPackageGroupSummaryList'])} groups")
            token = response.get("NextToken")
            if not token and page < pages - 1:
                raise AssertionError(f"no NextToken after page {page + 1}")
        return pages

    def create(client, i, record):
        name = f"bench-new-{i:06d}"
        timed(record, lambda: client.create_model_package_group(
            ModelPackageGroupName=name, ModelPackageGroupDescription="benchmark group"))
        return 1

    ops = [
        Operation("DescribeModelPackageGroup", "Describe", n_describe, describe),
        Operation("ListModelPackageGroups", "List (MaxResults=100)", n_list, list_first),
        Operation("ListModelPackageGroups+NameContains", "List NameContains", n_list, list_filtered),
        Operation("ListModelPackageGroups+NextToken", f"List {pages} pages (NextToken)", n_walks, list_walk),
        Operation("CreateModelPackageGroup", "Create", n_create, create),
    ]
    if groups < PAGE * pages:
        console.print(f"[yellow]--groups {groups} < {PAGE * pages}: skipping the {pages}-page walk.[/]")
        ops = [op for op in ops if op.key != "ListModelPackageGroups+NextToken"]
    return ops


def warm_up(op: Operation) -> Callable[[object, int, Callable[[float], None]], int]:
    """The job for one unmeasured request per client before ``op`` is measured."""

    def job(client, i, record):
        if op.key == "CreateModelPackageGroup":  # names of its own, so the measured creates stay new
            client.create_model_package_group(ModelPackageGroupName=f"bench-warm-{i:03d}")
            return 1
        return op.job(client, i % op.jobs, record)

    return job


# --- statistics and report ----------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * q
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(outcome: Outcome) -> dict:
    values = sorted(outcome.latencies)
    ms = lambda seconds: round(seconds * 1000, 3)  # noqa: E731
    return {
        "requests": outcome.requests,
        "errors": outcome.errors,
        "error_samples": outcome.error_samples,
        "wall_s": round(outcome.wall, 3),
        "rps": round(outcome.requests / outcome.wall, 1) if outcome.wall else None,
        "mean_ms": ms(sum(values) / len(values)) if values else None,
        "p50_ms": ms(percentile(values, 0.50)),
        "p90_ms": ms(percentile(values, 0.90)),
        "p99_ms": ms(percentile(values, 0.99)),
        "max_ms": ms(values[-1]) if values else None,
    }


def ratio(numerator, denominator):
    return round(numerator / denominator, 2) if numerator and denominator else None


def render(results: dict, servers: list[str]) -> Table:
    both = len(servers) == 2
    table = Table(title=f"ModelPackageGroup API: {results['groups']:,} groups stored, {results['concurrency']} client threads")
    table.add_column("operation", no_wrap=True)
    for name in servers:
        table.add_column(f"{name} rps", justify="right")
    if both:
        table.add_column("ratio", justify="right")
    for name in servers:
        table.add_column(f"{name} p50/p99 ms", justify="right")
    if both:
        table.add_column("p99 ratio", justify="right")
    table.add_column("errors", justify="right")

    fmt = lambda x, spec: "-" if x is None else format(x, spec)  # noqa: E731
    for op in results["operations"]:
        row = [op["label"]]
        stats = [op[name.lower()] for name in servers]
        row += [fmt(s["rps"], ",.0f") for s in stats]
        if both:
            row.append(fmt(op["rps_ratio"], ".2f") + "×")
        row += [f"{fmt(s['p50_ms'], '.1f')} / {fmt(s['p99_ms'], '.1f')}" for s in stats]
        if both:
            row.append(fmt(op["p99_ratio"], ".2f") + "×")
        errors = " / ".join(str(s["errors"]) for s in stats)
        row.append(f"[bold red]{errors}[/]" if any(s["errors"] for s in stats) else errors)
        table.add_row(*row)
    if both:
        table.caption = "ratio = Charter rps / moto rps; p99 ratio = moto p99 / Charter p99; > 1 means Charter faster"
    return table


def redact(url: str | None) -> str | None:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url) if url else url


# --- main ---------------------------------------------------------------------


def preload(server: Server, clients: list, groups: int, progress: Progress) -> Outcome:
    existing = clients[0].list_model_package_groups(MaxResults=1)["ModelPackageGroupSummaryList"]
    if existing:
        raise RuntimeError(f"{server.name}'s store already holds model package groups; benchmark an empty database.")

    def create(client, i, record):
        timed(record, lambda: client.create_model_package_group(
            ModelPackageGroupName=group_name(i), ModelPackageGroupDescription="benchmark group"))
        return 1

    outcome = run_parallel(clients, groups, create, progress=progress, label=f"preload {server.name}")
    if outcome.errors:
        raise RuntimeError(
            f"preloading {server.name} failed {outcome.errors} times, e.g.:\n  " + "\n  ".join(outcome.error_samples)
        )
    return outcome


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--groups", type=int, default=10_000, help="groups stored before measuring (default 10000)")
    parser.add_argument("--requests-scale", type=float, default=1.0, help="multiply the request counts (0.1 for a smoke run)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads, one boto3 client each (default 8)")
    parser.add_argument("--pages", type=int, default=5, help="pages per NextToken walk (default 5)")
    parser.add_argument("--database-url", help="CHARTER_DATABASE_URL for Charter, e.g. postgresql://... (must be empty)")
    parser.add_argument("--only", choices=["charter", "moto"], help="benchmark one server only")
    parser.add_argument("--seed", type=int, default=1, help="random seed for names and filters")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    args = parser.parse_args(argv)
    if args.groups < 1 or args.concurrency < 1 or args.pages < 2 or args.requests_scale <= 0:
        parser.error("--groups, --concurrency must be >= 1, --pages >= 2, --requests-scale > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = ["Charter", "moto"] if args.only is None else [{"charter": "Charter", "moto": "moto"}[args.only]]
    ops = operations(args.groups, args.requests_scale, args.pages, args.seed)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (cmd &)
    workdir = Path(tempfile.mkdtemp(prefix="charter-bench-"))
    servers: dict[str, Server] = {}
    per_server: dict[str, dict] = {}
    began = time.perf_counter()
    load_before = os.getloadavg()  # other work on the machine skews everything; record it
    try:
        for name in names:
            with console.status(f"starting {name}…"):
                servers[name] = start_charter(workdir, args.database_url) if name == "Charter" else start_moto(workdir)
            console.print(f"{name} is up on {servers[name].endpoint}")

        progress = Progress(
            TextColumn("{task.description:<44}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console,
        )
        with progress:
            for name, server in servers.items():
                clients = [make_client(server) for _ in range(args.concurrency)]
                loaded = preload(server, clients, args.groups, progress)
                stats = {"preload": summarize(loaded), "operations": {}}
                console.print(f"{name}: preloaded {args.groups:,} groups in {loaded.wall:.1f} s "
                              f"({args.groups / loaded.wall:,.0f}/s)")
                for op in ops:
                    # One unmeasured request per client: connections, caches, first-call paths.
                    warm = run_parallel(clients, len(clients), warm_up(op))
                    if warm.errors:
                        console.print(f"[red]{name} {op.label} warm-up errors:[/] {warm.error_samples}")
                    outcome = run_parallel(clients, op.jobs, op.job, progress=progress, label=f"{name} {op.label}")
                    stats["operations"][op.key] = summarize(outcome)
                    stats["operations"][op.key]["warmup_errors"] = warm.errors
                per_server[name] = stats
                # Stop the finished server now so it does not compete for CPU with the next one.
                server.stop()
    except KeyboardInterrupt:
        STOP.set()
        console.print("[yellow]interrupted; stopping servers[/]")
        return 130
    except Interrupted:
        return 130
    finally:
        STOP.set()
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    results = {
        "benchmark": "api",
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - began, 1),
        "groups": args.groups,
        "requests_scale": args.requests_scale,
        "concurrency": args.concurrency,
        "pages": args.pages,
        "seed": args.seed,
        "charter_database": redact(args.database_url) or "sqlite (default, in a temporary CHARTER_HOME)",
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "loadavg_1m_before": round(load_before[0], 2), "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "versions": {pkg: _version(pkg) for pkg in ("charter", "moto", "boto3", "botocore")},
        "preload": {name.lower(): per_server[name]["preload"] for name in names},
        "operations": [],
    }
    total_errors = 0
    for op in ops:
        entry = {"operation": op.key, "label": op.label}
        for name in names:
            entry[name.lower()] = per_server[name]["operations"][op.key]
            total_errors += entry[name.lower()]["errors"] + entry[name.lower()]["warmup_errors"]
        if len(names) == 2:
            c, m = entry["charter"], entry["moto"]
            entry["rps_ratio"] = ratio(c["rps"], m["rps"])
            entry["p50_ratio"] = ratio(m["p50_ms"], c["p50_ms"])
            entry["p99_ratio"] = ratio(m["p99_ms"], c["p99_ms"])
        results["operations"].append(entry)

    console.print(render(results, names))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"results written to {args.output} ({results['elapsed_s']:.0f} s in all)")
    if total_errors:
        console.print(f"[bold red]FAILED: {total_errors} request(s) failed[/]")
        for entry in results["operations"]:
            for name in names:
                for sample in entry[name.lower()]["error_samples"]:
                    console.print(f"  {name} {entry['label']}: {sample}")
        return 1
    return 0


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
