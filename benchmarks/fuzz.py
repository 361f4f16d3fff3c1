"""The long fuzzing run: generated requests against every face of a fresh Charter, for minutes.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/fuzz.py --minutes 5
    .venv/bin/python benchmarks/fuzz.py --minutes 1 --faces sagemaker,logs --seed 7

Method
------
1. Start Charter on a free loopback port with a fresh CHARTER_HOME (SQLite, or
   ``--database-url``), as benchmarks/api.py does.
2. Find the faces the server loads and their implemented operations
   (tests/fuzzing/requests.py ``discover``: the SageMaker gateway and every
   ``faces/*.py``, in each protocol a face speaks); ``--faces`` keeps some.
3. Until ``--minutes`` are up, run batches of ``--batch`` hypothesis examples,
   each batch with its own seed (``--seed`` + batch number): shaped requests
   (valid, or invalid in one member) and requests broken on the wire, drawn
   as in tests/integration/test_fuzz.py, each sent over a fresh connection
   and judged by tests/fuzzing/oracle.py (a modelled 2xx or 4xx of the face's
   protocol within 5 s; a 4xx where the request was wrong; never a 5xx).
4. Then check the server is still up and consistent: every answered request
   has its audit row (an accepted write's at once) and every resource a List
   operation shows answers its Describe.
5. Print the requests tried, the answers by status, by face and by kind of
   request, and each distinct failure once (how often, the first request and
   its answer); write benchmarks/results/fuzz.json.  Exit status 1 when any
   failure was found.

Caveats
-------
- One client thread: the run measures robustness, not throughput (the rate
  printed is this client's, signing and hypothesis's drawing included).
- A fixed seed reproduces the draw, not the server's state: the requests of
  earlier batches leave resources behind that later answers depend on.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
import api as harness  # noqa: E402  (benchmarks/api.py: starting and stopping servers)
from fuzzing.oracle import all_codes, audit_gaps, unreadable_resources  # noqa: E402
from fuzzing.requests import Keys, discover  # noqa: E402
from fuzzing.run import Failure, Tally, cases, run  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "fuzz.json"


def signature(failure: Failure) -> str:
    """What makes two failures the same one: face, operation, kind of request, problem without its values."""
    problem = re.sub(r"'[^']*'|\d+(\.\d+)?", "_", failure.problem)[:90]
    return f"{failure.case.target.name} {failure.case.operation or '-'} {failure.case.kind}: {problem}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to send requests (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="the first batch's seed (default: random, printed)")
    parser.add_argument("--faces", default="", help="comma-separated services or signing names (default: every face)")
    parser.add_argument("--batch", type=int, default=300, help="hypothesis examples per batch (default 300)")
    parser.add_argument("--database-url", default=None, help="Charter's database (default: SQLite in a temp CHARTER_HOME)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(REPO)})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    targets = discover([f.strip() for f in args.faces.split(",") if f.strip()] or None)
    if not targets:
        console.print(f"no face matches --faces {args.faces!r}")
        return 2
    console.print(f"seed {seed}; faces: " + ", ".join(f"{t.name} ({len(t.operations)} operations)" for t in targets))
    workdir = Path(tempfile.mkdtemp(prefix="charter-fuzz-"))
    server = harness.start_charter(workdir, args.database_url)
    keys = Keys(server.key, server.secret)
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.minutes * 60
    batches = 0
    died = None
    try:
        strategy = cases(targets, server.endpoint, keys)
        codes = all_codes(discover(None))  # a request signed for a face not chosen is that face's to answer
        while time.monotonic() < deadline:
            run(targets, server.endpoint, keys, examples=args.batch, seed_value=seed + batches, tally=tally, strategy=strategy,
                codes=codes)
            batches += 1
            if server.process.poll() is not None:
                died = f"the server exited with status {server.process.returncode}:\n{server.log_tail()}"
                break
            elapsed = time.monotonic() - started
            console.print(f"  {elapsed:6.0f} s  {tally.tried:,} requests, {len(tally.failures)} failures")
        sending = time.monotonic() - started
        if died is None:
            with urllib.request.urlopen(f"{server.endpoint}/health", timeout=5) as health:
                alive = health.status == 200
            database_url = args.database_url or f"sqlite:///{workdir / 'charter-home' / 'charter.db'}"
            gaps = audit_gaps(database_url, tally.answers)
            unreadable = unreadable_resources(server.endpoint, server.key, server.secret, targets)
        else:
            alive, gaps, unreadable = False, [], []
    finally:
        server.stop()

    distinct: dict[str, list[Failure]] = {}
    for failure in tally.failures:
        distinct.setdefault(signature(failure), []).append(failure)
    console.print(render(tally, targets, sending))
    for name, found in distinct.items():  # plain print: a request is read more easily unwrapped
        print(f"\n{len(found)}x {name}\n{found[0].describe()}")
    for line in gaps[:20]:
        print(f"audit gap: {line}")
    for line in unreadable[:20]:
        print(f"unreadable: {line}")
    if died:
        console.print(f"[bold red]{died}[/]")
    summary = (f"{tally.tried:,} requests in {sending:.0f} s ({tally.tried / max(sending, 1e-9):.0f}/s), "
               f"{len(tally.failures)} failures ({len(distinct)} distinct), {len(gaps)} audit gaps, "
               f"{len(unreadable)} unreadable resources; server {'up' if alive else 'DOWN'}")
    console.print(summary)

    results = {
        "seed": seed,
        "minutes": args.minutes,
        "batch": args.batch,
        "faces": [t.name for t in targets],
        "requests": tally.tried,
        "seconds": round(sending, 1),
        "by_status": dict(sorted(tally.by_status.items())),
        "by_face": {f"{face} {status}": n for (face, status), n in sorted(tally.by_face.items())},
        "by_kind": dict(tally.by_kind.most_common()),
        "failures": [{"signature": name, "count": len(found), "first": found[0].describe()} for name, found in distinct.items()],
        "audit_gaps": gaps,
        "unreadable": unreadable,
        "server_up": alive,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"results written to {args.output}")
    return 1 if tally.failures or gaps or unreadable or not alive else 0


def render(tally: Tally, targets, seconds: float) -> Table:
    statuses = sorted(tally.by_status, key=lambda s: (s == "none", s))
    table = Table(title=f"{tally.tried:,} requests in {seconds:.0f} s; answers by face and status")
    table.add_column("face")
    for status in statuses:
        table.add_column(status, justify="right")
    table.add_column("failures", justify="right")
    failures = Counter(f.case.target.name for f in tally.failures)
    by_face_status: Counter = Counter()
    for case, answer in tally.answers:
        by_face_status[(case.target.name, "none" if answer.status is None else str(answer.status))] += 1
    for target in targets:
        table.add_row(target.name, *[f"{by_face_status[(target.name, s)]:,}" for s in statuses], str(failures[target.name]))
    table.add_row("all", *[f"{tally.by_status[s]:,}" for s in statuses], str(len(tally.failures)), style="bold")
    return table


if __name__ == "__main__":
    sys.exit(main())
