"""``charter jobs``: training and processing jobs, through the API, as you.

``list``, ``describe``, ``logs [--follow]`` and ``stop`` call the running server
with boto3 (SageMaker and CloudWatch Logs), like ``charter registry``; a job is
named by its name, and ``--kind`` says which kind when a training and a
processing job share one.  ``logs --follow`` tails every host's stream until the
job ends, with a live status line (Rich) of its status and secondary status.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from typing import Optional

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .client import EndpointOption, ProfileOption, RegionOption, connect, fail
from .client import request as _call

app = typer.Typer(help="Training and processing jobs: list, describe, follow their logs, stop (calls the API as you).",
                  no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 240)

KINDS = {
    "training": {"list": "list_training_jobs", "summaries": "TrainingJobSummaries", "describe": "describe_training_job",
                 "name": "TrainingJobName", "status": "TrainingJobStatus", "stop": "stop_training_job",
                 "group": "/aws/sagemaker/TrainingJobs", "start": "TrainingStartTime", "end": "TrainingEndTime"},
    "processing": {"list": "list_processing_jobs", "summaries": "ProcessingJobSummaries",
                   "describe": "describe_processing_job", "name": "ProcessingJobName", "status": "ProcessingJobStatus",
                   "stop": "stop_processing_job", "group": "/aws/sagemaker/ProcessingJobs",
                   "start": "ProcessingStartTime", "end": "ProcessingEndTime"},
}
TERMINAL = ("Completed", "Failed", "Stopped")
_STYLE = {"Completed": "green", "Failed": "red", "Stopped": "yellow", "Stopping": "yellow", "InProgress": "cyan"}

KindOption = typer.Option(None, "--kind", help="training or processing (default: whichever has a job of this name).")
JsonOption = typer.Option(False, "--json", help="Print the API's answer as JSON instead of a table.")


def _when(value) -> str:
    if not isinstance(value, dt.datetime):
        return "-"
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _duration(start, end) -> str:
    if not isinstance(start, dt.datetime):
        return "-"
    stop = end if isinstance(end, dt.datetime) else dt.datetime.now(dt.timezone.utc)
    seconds = int((stop - start).total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _status(text: str | None) -> str:
    text = text or "-"
    return f"[{_STYLE[text]}]{text}[/]" if text in _STYLE else text


def _kinds(kind: str | None) -> list[str]:
    if kind is None:
        return list(KINDS)
    if kind not in KINDS:
        fail(f"--kind must be training or processing, not {kind!r}")
    return [kind]


def _find(sm, name: str, kind: str | None) -> tuple[str, dict]:
    """(kind, Describe answer) of the job called ``name``."""
    from botocore.exceptions import ClientError

    for candidate in _kinds(kind):
        spec = KINDS[candidate]
        try:
            return candidate, getattr(sm, spec["describe"])(**{spec["name"]: name})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("ResourceNotFound", "ValidationException"):
                return candidate, _call(getattr(sm, spec["describe"]), **{spec["name"]: name})
    fail(f"no {kind or 'training or processing'} job is named {name!r}")


@app.command("list")
def list_jobs(
    kind: Optional[str] = KindOption,
    status: Optional[str] = typer.Option(None, "--status", help="Only jobs in this status (InProgress, Completed, ...)."),
    name_contains: Optional[str] = typer.Option(None, "--name-contains", help="Only jobs whose name contains this."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
    as_json: bool = JsonOption,
) -> None:
    """Training and processing jobs, newest first."""
    sm = connect(endpoint_url, profile, region)
    rows = []
    for candidate in _kinds(kind):
        spec = KINDS[candidate]
        kwargs = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if status:
            kwargs["StatusEquals"] = status
        if name_contains:
            kwargs["NameContains"] = name_contains
        pages = _call(lambda **kw: list(sm.get_paginator(spec["list"]).paginate(**kw)), **kwargs)
        for page in pages:
            rows += [(candidate, summary) for summary in page[spec["summaries"]]]
    rows.sort(key=lambda row: row[1]["CreationTime"], reverse=True)
    if as_json:
        sys.stdout.write(json.dumps([dict(s, Kind=k) for k, s in rows], indent=2, default=str) + "\n")
        return
    table = Table(title="Jobs")
    for column in ("Name", "Kind", "Status", "Secondary", "Created (UTC)", "Duration"):
        table.add_column(column)
    for candidate, summary in rows:
        spec = KINDS[candidate]
        end = summary.get("TrainingEndTime") or summary.get("ProcessingEndTime")
        table.add_row(summary[spec["name"]], candidate, _status(summary.get(spec["status"])),
                      summary.get("SecondaryStatus", "-"), _when(summary.get("CreationTime")),
                      _duration(summary.get("CreationTime"), end))
    out.print(table)


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="The job's name."),
    kind: Optional[str] = KindOption,
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
    as_json: bool = JsonOption,
) -> None:
    """A job's parameters, status transitions, metrics and outcome."""
    sm = connect(endpoint_url, profile, region)
    found, job = _find(sm, name, kind)
    job.pop("ResponseMetadata", None)
    if as_json:
        sys.stdout.write(json.dumps(job, indent=2, default=str) + "\n")
        return
    spec = KINDS[found]
    table = Table(title=f"{found.capitalize()} job {name}", show_header=False)
    table.add_column("Field", style="bold")
    table.add_column("Value")
    table.add_row("Status", _status(job.get(spec["status"])) + (f" ({job['SecondaryStatus']})"
                                                                 if job.get("SecondaryStatus") else ""))
    if job.get("FailureReason"):
        table.add_row("Failure reason", Text(job["FailureReason"], style="red"))
    image = (job.get("AlgorithmSpecification") or {}).get("TrainingImage") or (job.get("AppSpecification") or {}).get("ImageUri")
    table.add_row("Image", image or "-")
    resources = job.get("ResourceConfig") or (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    table.add_row("Instances", f"{resources.get('InstanceCount', 1)} x {resources.get('InstanceType', '-')}")
    table.add_row("Created (UTC)", _when(job.get("CreationTime")))
    table.add_row("Duration", _duration(job.get(spec["start"]), job.get(spec["end"])))
    if job.get("ModelArtifacts"):
        table.add_row("Model", job["ModelArtifacts"]["S3ModelArtifacts"])
    if job.get("ExitMessage"):
        table.add_row("Exit message", job["ExitMessage"])
    for key, value in sorted((job.get("HyperParameters") or {}).items()):
        table.add_row(f"Hyperparameter {key}", value)
    out.print(table)
    if job.get("SecondaryStatusTransitions"):
        transitions = Table(title="Transitions")
        for column in ("Status", "Start (UTC)", "Took", "Message"):
            transitions.add_column(column)
        for item in job["SecondaryStatusTransitions"]:
            transitions.add_row(item["Status"], _when(item.get("StartTime")),
                                _duration(item.get("StartTime"), item.get("EndTime")), item.get("StatusMessage", ""))
        out.print(transitions)
    if job.get("FinalMetricDataList"):
        metrics = Table(title="Final metrics")
        metrics.add_column("Metric")
        metrics.add_column("Value", justify="right")
        for item in job["FinalMetricDataList"]:
            metrics.add_row(item["MetricName"], f"{item['Value']:g}")
        out.print(metrics)


class _Tail:
    """The new events of every stream of one job, by stream, in order."""

    def __init__(self, logs, group: str, name: str):
        self.logs, self.group, self.prefix = logs, group, f"{name}/"
        self.tokens: dict[str, str | None] = {}

    def read(self) -> list[tuple[int, str, str]]:
        from botocore.exceptions import ClientError

        try:
            streams = self.logs.describe_log_streams(logGroupName=self.group, logStreamNamePrefix=self.prefix)
        except ClientError:
            return []  # no line written yet
        found = []
        for stream in streams["logStreams"]:
            name = stream["logStreamName"]
            while True:
                token = self.tokens.get(name)
                kwargs = {"nextToken": token} if token else {"startFromHead": True}
                page = self.logs.get_log_events(logGroupName=self.group, logStreamName=name, **kwargs)
                host = name[len(self.prefix):].rsplit("-", 1)[0]
                found += [(e["timestamp"], host, e["message"]) for e in page["events"]]
                if page["nextForwardToken"] == token or not page["events"]:
                    self.tokens[name] = page["nextForwardToken"]
                    break
                self.tokens[name] = page["nextForwardToken"]
        return sorted(found, key=lambda event: event[0])  # stable: each stream keeps its order


@app.command("logs")
def logs(
    name: str = typer.Argument(..., help="The job's name."),
    kind: Optional[str] = KindOption,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines until the job ends."),
    poll: float = typer.Option(1.0, "--poll", help="Seconds between looks for new lines while following."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
) -> None:
    """A job's log, every host's, as CloudWatch Logs holds it (with --follow, until the job ends)."""
    sm = connect(endpoint_url, profile, region)
    found, job = _find(sm, name, kind)
    spec = KINDS[found]
    tail = _Tail(connect(endpoint_url, profile, region, service="logs"), spec["group"], name)

    hosts = ((job.get("ResourceConfig") or (job.get("ProcessingResources") or {}).get("ClusterConfig") or {})
             .get("InstanceCount", 1))

    def show(events) -> None:
        for _, host, message in events:
            # One host: the lines as the job printed them; several: each with its host, as the SDK shows them.
            out.print(Text.assemble((f"{host} ", "dim"), message) if hosts > 1 else Text(message), highlight=False)

    if not follow:
        show(tail.read())
        return

    def line(document) -> Text:
        secondary = document.get("SecondaryStatus")
        status = document.get(spec["status"], "-")
        text = Text.assemble(("● ", _STYLE.get(status, "")), (status, _STYLE.get(status, "")),
                             f" · {secondary}" if secondary else "",
                             f" · {_duration(document.get(spec['start']), document.get(spec['end']))}")
        return text

    with Live(line(job), console=err, transient=True, refresh_per_second=4) as live:
        while True:
            events = tail.read()
            show(events)  # printed above the live status line
            job = _call(getattr(sm, spec["describe"]), **{spec["name"]: name})
            live.update(line(job))
            if job.get(spec["status"]) in TERMINAL:
                show(tail.read())
                break
            time.sleep(poll)
    err.print(line(job))
    if job.get("FailureReason"):
        err.print(Text(job["FailureReason"], style="red"))
    if job.get(spec["status"]) == "Failed":
        raise typer.Exit(1)


@app.command("stop")
def stop(
    name: str = typer.Argument(..., help="The job's name."),
    kind: Optional[str] = KindOption,
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
) -> None:
    """Stop a running job (SIGTERM, then SIGKILL after the grace period); it ends Stopped."""
    sm = connect(endpoint_url, profile, region)
    found, _job = _find(sm, name, kind)
    spec = KINDS[found]
    _call(getattr(sm, spec["stop"]), **{spec["name"]: name})
    out.print(f"Stopping {found} job {name}.")
