"""benchmarks/quick.py (``make bench``): one table from every benchmark's results, missing peers included.

The benchmarks themselves are not run here (they take minutes); each script's JSON is
written as that script writes it, and the table is read back from it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def quick(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_quick", ROOT / "benchmarks" / "quick.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_quick", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    monkeypatch.setattr(module, "ROOT", tmp_path.parent)
    return module


def bench(quick, name):
    return next(b for b in quick.BENCHMARKS if b.name == name)


def write(quick, name, document):
    (quick.OUT / f"{name}.json").write_text(json.dumps(document))


def test_api_rows_carry_both_rates_and_say_when_moto_is_absent(quick):
    api = bench(quick, "api")
    with_moto = {"operations": [{"label": "Describe", "charter": {"rps": 200.0, "errors": 0},
                                 "moto": {"rps": 100.0, "errors": 0}, "rps_ratio": 2.0}]}
    [row] = quick.api_rows(with_moto, api)
    assert (row.task, row.unit, row.charter, row.peer, row.peer_name, row.ratio, row.note) == \
        ("Describe", "req/s", 200.0, 100.0, "moto", 2.0, "")
    charter_only = {"operations": [{"label": "Describe", "charter": {"rps": 200.0, "errors": 3}}]}
    [row] = quick.api_rows(charter_only, api)
    assert row.peer is None and row.ratio is None
    assert row.note.startswith("moto not installed") and "Charter: 3 failed request(s)" in row.note


def test_a_missing_monitor_peer_is_a_row_not_a_failure(quick, capsys):
    write(quick, "monitor", {
        "table": [
            {"task": "baseline + drift check", "peer": "evidently", "charter_seconds": 2.0, "peer_seconds": None,
             "ratio": None},
            {"task": "profile both tables", "peer": "whylogs", "charter_seconds": 1.5, "peer_seconds": 6.0,
             "ratio": 4.0},
        ],
        "results": {"charter": {"seconds": 2.0}, "evidently": {"error": "not installed"}, "whylogs": {"seconds": 6.0}},
    })
    assert quick.main(["--table-only", "--only", "monitor"]) == 0
    printed = capsys.readouterr().out
    assert "evidently not installed" in printed and "4.00x" in printed and "FAILED" not in printed


def test_deepar_without_gluonts_measures_charter_and_says_why(quick):
    deepar = bench(quick, "deepar")
    charter = {"seconds_per_epoch": 0.5, "infer_seconds_per_1000": 4.0, "metrics": {"mean_wQuantileLoss": 0.1}}
    gluonts = {"seconds_per_epoch": 1.5, "infer_seconds_per_1000": 6.0, "metrics": {"mean_wQuantileLoss": 0.11}}
    absent = {"datasets": {"electricity-like": {"summary": {"charter": charter}, "runs": {"charter": [{}]}}}}
    rows = quick.deepar_rows(absent, deepar)
    assert [(r.task, r.charter, r.peer, r.ratio) for r in rows] == [
        ("electricity-like: training", 0.5, None, None), ("electricity-like: forecasting 1,000 series", 4.0, None, None)]
    assert all(r.note.startswith("GluonTS not installed") for r in rows)
    failed = {"datasets": {"m4-hourly-like": {"summary": {"charter": charter},
                                              "runs": {"gluonts": [{"error": "worker exited 1"}]}}}}
    assert quick.deepar_rows(failed, deepar)[0].note == "GluonTS failed: worker exited 1"
    both = {"datasets": {"m4-hourly-like": {"summary": {"charter": charter, "gluonts": gluonts}, "runs": {}}}}
    training, forecasting = quick.deepar_rows(both, deepar)
    assert training.ratio == pytest.approx(3.0) and forecasting.ratio == pytest.approx(1.5)
    assert training.note == "mean wQL 0.1000 vs 0.1100"


def test_clarify_runs_what_its_installed_peers_allow(quick):
    assert quick._clarify_without({"smclarify"}) == ["--skip-bias"]
    assert quick._clarify_without({"shap"}) == ["--skip-shap"]
    assert quick._clarify_without({"smclarify", "shap"}) is None
    clarify = bench(quick, "clarify")
    clarify.missing = {"smclarify"}
    result = {"tasks": [{"task": "shap", "label": "Kernel SHAP, 50 rows", "charter": {"best_s": 0.5},
                         "peer": {"best_s": 2.0}, "agreement": {"correlation": 0.99999}}]}
    shap_row, bias_row = quick.clarify_rows(result, clarify)
    assert (shap_row.peer_name, shap_row.ratio, shap_row.note) == ("shap", 4.0, "corr 0.99999")
    assert bias_row.peer_name == "smclarify" and bias_row.note.startswith("smclarify not installed")


def test_a_benchmark_without_results_fails_the_run_and_names_its_log(quick, capsys):
    (quick.OUT / "api.status").write_text("exit 1")
    (quick.OUT / "api.log").write_text("$ api.py\nTraceback ...\nRuntimeError: charter server exited with 1\n")
    assert quick.main(["--table-only", "--only", "api"]) == 1
    printed = " ".join(capsys.readouterr().out.split())
    assert "FAILED" in printed and "exit 1, no results: RuntimeError: charter server exited with 1" in printed


def test_differing_bias_metrics_fail_the_run(quick):
    write(quick, "clarify", {"tasks": [{"task": "pre_sex", "label": "pre-training, sex", "charter": {"best_s": 0.1},
                                        "peer": {"best_s": 0.5}, "agreement": {"problems": ["CI differs"]}}]})
    assert quick.main(["--table-only", "--only", "clarify"]) == 1


def test_every_benchmark_script_is_in_the_quick_run(quick):
    # moto_seeded.py is registry.py's helper, not a benchmark of its own.
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py")} - {"quick.py", "moto_seeded.py"}
    assert {b.script for b in quick.BENCHMARKS} == scripts


def test_s3_rows_give_rates_by_size_and_the_listing(quick):
    s3 = bench(quick, "s3")
    result = {"sizes": ["1KiB", "64MiB"], "list_keys": 2000,
              "Charter": {"1KiB": {"put": {"req_per_s": 300.0, "errors": 0}, "get": {"req_per_s": 400.0, "errors": 2}},
                          "64MiB": {"put": {"mib_per_s": 200.0}, "get": {"mib_per_s": 500.0}},
                          "listing": {"walk_s": 0.5}},
              "moto": {"1KiB": {"put": {"req_per_s": 150.0}, "get": {"req_per_s": 100.0}},
                       "64MiB": {"put": {"mib_per_s": 100.0}, "get": {"mib_per_s": 250.0}},
                       "listing": {"walk_s": 2.0}}}
    rows = quick.s3_rows(result, s3)
    assert [(r.task, r.unit, r.ratio) for r in rows] == [
        ("PUT 1KiB", "req/s", 2.0), ("GET 1KiB", "req/s", 4.0), ("PUT 64MiB", "MiB/s", 2.0),
        ("GET 64MiB", "MiB/s", 2.0), ("ListObjectsV2 walk, 2,000 keys", "s", 4.0)]
    assert rows[1].note == "Charter: 2 failed request(s)"
    del result["moto"]
    assert all(r.ratio is None and r.note.startswith("moto not installed") for r in quick.s3_rows(result, s3))


def test_a_fuzz_failure_fails_the_quick_run(quick):
    clean = {"requests": 900, "seconds": 30.0, "failures": [], "audit_gaps": [], "unreadable": [], "server_up": True}
    [row] = quick.fuzz_rows(clean, bench(quick, "fuzz"))
    assert row.charter == pytest.approx(30.0) and row.note == "no failures"
    write(quick, "fuzz", {**clean, "failures": [{"signature": "s3 PutObject wire: 500", "count": 1, "first": "..."}]})
    assert quick.main(["--table-only", "--only", "fuzz"]) == 1


def _jobs_benchmark(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_jobs", ROOT / "benchmarks" / "jobs.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_jobs", module)
    spec.loader.exec_module(module)
    return module


def test_jobs_rows_judge_each_aim_and_a_lost_job_is_charters_failure(quick, monkeypatch):
    jobs = _jobs_benchmark(monkeypatch)
    # The ideal packs the work evenly over the slots, and is never shorter than the longest job.
    assert jobs.ideal_makespan([1.0] * 8, 4) == pytest.approx(2.0)
    assert jobs.ideal_makespan([1.0, 1.0, 6.0], 4) == pytest.approx(6.0)
    result = {
        "latency": {"repetitions": 10, "first_line_s": {"median": 0.6, "p90": 1.2},
                    "completed_s": {"median": 0.7, "p90": 1.3}},
        "batch": {"jobs": 200, "completed": 200, "slots": 4, "makespan_s": 110.0, "ideal_s": 100.0,
                  "ratio": 1.1, "sleep_ideal_s": 37.5, "sleep_ratio": 2.9},
        "xgboost": {"direct": {"seconds": 60.0, "rounds": 2000}, "charter": {"seconds": 66.0}, "overhead": 0.1},
    }
    rows = [quick.Row("jobs", **row) for row in jobs.quick_rows(result)]
    assert [(r.unit, r.peer_name) for r in rows] == [("s", "aim"), ("s", "ideal"), ("s", "xgboost script")]
    first_line, makespan, xgboost = rows
    assert first_line.ratio == pytest.approx(1 / 0.6) and "p90 1.20 s" in first_line.note
    assert makespan.ratio == pytest.approx(100 / 110) and makespan.note == "4 slots; all 200 Completed"
    assert xgboost.ratio == pytest.approx(60 / 66) and "+10.0%" in xgboost.note
    judged = [(v.what, v.met) for v in jobs.verdicts(result) if v.met is not None]
    # First line: the median meets the aim, the p90 does not; all completed; makespan at 1.10 meets
    # "within 10%"; 10% overhead does not meet "under 5%".
    assert [met for _, met in judged] == [True, False, True, True, False]
    assert judged[0][0].startswith("create -> first log line") and "median" in judged[0][0]
    # A job that did not complete is Charter's failure, which fails quick.py's run.
    result["batch"]["completed"] = 199
    _, lost, _ = jobs.quick_rows(result)
    assert lost["note"] == "4 slots; Charter: 1 of 200 jobs not Completed"
    # quick.py shows those rows; a run that broke off fails its run.
    result["batch"]["completed"] = 200
    result["rows"] = jobs.quick_rows(result)
    write(quick, "jobs", result)
    assert quick.main(["--table-only", "--only", "jobs"]) == 0
    write(quick, "jobs", {**result, "error": "RuntimeError: the job is still InProgress after 120 s"})
    assert quick.main(["--table-only", "--only", "jobs"]) == 1
