"""S3 benchmark: Charter's S3 face versus moto_server's S3, in one run.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/s3.py                 # 1 KiB, 1 MiB and 1 GiB objects; 100,000-key listing
    .venv/bin/python benchmarks/s3.py --quick         # 1 KiB, 1 MiB, 64 MiB; 5,000 keys (~1 min)

Method
------
1. Start both servers on free loopback ports with fresh stores (Charter on
   SQLite in a temporary CHARTER_HOME, moto in memory), as ``api.py`` does.
2. For each object size: PUT ``n`` objects with ``put_object`` (bodies from a
   file on disk, so the client holds no copy), then GET each one and read its
   body in 1 MiB chunks to nowhere.  Small sizes run over ``--concurrency``
   client threads; objects of 64 MiB and more one at a time.  Each request's
   latency is what boto3 sees.  Throughput is bytes moved / wall time.
3. ListObjectsV2 over ``--list-keys`` keys in one bucket (loaded with empty
   objects beforehand, not measured): a walk of every page of 1,000, and
   listings of one "folder" with a Delimiter.
4. Memory: the server process's peak resident set (``VmHWM`` in
   ``/proc/<pid>/status``) after each phase, so memory that grows with object
   size shows; Charter's S3 face streams bodies in chunks of at most 1 MiB.
5. The largest GET is compared with reading the same bytes from a local file
   (after a first read, so both come from the page cache).

Ratios are moto time / Charter time (or Charter rate / moto rate): above 1
means Charter is faster.  Both servers and the client threads share the
machine's CPUs; moto keeps objects in memory, so a like-for-like comparison
favours it on small objects.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as harness  # noqa: E402
from api import Server, percentile, run_parallel, start_charter, start_moto  # noqa: E402

console = Console()
if not console.is_terminal:
    console = Console(width=150)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "s3.json"
CHUNK = 1 << 20
SIZES = {"1KiB": 1 << 10, "1MiB": 1 << 20, "64MiB": 64 << 20, "1GiB": 1 << 30}


def s3_client(server: Server):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=harness.REGION,
        aws_access_key_id=server.key,
        aws_secret_access_key=server.secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=600, s3={"addressing_style": "path"}),
    )


def peak_rss_mib(server: Server) -> float | None:
    try:
        for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _latency(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"p50_ms": percentile(ordered, 0.50) * 1000, "p99_ms": percentile(ordered, 0.99) * 1000}


def objects_phase(server: Server, body: Path, size: int, count: int, concurrency: int, progress: Progress) -> dict:
    clients = [s3_client(server) for _ in range(concurrency if size < (64 << 20) else 1)]
    bucket = f"bench-{size}"
    clients[0].create_bucket(Bucket=bucket)

    def put(client, i, record):
        with open(body, "rb") as handle:
            harness.timed(record, lambda: client.put_object(Bucket=bucket, Key=f"objects/{i:06d}", Body=handle))
        return 1

    def get(client, i, record):
        began = time.perf_counter()
        answer = client.get_object(Bucket=bucket, Key=f"objects/{i:06d}")
        got = sum(len(chunk) for chunk in answer["Body"].iter_chunks(CHUNK))
        record(time.perf_counter() - began)
        if got != size:
            raise RuntimeError(f"GET returned {got} bytes, not {size}")
        return 1

    result = {}
    for name, job in (("put", put), ("get", get)):
        outcome = run_parallel(clients, count, job, progress=progress, label=f"{server.name} {name} {size} B x {count}")
        result[name] = {
            "requests": outcome.requests,
            "errors": outcome.errors,
            "error_samples": outcome.error_samples,
            "wall_s": outcome.wall,
            "mib_per_s": size * (outcome.requests - outcome.errors) / outcome.wall / CHUNK if outcome.wall else None,
            "req_per_s": outcome.requests / outcome.wall if outcome.wall else None,
            **_latency(outcome.latencies),
        }
    result["peak_rss_mib"] = peak_rss_mib(server)
    return result


def listing_phase(server: Server, keys: int, concurrency: int, progress: Progress) -> dict:
    clients = [s3_client(server) for _ in range(concurrency)]
    bucket = "bench-listing"
    clients[0].create_bucket(Bucket=bucket)
    folders = 100

    def load(client, i, record):
        client.put_object(Bucket=bucket, Key=f"folder-{i % folders:03d}/key-{i:07d}", Body=b"")
        return 1

    loaded = run_parallel(clients, keys, load, progress=progress, label=f"{server.name} loading {keys} keys")
    client = clients[0]
    began = time.perf_counter()
    seen = pages = 0
    token = None
    page_times = []
    while True:
        kwargs = {"Bucket": bucket, "MaxKeys": 1000, **({"ContinuationToken": token} if token else {})}
        page_began = time.perf_counter()
        answer = client.list_objects_v2(**kwargs)
        page_times.append(time.perf_counter() - page_began)
        seen += answer.get("KeyCount", 0)
        pages += 1
        if not answer.get("IsTruncated"):
            break
        token = answer["NextContinuationToken"]
    walk = time.perf_counter() - began
    folder_times = []
    for f in range(0, folders, max(1, folders // 20)):
        folder_began = time.perf_counter()
        client.list_objects_v2(Bucket=bucket, Prefix=f"folder-{f:03d}/", Delimiter="/", MaxKeys=1000)
        folder_times.append(time.perf_counter() - folder_began)
    return {
        "keys": keys,
        "load_errors": loaded.errors,
        "load_req_per_s": loaded.requests / loaded.wall if loaded.wall else None,
        "walk_s": walk,
        "walk_pages": pages,
        "walk_keys_seen": seen,
        **{f"page_{k}": v for k, v in _latency(page_times).items()},
        **{f"folder_{k}": v for k, v in _latency(folder_times).items()},
        "peak_rss_mib": peak_rss_mib(server),
    }


def disk_read_s(path: Path) -> float:
    for _ in range(2):  # the first read warms the page cache; the second is timed
        began = time.perf_counter()
        with open(path, "rb", buffering=0) as handle:
            while handle.read(CHUNK):
                pass
        elapsed = time.perf_counter() - began
    return elapsed


def _ratio(numerator, denominator) -> str:
    if not numerator or not denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def render(results: dict) -> Table:
    table = Table(title="S3: Charter vs moto_server (ratio > 1: Charter faster)")
    for column in ("task", "Charter", "moto", "ratio", "Charter p99 ms", "moto p99 ms", "Charter peak RSS MiB", "moto peak RSS MiB"):
        table.add_column(column, justify="left" if column == "task" else "right")
    charter, moto = results.get("Charter", {}), results.get("moto", {})
    for size in results["sizes"]:
        rate, unit = ("req_per_s", "req/s") if SIZES[size] < CHUNK else ("mib_per_s", "MiB/s")
        for op in ("put", "get"):
            c = charter.get(size, {}).get(op, {})
            m = moto.get(size, {}).get(op, {})
            table.add_row(
                f"{op.upper()} {size} ({unit})",
                f"{c.get(rate) or 0:.1f}" if c else "n/a",
                f"{m.get(rate) or 0:.1f}" if m else "n/a",
                _ratio(c.get(rate), m.get(rate)),
                f"{c.get('p99_ms', 0):.1f}" if c else "n/a",
                f"{m.get('p99_ms', 0):.1f}" if m else "n/a",
                f"{charter.get(size, {}).get('peak_rss_mib') or 0:.0f}" if c else "n/a",
                f"{moto.get(size, {}).get('peak_rss_mib') or 0:.0f}" if m else "n/a",
            )
    c, m = charter.get("listing", {}), moto.get("listing", {})
    if c or m:
        table.add_row(
            f"ListObjectsV2 walk of {results['list_keys']:,} keys (s)",
            f"{c.get('walk_s', 0):.2f}" if c else "n/a",
            f"{m.get('walk_s', 0):.2f}" if m else "n/a",
            _ratio(m.get("walk_s"), c.get("walk_s")),
            f"{c.get('page_p99_ms', 0):.1f}" if c else "n/a",
            f"{m.get('page_p99_ms', 0):.1f}" if m else "n/a",
            f"{c.get('peak_rss_mib') or 0:.0f}" if c else "n/a",
            f"{m.get('peak_rss_mib') or 0:.0f}" if m else "n/a",
        )
        table.add_row(
            "ListObjectsV2 one folder, Delimiter (p50 ms)",
            f"{c.get('folder_p50_ms', 0):.1f}" if c else "n/a",
            f"{m.get('folder_p50_ms', 0):.1f}" if m else "n/a",
            _ratio(m.get("folder_p50_ms"), c.get("folder_p50_ms")),
            f"{c.get('folder_p99_ms', 0):.1f}" if c else "n/a",
            f"{m.get('folder_p99_ms', 0):.1f}" if m else "n/a",
            "", "",
        )
    return table


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 KiB, 1 MiB and 64 MiB objects; 5,000 listed keys")
    parser.add_argument("--sizes", help="comma-separated, from " + ", ".join(SIZES))
    parser.add_argument("--requests", type=int, default=None, help="objects per size (default: by size)")
    parser.add_argument("--list-keys", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--only", choices=["charter", "moto"])
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = (args.sizes.split(",") if args.sizes else (["1KiB", "1MiB", "64MiB"] if args.quick else ["1KiB", "1MiB", "1GiB"]))
    counts = {"1KiB": 500, "1MiB": 100, "64MiB": 4, "1GiB": 2}
    list_keys = args.list_keys or (5_000 if args.quick else 100_000)
    results: dict = {"sizes": sizes, "list_keys": list_keys, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                                       "load_average": os.getloadavg()}}
    failed = False
    with tempfile.TemporaryDirectory(prefix="charter-s3-bench-") as tmp:
        work = Path(tmp)
        bodies = {}
        for size in sizes:
            path = work / f"body-{size}"
            with open(path, "wb") as handle:
                remaining = SIZES[size]
                block = os.urandom(min(CHUNK, remaining))
                while remaining:
                    handle.write(block[:remaining])
                    remaining -= min(len(block), remaining)
            bodies[size] = path
        starters = [("Charter", lambda: start_charter(work / "c", None)), ("moto", lambda: start_moto(work / "m"))]
        for name, start in starters:
            if args.only and args.only != name.lower():
                continue
            (work / ("c" if name == "Charter" else "m")).mkdir()
            server = start()
            try:
                with Progress(console=console, transient=True) as progress:
                    mine = results.setdefault(name, {})
                    for size in sizes:
                        count = args.requests or counts[size]
                        mine[size] = objects_phase(server, bodies[size], SIZES[size], count, args.concurrency, progress)
                        if name == "Charter" and any(mine[size][op]["errors"] for op in ("put", "get")):
                            failed = True
                    mine["listing"] = listing_phase(server, list_keys, max(args.concurrency, 8), progress)
            finally:
                server.stop()
        largest = sizes[-1]
        results["disk_read_s"] = {largest: disk_read_s(bodies[largest])}
    console.print(render(results))
    charter_get = results.get("Charter", {}).get(largest, {}).get("get", {})
    if charter_get.get("mib_per_s"):
        charter_s = SIZES[largest] / CHUNK / charter_get["mib_per_s"]
        disk = results["disk_read_s"][largest]
        results["get_vs_disk"] = charter_s / disk
        console.print(f"GET of {largest} through Charter: {charter_s:.2f} s per object; reading the file from disk: "
                      f"{disk:.2f} s ({charter_s / disk:.2f}x the disk read; the aim is within 2x)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    console.print(f"results: {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
