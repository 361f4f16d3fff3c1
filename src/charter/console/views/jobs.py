"""Training and processing jobs in the console: the lists, a job's page, its live logs, Stop.

Both kinds are drawn by the same views, parametrized by a :class:`JobKind`
(which List/Describe/Stop operations, which log group, which document keys):

* ``/console/training-jobs`` (``processing-jobs``): ListTrainingJobs with its
  own filters (StatusEquals, NameContains, SortBy, SortOrder) and NextToken
  pages; each row is completed by the job's Describe document (start time,
  instance type and count), which the List summary does not carry.  While a job
  on the page is InProgress or Stopping the table refreshes itself every 5 s
  (htmx asks for the table alone).
* ``/console/training-jobs/{name}``: DescribeTrainingJob as a page: status,
  SecondaryStatusTransitions as a timeline, FinalMetricDataList and the
  metrics over time (CloudWatch GetMetricData in ``/aws/sagemaker/TrainingJobs``,
  where the job engine puts what MetricDefinitions find in the log), the
  parameters, inputs and outputs (linked to the artifacts page), and the log.
* ``.../{name}/logs``: the log's next lines after a forward token
  (GetLogEvents), polled by the page every 2 s while the job runs; the answer
  appends the lines to the log panel, updates the status panel when the job
  moved on, and stops polling once the job has ended and every line is shown.
  ``static/jobs.js`` keeps the panel scrolled to the newest line unless the
  person scrolled up.
* ``.../{name}/stop``: a confirmation page (GET) and StopTrainingJob (POST).

Everything is read and done through :meth:`Visit.call`, as the signed-in user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import time
import urllib.parse
from dataclasses import dataclass

from starlette.responses import Response

from ...errors import AwsError, ValidationException
from ...iam.policy import Decision
from ...render import charts
from ...render.formatting import format_number
from . import view

PAGE_SIZE = 20
#: How many log lines a page shows at first (the tail) and one poll brings at most.
LOG_LINES = 500
RUNNING = ("InProgress", "Stopping")
STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
SORTS = {"CreationTime": "Created", "Name": "Name", "Status": "Status"}
#: GetMetricData periods (seconds) a chart may use: CloudWatch's high-resolution ones, then minutes.
PERIODS = (1, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
MAX_CHART_POINTS = 300
MAX_DOWNLOAD_LINES = 200_000


@dataclass(frozen=True)
class JobKind:
    """What differs between training and processing jobs, for the views."""

    slug: str  # the page: "training-jobs"
    noun: str  # "training job"
    prefix: str  # the operations' middle: "TrainingJob"
    status_key: str
    start_key: str
    end_key: str
    log_group: str

    @property
    def name_key(self) -> str:
        return f"{self.prefix}Name"

    @property
    def arn_key(self) -> str:
        return f"{self.prefix}Arn"

    @property
    def summaries_key(self) -> str:
        return f"{self.prefix}Summaries"

    @property
    def path(self) -> str:
        return f"/console/{self.slug}"

    @property
    def title(self) -> str:
        return self.noun.capitalize() + "s"

    def job_path(self, name: str) -> str:
        return f"{self.path}/{urllib.parse.quote(name, safe='')}"


TRAINING = JobKind("training-jobs", "training job", "TrainingJob", "TrainingJobStatus", "TrainingStartTime",
                   "TrainingEndTime", "/aws/sagemaker/TrainingJobs")
PROCESSING = JobKind("processing-jobs", "processing job", "ProcessingJob", "ProcessingJobStatus",
                     "ProcessingStartTime", "ProcessingEndTime", "/aws/sagemaker/ProcessingJobs")


# --- small helpers ------------------------------------------------------------------------------


def _epoch(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    return float(value)


def _clock(value) -> str:
    """``2026-12-07 11:46:19 UTC``: a job's times to the second (transitions are seconds apart)."""
    seconds = _epoch(value)
    if seconds is None:
        return "—"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(start, end, now: float) -> float | None:
    """Seconds from ``start`` to ``end`` (to ``now`` while it has not ended); None before it started."""
    began = _epoch(start)
    if began is None:
        return None
    return max(0.0, (_epoch(end) or now) - began)


def artifact_link(uri: str | None) -> str | None:
    """The artifacts page of an ``s3://bucket/key`` URI (None for anything else)."""
    if not uri or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        return None
    return "/console/artifacts/" + urllib.parse.quote(bucket, safe="") + ("/" + urllib.parse.quote(key) if key else "")


_NAME_PART = re.compile(r"[a-zA-Z0-9-]+")  # ListTrainingJobs' NameContains pattern
def _query(**values) -> str:
    return urllib.parse.urlencode([(k, v) for k, v in values.items() if v not in (None, "", [])], doseq=True)


# --- the lists ---------------------------------------------------------------------------------


def _list(visit, kind: JobKind):
    status = visit.query.get("status") or ""
    status = status if status in STATUSES else ""
    search = (visit.query.get("q") or "").strip()[:63]
    sort = visit.query.get("sort") or "CreationTime"
    sort = sort if sort in SORTS else "CreationTime"
    order = "Ascending" if visit.query.get("order") == "Ascending" else "Descending"
    token = visit.query.get("token") or None
    back = visit.query.getlist("back")[-20:]  # the tokens of the pages before this one ("" is the first)
    size = visit.query.get("size") or ""
    size = min(100, max(1, int(size))) if size.isdigit() else PAGE_SIZE
    params = {"MaxResults": size, "SortBy": sort, "SortOrder": order}
    if status:
        params["StatusEquals"] = status
    if search:
        params["NameContains"] = search
    if token:
        params["NextToken"] = token
    unmatchable = bool(search) and not _NAME_PART.fullmatch(search)
    # NameContains takes what a job name may hold; anything else matches no job (the API would refuse it).
    answer = {} if unmatchable else visit.call("sagemaker", f"List{kind.prefix}s", params)
    summaries = answer.get(kind.summaries_key, [])
    rows = _rows(visit, kind, summaries)
    filters = {"status": status, "q": search, "sort": sort if sort != "CreationTime" else "",
               "order": order if order != "Descending" else "", "size": size if size != PAGE_SIZE else ""}
    here = kind.path + "?" + _query(**filters, token=token, back=back)
    next_url = (kind.path + "?" + _query(**filters, token=answer["NextToken"], back=[*back, token or ""])
                if answer.get("NextToken") else None)
    prev_url = kind.path + "?" + _query(**filters, token=back[-1] or None, back=back[:-1]) if back else None

    def sort_url(column: str) -> str:
        flip = "Ascending" if (sort == column and order == "Descending") else ""
        if column != sort and column == "Name":
            flip = "Ascending"  # names read A to Z first
        return kind.path + "?" + _query(status=status, q=search, sort=column if column != "CreationTime" else "",
                                        order=flip, size=filters["size"])

    context = {
        "kind": kind, "rows": rows, "statuses": STATUSES, "wanted_status": status, "search": search, "sort": sort,
        "order": order, "here": here, "next_url": next_url, "prev_url": prev_url, "sort_url": sort_url, "sorts": SORTS,
        "live": any(row["status"] in RUNNING for row in rows), "filtered": bool(status or search),
        "first_page": not token, "unmatchable": unmatchable,
    }
    if visit.htmx:
        return visit.render("jobs_table.html", **context)
    return visit.render("jobs_list.html", title=kind.title, **context)


def _rows(visit, kind: JobKind, summaries: list[dict]) -> list[dict]:
    """The page's rows: each summary with what its Describe adds, where the user may describe it."""
    now = time.time()
    arns = [s[kind.arn_key] for s in summaries]
    allowed = visit.decisions([(f"sagemaker:Describe{kind.prefix}", arn) for arn in arns]) if arns else []
    rows = []
    for summary, decision in zip(summaries, allowed):
        name = summary[kind.name_key]
        document: dict = {}
        if decision is Decision.ALLOW:
            try:
                document = visit.call("sagemaker", f"Describe{kind.prefix}", {kind.name_key: name})
            except AwsError:
                document = {}  # gone between the list and now: the summary is still worth a row
        resources = document.get("ResourceConfig") or (document.get("ProcessingResources") or {}).get(
            "ClusterConfig") or {}
        status = summary.get(kind.status_key)
        seconds = _span(document.get(kind.start_key), summary.get(kind.end_key) or document.get(kind.end_key), now)
        rows.append({
            "name": name,
            "url": kind.job_path(name),
            "status": status,
            "secondary": summary.get("SecondaryStatus"),
            "created": summary.get("CreationTime"),
            "seconds": seconds,
            "running": status in RUNNING,
            "instance": resources.get("InstanceType"),
            "count": resources.get("InstanceCount"),
            "described": bool(document),
            "reason": summary.get("FailureReason") or document.get("FailureReason"),
        })
    return rows


@view("/training-jobs", page="training-jobs")
def training_jobs(visit):
    return _list(visit, TRAINING)


@view("/processing-jobs", page="processing-jobs")
def processing_jobs(visit):
    return _list(visit, PROCESSING)


# --- a job's page ---------------------------------------------------------------------------------


def _describe(visit, kind: JobKind) -> dict:
    name = visit.params["name"]
    job = visit.call("sagemaker", f"Describe{kind.prefix}", {kind.name_key: name})
    if visit.event is not None:
        visit.event.resource_arn = job.get(kind.arn_key)
    return job


def _state(visit, kind: JobKind, job: dict) -> dict:
    """What the status panel shows (and what tells a poll that the job moved on)."""
    now = time.time()
    status = job.get(kind.status_key)
    transitions = []
    for index, step in enumerate(job.get("SecondaryStatusTransitions") or []):
        transitions.append({
            "status": step.get("Status"),
            "start": _clock(step.get("StartTime")),
            "seconds": _span(step.get("StartTime"), step.get("EndTime"), now),
            "open": step.get("EndTime") is None,
            "message": step.get("StatusMessage"),
            "index": index,
        })
    if not transitions:  # processing jobs have none: the moments their document records
        for label, key in (("Created", "CreationTime"), ("Started", kind.start_key), (status, kind.end_key)):
            if job.get(key) is not None:
                transitions.append({"status": label, "start": _clock(job.get(key)), "seconds": None,
                                    "open": False, "message": None})
    stoppable = status == "InProgress" and visit.can(f"sagemaker:Stop{kind.prefix}", job.get(kind.arn_key, "*"))
    fingerprint = hashlib.sha256(repr((status, job.get("SecondaryStatus"), len(transitions),
                                       job.get("FailureReason"), job.get("ModelArtifacts"))).encode()).hexdigest()[:16]
    return {
        "status": status,
        "secondary": job.get("SecondaryStatus"),
        "reason": job.get("FailureReason"),
        "exit_message": job.get("ExitMessage"),
        "created": _clock(job.get("CreationTime")),
        "started": _clock(job.get(kind.start_key)),
        "ended": _clock(job.get(kind.end_key)) if job.get(kind.end_key) else None,
        "seconds": _span(job.get(kind.start_key), job.get(kind.end_key), now),
        "billable": job.get("BillableTimeInSeconds"),
        "modified": _clock(job.get("LastModifiedTime")),
        "running": status in RUNNING,
        "stoppable": stoppable,
        "transitions": transitions,
        "fingerprint": fingerprint,
    }


def _parameters(kind: JobKind, job: dict) -> dict:
    """The job's request, in the sections the page shows."""
    if kind is TRAINING:
        algorithm = job.get("AlgorithmSpecification") or {}
        resources = job.get("ResourceConfig") or {}
        inputs = []
        for channel in job.get("InputDataConfig") or []:
            s3 = (channel.get("DataSource") or {}).get("S3DataSource") or {}
            inputs.append({"name": channel.get("ChannelName"), "uri": s3.get("S3Uri"),
                           "link": artifact_link(s3.get("S3Uri")),
                           "local": f"/opt/ml/input/data/{channel.get('ChannelName')}",
                           "details": ", ".join(v for v in (s3.get("S3DataType"), channel.get("ContentType"),
                                                            s3.get("S3DataDistributionType"),
                                                            channel.get("InputMode")) if v)})
        output = (job.get("OutputDataConfig") or {}).get("S3OutputPath")
        outputs = [{"name": "Output path", "uri": output, "link": artifact_link(output), "local": "/opt/ml/model",
                    "details": ""}] if output else []
        artifacts = (job.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if artifacts:
            folder = artifacts.rsplit("/", 1)[0] + "/"  # the artifacts page lists the folder model.tar.gz is in
            outputs.insert(0, {"name": "Model artifacts", "uri": artifacts, "link": artifact_link(folder),
                               "local": "/opt/ml/model", "details": "model.tar.gz"})
        checkpoint = job.get("CheckpointConfig") or {}
        if checkpoint.get("S3Uri"):
            outputs.append({"name": "Checkpoints", "uri": checkpoint["S3Uri"],
                            "link": artifact_link(checkpoint["S3Uri"]),
                            "local": checkpoint.get("LocalPath"), "details": ""})
        image = algorithm.get("TrainingImage") or algorithm.get("AlgorithmName")
        facts = [("Image", image), ("Input mode", algorithm.get("TrainingInputMode")),
                 ("Entrypoint", " ".join(algorithm.get("ContainerEntrypoint") or []) or None),
                 ("Arguments", " ".join(algorithm.get("ContainerArguments") or []) or None)]
        return {
            "algorithm": [(k, v) for k, v in facts if v],
            "hyperparameters": sorted((job.get("HyperParameters") or {}).items()),
            "metric_definitions": algorithm.get("MetricDefinitions") or [],
            "inputs": inputs, "outputs": outputs,
            "resources": [(k, v) for k, v in (("Instance type", resources.get("InstanceType")),
                                              ("Instance count", resources.get("InstanceCount")),
                                              ("Volume size", f"{resources['VolumeSizeInGB']} GB"
                                               if resources.get("VolumeSizeInGB") else None)) if v],
            "stopping": _stopping(job.get("StoppingCondition") or {}),
            "role": job.get("RoleArn"),
            "environment": sorted((job.get("Environment") or {}).items()),
            "isolation": job.get("EnableNetworkIsolation"),
        }
    app = job.get("AppSpecification") or {}
    cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    inputs = []
    for item in job.get("ProcessingInputs") or []:
        s3 = item.get("S3Input") or {}
        inputs.append({"name": item.get("InputName"), "uri": s3.get("S3Uri"), "link": artifact_link(s3.get("S3Uri")),
                       "local": s3.get("LocalPath"),
                       "details": ", ".join(v for v in (s3.get("S3DataType"), s3.get("S3InputMode"),
                                                        s3.get("S3DataDistributionType")) if v)})
    outputs = []
    for item in (job.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        s3 = item.get("S3Output") or {}
        outputs.append({"name": item.get("OutputName"), "uri": s3.get("S3Uri"), "link": artifact_link(s3.get("S3Uri")),
                        "local": s3.get("LocalPath"), "details": s3.get("S3UploadMode") or ""})
    facts = [("Image", app.get("ImageUri")), ("Entrypoint", " ".join(app.get("ContainerEntrypoint") or []) or None),
             ("Arguments", " ".join(app.get("ContainerArguments") or []) or None)]
    network = job.get("NetworkConfig") or {}
    return {
        "algorithm": [(k, v) for k, v in facts if v],
        "hyperparameters": [],
        "metric_definitions": [],
        "inputs": inputs, "outputs": outputs,
        "resources": [(k, v) for k, v in (("Instance type", cluster.get("InstanceType")),
                                          ("Instance count", cluster.get("InstanceCount")),
                                          ("Volume size", f"{cluster['VolumeSizeInGB']} GB"
                                           if cluster.get("VolumeSizeInGB") else None)) if v],
        "stopping": _stopping(job.get("StoppingCondition") or {}),
        "role": job.get("RoleArn"),
        "environment": sorted((job.get("Environment") or {}).items()),
        "isolation": network.get("EnableNetworkIsolation"),
    }


def _stopping(condition: dict) -> list[tuple[str, str]]:
    from ..app import format_duration

    out = []
    if condition.get("MaxRuntimeInSeconds"):
        out.append(("Maximum run time", format_duration(condition["MaxRuntimeInSeconds"])))
    if condition.get("MaxWaitTimeInSeconds"):
        out.append(("Maximum wait time", format_duration(condition["MaxWaitTimeInSeconds"])))
    if condition.get("MaxPendingTimeInSeconds"):
        out.append(("Maximum pending time", format_duration(condition["MaxPendingTimeInSeconds"])))
    return out


def _metrics(visit, kind: JobKind, job: dict, drawn: int | None = None) -> dict:
    """The final metrics, and the chart of the metrics over time where CloudWatch has points.

    ``drawn``: how many points the page's chart already has; when CloudWatch has no more, no chart is
    drawn again (``chart`` is None and ``same`` True), since drawing one is the page's dearest part.
    """
    finals = [{"name": m.get("MetricName"), "value": m.get("Value"), "at": _clock(m.get("Timestamp"))}
              for m in job.get("FinalMetricDataList") or []]
    definitions = (job.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or []
    defined = [d["Name"] for d in definitions if d.get("Name")]
    out = {"finals": finals, "names": defined, "chart": None, "denied": False, "points": 0, "same": False}
    # The metrics the log has shown so far are those with a latest value (a built-in algorithm defines
    # dozens, of which a job emits a few); only those are asked of CloudWatch.
    names = [m["name"] for m in finals if m["name"] in defined]
    if kind is not TRAINING or not names:
        return out
    if not visit.can("cloudwatch:GetMetricData"):
        out["denied"] = True
        return out
    now = time.time()
    start = (_epoch(job.get(kind.start_key)) or _epoch(job.get("CreationTime")) or now) - 1
    end = (_epoch(job.get(kind.end_key)) or now) + 1
    period = next((p for p in PERIODS if (end - start) / p <= MAX_CHART_POINTS), PERIODS[-1])
    dimension = [{"Name": "TrainingJobName", "Value": job[kind.name_key]}]
    queries = [{"Id": f"m{index}", "Label": name, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": kind.log_group, "MetricName": name, "Dimensions": dimension},
        "Period": period, "Stat": "Average"}} for index, name in enumerate(names[:20])]
    answer = visit.call("cloudwatch", "GetMetricData", {
        "MetricDataQueries": queries, "StartTime": math.floor(start), "EndTime": math.ceil(end),
        "ScanBy": "TimestampAscending"})
    series = {}
    for result in answer.get("MetricDataResults", []):
        points = [(_epoch(t), v) for t, v in zip(result.get("Timestamps", []), result.get("Values", []))
                  if v is not None and math.isfinite(v)]
        series[result.get("Label")] = sorted(points)
    out["points"] = sum(len(p) for p in series.values())
    out["series"] = [(name, len(points), format_number(points[-1][1]) if points else None)
                     for name, points in series.items()]
    if drawn is not None and out["points"] == drawn:
        out["same"] = True
        return out
    if out["points"]:
        label = f"Chart of {', '.join(series)} over the job's run time"
        out["chart"] = charts.without_inline_styles(charts.series_svg(series, label=label, y_label="value", time_axis=True))
        out["period"] = period
    return out


def _job_page(visit, kind: JobKind):
    job = _describe(visit, kind)
    state = _state(visit, kind, job)
    metrics = _metrics(visit, kind, job)
    logs = _log_start(visit, kind, job, visit.query.get("stream"), state["fingerprint"], metrics["points"])
    return visit.render(
        "jobs_detail.html", title=f"{kind.noun.capitalize()} {job[kind.name_key]}", kind=kind, job=job,
        name=job[kind.name_key], arn=job.get(kind.arn_key), state=state, params=_parameters(kind, job),
        metrics=metrics, logs=logs,
    )


@view("/training-jobs/{name}", page="training-jobs", operation="ViewTrainingJob")
def training_job(visit):
    return _job_page(visit, TRAINING)


@view("/processing-jobs/{name}", page="processing-jobs", operation="ViewProcessingJob")
def processing_job(visit):
    return _job_page(visit, PROCESSING)


# --- logs ---------------------------------------------------------------------------------------------


def _streams(visit, kind: JobKind, name: str) -> list[str] | None:
    """The job's log streams (``<job>/algo-1-<epoch>``...), newest attempt first; None if the user may not list them."""
    try:
        answer = visit.call("logs", "DescribeLogStreams", {"logGroupName": kind.log_group,
                                                            "logStreamNamePrefix": f"{name}/", "limit": 50})
    except AwsError as error:
        if error.code == "ResourceNotFoundException":
            return []  # no job has written a line to the group yet
        if error.status == 403 or "AccessDenied" in error.code:
            return None
        raise
    names = [s["logStreamName"] for s in answer.get("logStreams", [])]

    def order(stream: str):
        host, _, epoch = stream.rpartition("-")
        return (-int(epoch) if epoch.isdigit() else 0, host)

    return sorted(names, key=order)


def _events(visit, kind: JobKind, stream: str, token: str | None) -> tuple[list[str], str | None]:
    """Lines of ``stream``: the tail (no token), or those after ``token``; and the forward token to go on from."""
    params = {"logGroupName": kind.log_group, "logStreamName": stream, "limit": LOG_LINES}
    if token:
        params["nextToken"] = token
    else:
        params["startFromHead"] = False
    answer = visit.call("logs", "GetLogEvents", params)
    return [e["message"] for e in answer.get("events", [])], answer.get("nextForwardToken")


def _log_start(visit, kind: JobKind, job: dict, wanted: str | None, seen: str, points: int) -> dict:
    """The log panel as the page first draws it: the chosen stream's tail and how to follow it."""
    name = job[kind.name_key]
    streams = _streams(visit, kind, name)
    if streams is None:
        return {"denied": True, "streams": [], "stream": None, "lines": [], "poll": None}
    stream = wanted if wanted in streams else (streams[0] if streams else None)
    try:
        lines, token = _events(visit, kind, stream, None) if stream else ([], None)
    except AwsError as error:
        if error.status == 403 or "AccessDenied" in error.code:
            return {"denied": True, "streams": [], "stream": None, "lines": [], "poll": None}
        raise
    running = job.get(kind.status_key) in RUNNING
    return {
        "denied": False, "streams": streams, "stream": stream, "lines": lines, "truncated": len(lines) >= LOG_LINES,
        "poll": _poll_url(kind, name, stream, token, seen, points, waiting=not lines) if running else None,
    }


def _poll_url(kind: JobKind, name: str, stream: str | None, token: str | None, seen: str, points: int, *,
              waiting: bool) -> str:
    """The next poll: where the log goes on (stream, forward token) and what the page shows now (the
    status panel's fingerprint, the chart's number of points, whether it still waits for a first line)."""
    return f"{kind.job_path(name)}/logs?" + _query(stream=stream, token=token, seen=seen, points=points or "",
                                                   waiting="1" if waiting else "")


def _log_poll(visit, kind: JobKind):
    if visit.query.get("format") == "text":
        return _log_text(visit, kind)
    job = _describe(visit, kind)
    name = job[kind.name_key]
    stream, token = visit.query.get("stream") or None, visit.query.get("token") or None
    waiting = bool(visit.query.get("waiting"))
    lines: list[str] = []
    if stream is None:
        streams = _streams(visit, kind, name) or []
        stream = streams[0] if streams else None
    if stream is not None:
        lines, token = _events(visit, kind, stream, token)
    running = job.get(kind.status_key) in RUNNING
    # Go on while the job runs, and after it ended while a poll still brings lines (the engine ships the
    # last lines before it records the end, but a full page may have more behind it).
    more = running or bool(lines)
    state = _state(visit, kind, job)
    seen = visit.query.get("seen")
    changed = seen is not None and seen != state["fingerprint"]
    drawn = int(visit.query.get("points") or 0) if (visit.query.get("points") or "0").isdigit() else 0
    metrics = None
    if (lines and kind is TRAINING) or changed:
        metrics = _metrics(visit, kind, job, None if changed else drawn)
    points = metrics["points"] if metrics is not None else drawn
    if metrics is not None and metrics["same"]:
        metrics = None  # nothing new to draw
    return visit.render(
        "jobs_logs.html", kind=kind, job=job, name=name, lines=lines, waiting=waiting, state=state, changed=changed,
        metrics=metrics, params=_parameters(kind, job) if changed else None,
        poll=_poll_url(kind, name, stream, token, state["fingerprint"], points, waiting=waiting and not lines)
        if more else None,
    )


def _log_text(visit, kind: JobKind) -> Response:
    """The whole of one stream as a text file (up to :data:`MAX_DOWNLOAD_LINES` lines)."""
    name, stream = visit.params["name"], visit.query.get("stream") or ""
    if not stream.startswith(f"{name}/"):
        raise ValidationException(f"The log stream {stream!r} is not one of the {kind.noun} {name}'s streams.")
    lines: list[str] = []
    params = {"logGroupName": kind.log_group, "logStreamName": stream, "startFromHead": True, "limit": 10_000}
    while len(lines) < MAX_DOWNLOAD_LINES:
        answer = visit.call("logs", "GetLogEvents", params)
        lines += [e["message"] for e in answer.get("events", [])]
        if not answer.get("events") or answer.get("nextForwardToken") == params.get("nextToken"):
            break
        params = {"logGroupName": kind.log_group, "logStreamName": stream, "nextToken": answer["nextForwardToken"],
                  "limit": 10_000}
    filename = stream.replace("/", "_") + ".log"
    return Response("".join(line + "\n" for line in lines[:MAX_DOWNLOAD_LINES]), media_type="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@view("/training-jobs/{name}/logs", page="training-jobs", operation="ViewTrainingJobLogs")
def training_job_logs(visit):
    return _log_poll(visit, TRAINING)


@view("/processing-jobs/{name}/logs", page="processing-jobs", operation="ViewProcessingJobLogs")
def processing_job_logs(visit):
    return _log_poll(visit, PROCESSING)


# --- stop -------------------------------------------------------------------------------------------


def _stop_confirm(visit, kind: JobKind):
    job = _describe(visit, kind)
    return visit.render("jobs_stop.html", title=f"Stop {kind.noun} {job[kind.name_key]}", kind=kind, job=job,
                        name=job[kind.name_key], state=_state(visit, kind, job))


def _stop(visit, kind: JobKind):
    name = visit.params["name"]
    try:
        visit.call("sagemaker", f"Stop{kind.prefix}", {kind.name_key: name})
    except AwsError as error:
        if "AccessDenied" in error.code:
            # SageMaker's wire status for AccessDeniedException is 400; a web page refused for want of a
            # permission is HTTP 403 (the audit row, written by the call, keeps the API's answer).
            error.status = 403
        raise
    return visit.redirect(kind.job_path(name), notice=(
        f"Stopping the {kind.noun} {name}. Its processes are being ended; the status shows Stopped once they have."))


@view("/training-jobs/{name}/stop", page="training-jobs", operation="ViewStopTrainingJob")
def training_job_stop_form(visit):
    return _stop_confirm(visit, TRAINING)


@view("/training-jobs/{name}/stop", page="training-jobs", method="POST")
def training_job_stop(visit):
    return _stop(visit, TRAINING)


@view("/processing-jobs/{name}/stop", page="processing-jobs", operation="ViewStopProcessingJob")
def processing_job_stop_form(visit):
    return _stop_confirm(visit, PROCESSING)


@view("/processing-jobs/{name}/stop", page="processing-jobs", method="POST")
def processing_job_stop(visit):
    return _stop(visit, PROCESSING)
