"""Console benchmark: the Model Dashboard's first page with 10,000 groups and 100,000 model packages stored.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python benchmarks/console.py            # 10,000 groups, 100,000 packages, SQLite and PostgreSQL (~5-8 min)
    .venv/bin/python benchmarks/console.py --quick    # 1,000 groups, 10,000 packages, SQLite only (~15 s)

Method
------
1. **The store.**  A fresh installation (temporary CHARTER_HOME; SQLite, or a
   database on a throwaway PostgreSQL server started with ``tests/pg.py``) is
   filled with ``--groups`` model package groups holding ``--packages``
   versions in all (each group gets a random share; about 2% have none),
   ``--models`` SageMaker models, and a model card for every ``--cards-every``
   -th group (naming one of its versions) and every fifth model, each card
   with one to three stored versions.  The documents are the services' own:
   one group, version and card are made through the API handlers
   (in-process, as an admin), read back from the store and cloned with new
   names, versions, approval statuses, risk ratings and times; the rows are
   inserted in bulk into ``resources`` with the typed columns the store
   derives from each document (``store/derived.py``), as its writes do.  The
   templates are then deleted.  PostgreSQL is ANALYZEd after the load (what
   autovacuum does shortly after a bulk insert); SQLite, as deployed, has no
   statistics.
2. **The service.**  :func:`charter.services.model_dashboard.dashboard_page`,
   called as the console calls it (one read transaction), for each scenario:
   the first page as the page opens (sorted by last modified), sorted by name,
   by risk, a common search (an eighth of the names), a rare search (a few),
   the approval filter, the risk filter, the card-status filter "no card",
   and page 40.  ``--repeats`` timed runs each after two warm-up runs; median
   and p90 in milliseconds.
3. **The page over HTTP.**  ``charter server`` on the same installation; a
   user with a console password signs in through the sign-in form (httpx,
   cookies), then GETs ``/console/model-dashboard`` with each scenario's query
   (the whole page: gate, session, IAM decisions, audit, template), and the
   htmx fragment of the common search.  Timed from the client over loopback,
   so the figures include HTTP, not only the server's work: an upper bound of
   its time.
4. The aim: the first page under 200 ms.  Results go to the terminal as a Rich
   table and to ``benchmarks/results/console.json`` (``rows`` in the form
   ``quick.py`` reads: the aim as the peer, so a ratio above 1 means the aim
   is met).

Caveats: the client, the server and PostgreSQL share the machine's cores (two
on the reference machine); each scenario is measured after the previous one
on a warm cache, which is how a dashboard is used (people come back to it).
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
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "tests"))

from charter.api.access import Access, start_event  # noqa: E402
from charter.api.gateway import Gateway  # noqa: E402
from charter.instance import Instance  # noqa: E402
from charter.services import model_dashboard as dashboard  # noqa: E402
from charter.services.iam_admin import create_principal_with_persona  # noqa: E402
from charter.services.signin import set_password  # noqa: E402
from charter.store import derived  # noqa: E402
from charter.store import resources as store  # noqa: E402
from charter.store.schema import resources  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "console.json"
AIM_MS = 200.0
ACCOUNT, REGION = "123456789012", "us-east-1"
USER, PASSWORD = "bench-viewer", "Bench-Dashboard-7a!"
TEMPLATE = "benchtemplate"
WORDS = ("credit", "churn", "fraud", "demand", "pricing", "ranking", "vision", "speech")
BATCH = 5000

console = Console()
if not console.is_terminal:
    console = Console(width=140)

#: (label, DashboardQuery keywords, the page's query string)
SCENARIOS = [
    ("first page (last modified)", {}, ""),
    ("sorted by name", {"sort": "name", "direction": "ascending"}, "?sort=name"),
    ("sorted by risk", {"sort": "risk", "direction": "descending"}, "?sort=risk"),
    ("search, common (churn)", {"search": "churn"}, "?q=churn"),
    ("search, rare", {"search": "{rare}"}, "?q={rare}"),
    ("approval = Approved", {"approval": "Approved"}, "?approval=Approved"),
    ("risk = High", {"risk": "High"}, "?risk=High"),
    ("no model card", {"card_status": "none"}, "?card=none"),
    ("page 40", {"page": 40}, "?page=40"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"median_ms": round(statistics.median(ms), 3), "p90_ms": round(percentile(ms, 0.9), 3),
            "min_ms": round(min(ms), 3), "runs": len(ms)}


# --- filling the store ------------------------------------------------------------------------


def _templates(instance: Instance) -> dict:
    """One group, version, card and card version as the services store them (then deleted)."""
    access = Access(instance)
    gateway = Gateway(instance, access)
    with instance.transaction() as conn:
        admin = create_principal_with_persona(conn, account=ACCOUNT, kind="user", name="bench-admin", persona="admin")

    def call(operation: str, params: dict) -> dict:
        return gateway.invoke(admin, operation, params, start_event(operation, "127.0.0.1", "bench", source="console"))

    call("CreateModelPackageGroup", {"ModelPackageGroupName": TEMPLATE,
                                     "ModelPackageGroupDescription": "Scores for the benchmark's model"})
    package = call("CreateModelPackage", {
        "ModelPackageGroupName": TEMPLATE, "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {"Containers": [{
            "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "ModelDataUrl": f"s3://bench/{TEMPLATE}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        "CustomerMetadataProperties": {"team": "analytics", "dataset": "s3://bench/data/train.csv"},
        "ModelMetrics": {"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                         "S3Uri": f"s3://bench/{TEMPLATE}/evaluation.json"}}},
    })["ModelPackageArn"]
    call("CreateModelCard", {"ModelCardName": f"{TEMPLATE}-card", "ModelCardStatus": "Draft", "Content": json.dumps({
        "model_overview": {"model_description": "What the benchmark's model predicts.", "model_owner": "Analytics"},
        "model_package_details": {"model_package_arn": package},
        "intended_uses": {"purpose_of_model": "A score for a person to review.", "risk_rating": "Medium"},
    })})
    found = {}
    with instance.transaction(write=False) as conn:
        for key, arn in (("group", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{TEMPLATE}"),
                         ("package", package),
                         ("card", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-card/{TEMPLATE}-card"),
                         ("card_version", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-card/{TEMPLATE}-card/version/1")):
            found[key] = json.dumps(store.get(conn, arn).document)
    call("DeleteModelCard", {"ModelCardName": f"{TEMPLATE}-card"})
    call("DeleteModelPackage", {"ModelPackageName": package})
    call("DeleteModelPackageGroup", {"ModelPackageGroupName": TEMPLATE})
    access.close()
    return found


def _row(resource_type: str, arn: str, name: str, document: dict, created: float, modified: float, *,
         parent: str | None = None, version: int | None = None, status: str | None = None) -> dict:
    row = dict(arn=arn, account=ACCOUNT, region=REGION, resource_type=resource_type, name=name, parent=parent,
               version=version, status=status, created_at=created, modified_at=modified,
               document=json.dumps(document, separators=(",", ":")))
    row.update(dict.fromkeys(derived.COLUMNS))
    row.update(derived.columns(resource_type, arn, document))
    return row


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def fill(instance: Instance, groups: int, packages: int, models: int, cards_every: int, seed: int) -> dict:
    """Store the benchmark's registry (see the module docstring); what was stored and how long it took."""
    began = time.perf_counter()
    template = _templates(instance)
    rng = random.Random(seed)
    now = time.time()
    names = [f"{WORDS[i % len(WORDS)]}-{i:05d}" for i in range(groups)]
    with_versions = [i for i in range(groups) if rng.random() >= 0.02]
    counts = [0] * groups
    for i in with_versions:
        counts[i] = 1
    for _ in range(packages - len(with_versions)):
        counts[rng.choice(with_versions)] += 1
    rows: list[dict] = []
    stored = {"groups": 0, "packages": 0, "models": 0, "cards": 0, "card_versions": 0}

    def flush(force: bool = False) -> None:
        if rows and (force or len(rows) >= BATCH):
            with instance.transaction() as conn:
                conn.execute(resources.insert(), rows)
            rows.clear()

    def add_card(subject_name: str, content_change: dict, created: float) -> None:
        card_name = f"{subject_name}-card"
        arn = _arn("model-card", card_name)
        status = rng.choice(("Draft", "PendingReview", "Approved", "Archived"))
        risk = rng.choice(("High", "Medium", "Low", "Unknown"))
        document = json.loads(template["card"].replace(f"{TEMPLATE}-card", card_name))
        content = json.loads(document["Content"])
        content["intended_uses"]["risk_rating"] = risk
        content.pop("model_package_details", None)
        content.update(content_change)
        document.pop("ModelPackageGroupName", None)
        group = content.get("model_package_details", {}).get("model_package_group_name")
        if group:
            document["ModelPackageGroupName"] = group
        versions = rng.randint(1, 3)
        document.update(Content=json.dumps(content), ModelCardStatus=status, RiskRating=risk,
                        ModelCardVersion=versions, CreationTime=created, LastModifiedTime=created + versions)
        for number in range(1, versions + 1):
            version = {**document, "ModelCardVersion": number}
            rows.append(_row("model-card-version", f"{arn}/version/{number}", card_name, version, created,
                             created + number, parent=arn, version=number, status=status))
        rows.append(_row("model-card", arn, card_name, document, created, created + versions, status=status))
        stored["cards"] += 1
        stored["card_versions"] += versions

    for i, name in enumerate(names):
        created = now - 365 * 86400 + i * (300 * 86400 / groups)
        group_arn = _arn("model-package-group", name)
        latest = 0.0
        for version in range(1, counts[i] + 1):
            made = created + version * 3600
            approval = rng.choice(("Approved", "Rejected", "PendingManualApproval")) if version == counts[i] else \
                rng.choice(("Approved", "Rejected"))
            modified = made + (rng.random() * 86400 if approval != "PendingManualApproval" else 0)
            document = json.loads(template["package"].replace(f"{TEMPLATE}/1", f"{name}/{version}")
                                  .replace(TEMPLATE, name))
            document.update(ModelPackageVersion=version, ModelApprovalStatus=approval, CreationTime=made,
                            LastModifiedTime=modified)
            rows.append(_row("model-package", _arn("model-package", f"{name}/{version}"), name, document, made,
                             modified, parent=group_arn, version=version, status="Completed"))
            latest = made
            stored["packages"] += 1
        document = json.loads(template["group"].replace(TEMPLATE, name))
        document["CreationTime"] = created
        if counts[i]:
            document["_charter"] = {"LatestModelPackageVersion": counts[i]}
        rows.append(_row("model-package-group", group_arn, name, document, created, max(created, latest),
                         status="Completed"))
        stored["groups"] += 1
        if counts[i] and i % cards_every == 0:
            number = rng.randint(1, counts[i])
            add_card(name, {"model_package_details": {
                "model_package_arn": _arn("model-package", f"{name}/{number}"), "model_package_group_name": name,
                "model_package_version": number}}, created + number * 3600)
        flush()
    for i in range(models):
        name = f"{WORDS[i % len(WORDS)]}-model-{i:04d}"
        created = now - 200 * 86400 + i * 600
        arn = _arn("model", name)
        document = {"ModelName": name, "ModelArn": arn, "CreationTime": created, "EnableNetworkIsolation": False,
                    "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/BenchModels",
                    "PrimaryContainer": {"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                         "ModelDataUrl": f"s3://bench/models/{name}/model.tar.gz", "Mode": "SingleModel"}}
        rows.append(_row("model", arn, name, document, created, created))
        stored["models"] += 1
        if i % 5 == 0:
            add_card(name, {"model_overview": {"model_id": arn}}, created)
        flush()
    flush(force=True)
    if instance.engine.dialect.name == "postgresql":
        with instance.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    with instance.transaction() as conn:
        create_principal_with_persona(conn, account=ACCOUNT, kind="user", name=USER, persona="data-scientist")
        set_password(conn, account=ACCOUNT, user_name=USER, password=PASSWORD)
    stored["seconds"] = round(time.perf_counter() - began, 1)
    stored["rare"] = names[len(names) // 2][-5:]  # the digits of one name: a handful of matches
    return stored


# --- measuring ----------------------------------------------------------------------------------


def measure_service(instance: Instance, repeats: int, rare: str) -> dict:
    out = {}
    for label, keywords, _ in SCENARIOS:
        keywords = {k: (v.format(rare=rare) if isinstance(v, str) else v) for k, v in keywords.items()}
        query = dashboard.DashboardQuery(**keywords)
        times = []
        for attempt in range(repeats + 2):
            began = time.perf_counter()
            with instance.transaction(write=False) as conn:
                page = dashboard.dashboard_page(conn, ACCOUNT, REGION, query)
            if attempt >= 2:
                times.append(time.perf_counter() - began)
        out[label] = {**summary(times), "rows": len(page.rows), "total": page.total}
    return out


def start_server(home: Path, url: str, log: Path) -> tuple[subprocess.Popen, str]:
    sys.path.insert(0, str(REPO / "tests"))
    from pg import free_port

    port = free_port()
    env = {**os.environ, "CHARTER_HOME": str(home), "CHARTER_DATABASE_URL": url, "CHARTER_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "charter.cli.main", "server", "--log-level", "warning"], env=env,
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited while starting:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(endpoint + "/health", timeout=2).status_code == 200:
                return process, endpoint
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start within 90 s:\n{log.read_text()[-3000:]}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_http(endpoint: str, repeats: int, rare: str) -> dict:
    client = httpx.Client(base_url=endpoint, timeout=60, headers={"Accept": "text/html"})
    form = client.get("/console/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    signed = client.post("/console/sign-in", data={"csrf_token": token, "user_name": USER, "password": PASSWORD})
    if signed.status_code != 303:
        raise RuntimeError(f"could not sign in ({signed.status_code}): {signed.text[:300]}")
    cases = [(label, "/console/model-dashboard" + query.format(rare=rare), {}) for label, _, query in SCENARIOS]
    cases.append(("htmx fragment, search (churn)", "/console/model-dashboard?q=churn", {"HX-Request": "true"}))
    out = {}
    for label, path, headers in cases:
        times = []
        for attempt in range(repeats + 2):
            began = time.perf_counter()
            answer = client.get(path, headers=headers)
            elapsed = time.perf_counter() - began
            if answer.status_code != 200 or "md-table" not in answer.text:
                raise RuntimeError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
            if attempt >= 2:
                times.append(elapsed)
        out[label] = {**summary(times), "bytes": len(answer.content)}
    return out


def run_database(name: str, url: str, workdir: Path, args) -> dict:
    home = workdir / f"home-{name}"
    instance = Instance.from_env(home=str(home), database_url=url)
    try:
        console.print(f"[bold]{name}[/]: storing {args.groups:,} groups, {args.packages:,} packages, "
                      f"{args.models:,} models ...")
        stored = fill(instance, args.groups, args.packages, args.models, args.cards_every, args.seed)
        console.print(f"  stored in {stored['seconds']} s: {stored}")
        service = measure_service(instance, args.repeats, stored["rare"])
    finally:
        instance.close()
    process, endpoint = start_server(home, url, workdir / f"server-{name}.log")
    try:
        http = measure_http(endpoint, args.repeats, stored["rare"])
    finally:
        stop_server(process)
    return {"stored": stored, "service": service, "http": http}


def quick_rows(results: dict) -> list[dict]:
    """The rows ``benchmarks/quick.py`` shows: the first page against the aim (ratio = aim / median)."""
    rows = []
    for database, result in results["databases"].items():
        stored = result.get("stored") or {}
        for where, key in (("service", "service"), ("page over HTTP", "http")):
            first = (result.get(key) or {}).get("first page (last modified)")
            if first:
                rows.append({"task": f"{database}: dashboard first page, {where} (median)", "unit": "ms",
                             "charter": first["median_ms"], "peer": AIM_MS, "peer_name": "aim",
                             "ratio": AIM_MS / first["median_ms"],
                             "note": f"p90 {first['p90_ms']:.1f} ms; {stored.get('groups', 0):,} groups, "
                                     f"{stored.get('packages', 0):,} packages"})
    return rows


def render(results: dict) -> Table:
    table = Table(title=f"Model Dashboard: {results['groups']:,} groups, {results['packages']:,} packages "
                        f"(aim: first page under {AIM_MS:.0f} ms)")
    for column, justify in (("database", "left"), ("scenario", "left"), ("rows / total", "right"),
                            ("service median ms", "right"), ("service p90 ms", "right"),
                            ("HTTP median ms", "right"), ("HTTP p90 ms", "right"), ("under aim", "left")):
        table.add_column(column, justify=justify)
    for database, result in results["databases"].items():
        if "error" in result:
            table.add_row(database, "[red]failed[/]", "", "", "", "", "", result["error"][:80])
            continue
        labels = list(result["http"])
        for label in labels:
            service, http = result["service"].get(label), result["http"][label]
            worst = max(x["p90_ms"] for x in (service, http) if x)
            table.add_row(database, label, f"{service['rows']} / {service['total']:,}" if service else "",
                          f"{service['median_ms']:.1f}" if service else "-", f"{service['p90_ms']:.1f}" if service else "-",
                          f"{http['median_ms']:.1f}", f"{http['p90_ms']:.1f}",
                          "yes" if worst < AIM_MS else "[red]no[/]")
        table.add_section()
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 groups, 10,000 packages, SQLite only, 10 repeats")
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--cards-every", type=int, default=2, help="a card for every N-th group")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.groups, args.packages, args.models, args.repeats, args.databases = 1000, 10_000, 50, 10, "sqlite"
    wanted = [d.strip() for d in args.databases.split(",") if d.strip()]
    results: dict = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.node(),
                     "cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0], "groups": args.groups,
                     "packages": args.packages, "models": args.models, "repeats": args.repeats, "databases": {}}
    workdir = Path(tempfile.mkdtemp(prefix="charter-bench-console-"))
    postgres = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        for database in wanted:
            try:
                if database == "sqlite":
                    url = f"sqlite:///{workdir / 'charter.db'}"
                elif database == "postgresql":
                    from pg import PostgresServer, find_pg_bin

                    bin_dir = find_pg_bin()
                    if bin_dir is None:
                        results["databases"][database] = {"error": "PostgreSQL is not installed (initdb not found)"}
                        continue
                    postgres = PostgresServer(bin_dir).start()
                    url = postgres.create_database("bench_console")
                else:
                    raise SystemExit(f"unknown database {database!r}: sqlite or postgresql")
                results["databases"][database] = run_database(database, url, workdir, args)
            except Exception as problem:  # noqa: BLE001 - reported in the results, the run goes on
                console.print_exception()
                results["databases"][database] = {"error": f"{type(problem).__name__}: {problem}"}
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results["load_average_after"] = os.getloadavg()[0]
    results["rows"] = quick_rows(results)
    failed = [d for d, r in results["databases"].items() if "error" in r]
    if failed:
        results["error"] = "; ".join(f"{d}: {results['databases'][d]['error']}" for d in failed)
    console.print(render(results))
    console.print(f"load average before {results['load_average_before']:.2f}, after {results['load_average_after']:.2f}; "
                  f"{results['cpus']} CPUs")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
