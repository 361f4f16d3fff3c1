"""The Model registry pages: model package groups, their versions, one version, approvals and comparison.

* ``/console/model-registry``: the groups (ListModelPackageGroups, searched by
  ``NameContains`` and paged by ``NextToken``), each with its number of
  versions and its latest version's approval (one ``Search`` of the group's
  packages, newest first, whose ``TotalHits`` is the count);
* ``/console/model-registry/{group}``: the group's versions (ListModelPackages,
  newest first, filtered by approval status), each with its headline metrics;
* ``/console/model-registry/{group}/{version}``: DescribeModelPackage drawn as a
  page: approval, inference containers, the values of its ModelMetrics reports
  (JSON documents read with S3 GetObject), customer metadata, lineage, and the
  version's state-change events (its approval history);
* ``POST .../{version}/approval``: UpdateModelPackage with ``ModelApprovalStatus``
  and ``ApprovalDescription``, the API's own approval workflow (its transitions,
  its ``sagemaker:ModelApprovalStatus`` condition key, its event and audit row).
  Rejecting an Approved version asks for confirmation first;
* ``/console/model-registry/{group}/compare?a=1&b=3``: two versions side by side,
  differences marked, and every metric charted across the group's versions.

Everything is read and changed through :meth:`Visit.call` as the signed-in user,
so a person sees only what their policies let them describe, and the Approve and
Reject buttons only when they may call UpdateModelPackage on the version.
"""

from __future__ import annotations

import base64
import json
import math
import urllib.parse
from dataclasses import dataclass, field

from ...errors import AwsError, ValidationException
from ...render.charts import series_svg
from ...services.model_package_events import state_changes
from ...services.model_packages import APPROVED, PENDING, REJECTED, TRANSITIONS
from ...store.artifacts import parse as parse_uri
from . import view

PAGE = "model-registry"
GROUPS_PER_PAGE = 20
VERSIONS_PER_PAGE = 20
#: The compare page charts at most this many of the group's newest versions.
CHART_VERSIONS = 50
#: Metrics reports larger than this are not read into the page (the artifact store has them).
MAX_REPORT_BYTES = 2 << 20
#: At most this many lines per chart: past that a legend cannot be read.
MAX_SERIES = 10
#: Headline metrics of the versions table, in order of preference.
HEADLINE = ("auc", "f1", "accuracy", "precision", "recall", "rmse", "mae", "r2", "mse")

_SORTS = {  # the groups list's "Sort by" choices: (label, SortBy, SortOrder)
    "newest": ("Newest first", "CreationTime", "Descending"),
    "oldest": ("Oldest first", "CreationTime", "Ascending"),
    "name": ("Name (A to Z)", "Name", "Ascending"),
}
_VERBS = {APPROVED: "approved", REJECTED: "rejected"}
# Where ModelMetrics keeps its reports: (member, part, what a person calls it).
_REPORTS = (
    ("ModelQuality", "Statistics", "Model quality statistics"),
    ("ModelQuality", "Constraints", "Model quality constraints"),
    ("ModelDataQuality", "Statistics", "Data quality statistics"),
    ("ModelDataQuality", "Constraints", "Data quality constraints"),
    ("Bias", "Report", "Bias report"),
    ("Bias", "PreTrainingReport", "Pre-training bias report"),
    ("Bias", "PostTrainingReport", "Post-training bias report"),
    ("Explainability", "Report", "Explainability report"),
)


# --- reading a version's metrics reports ---------------------------------------------------------


@dataclass
class Report:
    """One report of a version's ModelMetrics (or DriftCheckBaselines), with what could be read of it."""

    label: str
    uri: str
    content_type: str | None = None
    metrics: list[tuple[str, float]] = field(default_factory=list)
    summary: str | None = None  # what a report with no metric values holds, in a phrase
    problem: str | None = None  # why it could not be read, in words a person can act on


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def report_metrics(document) -> tuple[list[tuple[str, float]], str | None]:
    """The metric values of a report document, and a phrase for one that holds no metric values.

    Understood: model quality monitoring's statistics (``*_metrics`` members of
    ``{"value": ...}``), Clarify's ``analysis.json`` (bias metrics per facet,
    global SHAP values), Model Monitor's data statistics and constraints
    (summarized), and any flat object of numbers.
    """
    if not isinstance(document, dict):
        return [], "a JSON document that is not an object"
    found: list[tuple[str, float]] = []
    for key, members in document.items():
        if key.endswith("_metrics") and isinstance(members, dict) and "facets" not in members:
            for name, metric in members.items():
                value = _number(metric.get("value")) if isinstance(metric, dict) else _number(metric)
                if value is not None:
                    found.append((name, value))
    for stage in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        facets = (document.get(stage) or {}).get("facets") or {}
        for facet, groups in facets.items():
            for group in groups if isinstance(groups, list) else []:
                for metric in group.get("metrics") or []:
                    value = _number(metric.get("value"))
                    if value is not None:
                        found.append((f"{metric.get('name')} ({facet} = {group.get('value_or_threshold')})", value))
    explanations = document.get("explanations") or {}
    for method, labels in explanations.items() if isinstance(explanations, dict) else []:
        for label, explained in (labels or {}).items() if isinstance(labels, dict) else []:
            for feature, value in (explained.get("global_shap_values") or {}).items():
                if _number(value) is not None:
                    found.append((f"SHAP {feature}" + (f" ({label})" if len(labels) > 1 else ""), float(value)))
    if found:
        return found, None
    if isinstance(document.get("features"), list):
        features = len(document["features"])
        items = (document.get("dataset") or {}).get("item_count")
        if any("completeness" in f or f.get("num_constraints") or f.get("string_constraints")
               for f in document["features"] if isinstance(f, dict)):
            return [], f"constraints for {features} features"
        rows = f"{int(items):,} rows, " if _number(items) is not None else ""
        return [], f"statistics of {rows}{features} features"
    flat = [(name, float(value)) for name, value in document.items()
            if _number(value) is not None and name != "version"]
    return flat, None if flat else "no metric values this page understands"


class ReportReader:
    """Reads reports' JSON through S3 GetObject as the user, each URI once per request."""

    def __init__(self, visit):
        self.visit = visit
        self.cache: dict[str, tuple] = {}

    def read(self, label: str, source: dict) -> Report:
        uri = source.get("S3Uri") or ""
        report = Report(label, uri, source.get("ContentType"))
        if uri not in self.cache:
            self.cache[uri] = self._load(uri)
        report.metrics, report.summary, report.problem = self.cache[uri]
        return report

    def _load(self, uri: str) -> tuple:
        try:
            location = parse_uri(uri)
        except ValidationException as error:
            return [], None, error.message
        if location.scheme != "s3" or not location.key:
            return [], None, "it is not an object of the artifact store (an s3:// URI), so it is not read here."
        # Asked first, so a person without read access is told so, not recorded as refused on every view.
        if not self.visit.can("s3:GetObject", f"arn:aws:s3:::{location.bucket}/{location.key}"):
            return [], None, ("your policies do not allow s3:GetObject on this object, so its values cannot be "
                              "read here. An administrator can grant read access to the bucket (Role Manager's "
                              "artifact access).")
        try:
            answer = self.visit.call("s3", "GetObject", {
                "Bucket": location.bucket, "Key": location.key, "Range": f"bytes=0-{MAX_REPORT_BYTES}",
            })
        except AwsError as error:
            if error.code in ("NoSuchKey", "NoSuchBucket"):
                return [], None, "there is no object at this URI any more (it may have been moved or deleted)."
            return [], None, f"it could not be read: {error.message} (error {error.code})"
        body = answer.get("Body") or ()
        try:
            data = b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        if len(data) > MAX_REPORT_BYTES:
            return [], None, (f"it is larger than {MAX_REPORT_BYTES >> 20} MiB, too large to read here; "
                              "download it instead.")
        try:
            document = json.loads(data)
        except ValueError:
            return [], None, "it is not a JSON document, so its values cannot be shown here."
        metrics, summary = report_metrics(document)
        return metrics, summary, None


def reports_of(reader: ReportReader, package: dict) -> list[Report]:
    """The reports a version's ModelMetrics names, read, in the order of the model."""
    metrics = package.get("ModelMetrics") or {}
    return [reader.read(label, metrics[member][part]) for member, part, label in _REPORTS
            if isinstance((metrics.get(member) or {}).get(part), dict)]


def metric_values(reports: list[Report]) -> dict[str, dict[str, float]]:
    """``{report label: {metric: value}}`` of the reports that hold metric values."""
    return {r.label: dict(r.metrics) for r in reports if r.metrics}


def headline(reports: list[Report], count: int = 3) -> list[tuple[str, float]]:
    """A few metrics that say how good a version is: model quality's first, in :data:`HEADLINE` order."""
    quality = next((r for r in reports if r.label.startswith("Model quality") and r.metrics), None)
    if quality is None:
        quality = next((r for r in reports if r.metrics), None)
    if quality is None:
        return []
    values = dict(quality.metrics)
    picked = [(name, values[name]) for name in HEADLINE if name in values]
    picked += [(name, value) for name, value in quality.metrics if name not in HEADLINE]
    return picked[:count]


def drift_baselines(package: dict) -> list[tuple[str, str]]:
    """``(what, URI)`` of every file DriftCheckBaselines names."""
    found = []
    for member, parts in (package.get("DriftCheckBaselines") or {}).items():
        for part, source in (parts or {}).items():
            if isinstance(source, dict) and source.get("S3Uri"):
                found.append((f"{_words(member)}: {_words(part)}", source["S3Uri"]))
    return found


# --- small helpers --------------------------------------------------------------------------------


def _words(name: str) -> str:
    """``PreTrainingConstraints`` as ``pre-training constraints``; ``ModelDataQuality`` as ``model data quality``."""
    out = ""
    for index, ch in enumerate(name):
        if ch.isupper() and index and not name[index - 1].isupper():
            out += " "
        out += ch.lower()
    return out.replace("pre training", "pre-training").replace("post training", "post-training")


def who(context) -> str | None:
    """The person in a ``CreatedBy`` / ``LastModifiedBy``: the IAM user or role name, else the profile."""
    if not isinstance(context, dict):
        return None
    arn = (context.get("IamIdentity") or {}).get("Arn") or context.get("UserProfileArn")
    if arn:
        resource = arn.split(":", 5)[-1]
        return resource.split("/", 1)[-1] if "/" in resource else resource
    return context.get("UserProfileName")


def identity_arn(context) -> str | None:
    return ((context or {}).get("IamIdentity") or {}).get("Arn") if isinstance(context, dict) else None


def _url(path: str, **query) -> str:
    pairs = [(k, v) for k, values in query.items()
             for v in (values if isinstance(values, (list, tuple)) else [values]) if v not in (None, "") or k == "back"]
    return path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


def _pages(visit, path: str, token: str | None, next_token: str | None, **query) -> tuple[str | None, str | None]:
    """Previous and next links for NextToken paging: the tokens of the pages before ride along as ``back``."""
    back = visit.query.getlist("back")
    prev_url = _url(path, **query, token=back[-1] or None, back=back[:-1]) if back else None
    next_url = _url(path, **query, token=next_token, back=[*back, token or ""]) if next_token else None
    return prev_url, next_url


def _not_found(message: str) -> AwsError:
    return AwsError(message, code="ResourceNotFound", status=404)


def _missing(error: AwsError) -> bool:
    return error.code == "ValidationException" and "does not exist" in error.message


def _as_page_refusal(error: AwsError) -> AwsError:
    """The API's AccessDenied answered as a console refusal (403), message and code unchanged."""
    if "AccessDenied" in error.code and error.status != 403:
        return AwsError(error.message, code=error.code, status=403)
    return error


def describe_group(visit, name: str) -> dict:
    try:
        return visit.call("sagemaker", "DescribeModelPackageGroup", {"ModelPackageGroupName": name})
    except AwsError as error:
        if _missing(error):
            raise _not_found(f"There is no model group named {name} in this account and region.") from None
        raise _as_page_refusal(error) from None


def describe_version(visit, group: str, version: str) -> dict:
    if not version.isdigit() or int(version) < 1:
        raise _not_found(f"{version} is not a version number: versions of {group} are numbered 1, 2, 3, ...")
    try:
        return visit.call("sagemaker", "DescribeModelPackage", {"ModelPackageName": f"{group}/{int(version)}"})
    except AwsError as error:
        if _missing(error):
            raise _not_found(f"Model group {group} has no version {int(version)}.") from None
        raise _as_page_refusal(error) from None


# --- the groups ------------------------------------------------------------------------------------


def _group_versions(visit, name: str) -> tuple[int | None, dict | None]:
    """How many versions a group has and its newest one: one Search, or ListModelPackages without Search."""
    try:
        found = visit.call("sagemaker", "Search", {
            "Resource": "ModelPackage", "MaxResults": 1, "SortBy": "CreationTime", "SortOrder": "Descending",
            "SearchExpression": {"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": name}]},
        })
        latest = found["Results"][0]["ModelPackage"] if found.get("Results") else None
        return found.get("TotalHits", {}).get("Value"), latest
    except AwsError:
        pass  # no sagemaker:Search: the newest version still comes from the list
    try:
        listed = visit.call("sagemaker", "ListModelPackages", {
            "ModelPackageGroupName": name, "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 1,
        })["ModelPackageSummaryList"]
    except AwsError:
        return None, None
    return (0 if not listed else None), (listed[0] if listed else None)


@view("/model-registry", page=PAGE)
def groups(visit):
    """Every model package group, searched by name and paged."""
    q = visit.query.get("q", "").strip()
    sort = visit.query.get("sort", "newest")
    sort = sort if sort in _SORTS else "newest"
    token = visit.query.get("token") or None
    params = {"MaxResults": GROUPS_PER_PAGE, "SortBy": _SORTS[sort][1], "SortOrder": _SORTS[sort][2]}
    if q:
        params["NameContains"] = q[:63]
    if token:
        params["NextToken"] = token
    answer = visit.call("sagemaker", "ListModelPackageGroups", params)
    rows = []
    for summary in answer["ModelPackageGroupSummaryList"]:
        count, latest = _group_versions(visit, summary["ModelPackageGroupName"])
        rows.append({"group": summary, "count": count, "latest": latest})
    prev_url, next_url = _pages(visit, "/console/model-registry", token, answer.get("NextToken"),
                                q=q, sort=sort if sort != "newest" else None)
    return visit.render("model_registry.html", title="Model registry", rows=rows, q=q, sort=sort, sorts=_SORTS,
                        prev_url=prev_url, next_url=next_url, first_page=not token)


# --- a group's versions -----------------------------------------------------------------------------


def _version_row(visit, reader: ReportReader, summary: dict) -> dict:
    """A version's row: its summary, who registered it, and its headline metrics."""
    try:
        package = visit.call("sagemaker", "DescribeModelPackage", {"ModelPackageName": summary["ModelPackageArn"]})
    except AwsError:
        return {"summary": summary, "by": None, "headline": [], "reports": 0}
    reports = reports_of(reader, package)
    return {"summary": summary, "by": who(package.get("CreatedBy")), "headline": headline(reports),
            "reports": len(reports)}


@view("/model-registry/{group}", page=PAGE)
def versions(visit):
    """A group's versions, newest first, filtered by approval status."""
    name = visit.params["group"]
    group = describe_group(visit, name)
    visit.event.resource_arn = group["ModelPackageGroupArn"]
    approval = visit.query.get("approval", "")
    approval = approval if approval in (APPROVED, REJECTED, PENDING) else ""
    token = visit.query.get("token") or None
    params = {"ModelPackageGroupName": name, "SortBy": "CreationTime", "SortOrder": "Descending",
              "MaxResults": VERSIONS_PER_PAGE}
    if approval:
        params["ModelApprovalStatus"] = approval
    if token:
        params["NextToken"] = token
    answer = visit.call("sagemaker", "ListModelPackages", params)
    reader = ReportReader(visit)
    rows = [_version_row(visit, reader, s) for s in answer["ModelPackageSummaryList"]]
    prev_url, next_url = _pages(visit, f"/console/model-registry/{name}", token, answer.get("NextToken"),
                                approval=approval)
    # The compare form's choices: this page's versions (the newest ones, unless filtered or paged).
    numbers = [r["summary"]["ModelPackageVersion"] for r in rows]
    return visit.render("model_registry_group.html", title=f"{name} · Model registry", group=group, rows=rows,
                        approval=approval, statuses=(APPROVED, PENDING, REJECTED), prev_url=prev_url,
                        next_url=next_url, first_page=not token, numbers=numbers, who=who)


# --- one version, and its approval --------------------------------------------------------------------


def _version_context(visit, group: str, package: dict) -> dict:
    arn = package["ModelPackageArn"]
    current = package.get("ModelApprovalStatus")
    may_update = visit.can("sagemaker:UpdateModelPackage", arn)
    history = visit.read(state_changes, account=visit.console.account, region=visit.console.region, package_arn=arn)
    return dict(
        group_name=group, package=package, reports=reports_of(ReportReader(visit), package),
        drift=drift_baselines(package), history=history, who=who, identity_arn=identity_arn,
        choices=sorted(TRANSITIONS.get(current, ())) if may_update and package.get("ModelPackageVersion") else [],
    )


@view("/model-registry/{group}/compare", page=PAGE)
def compare(visit):
    """Two versions side by side, and every metric of the group's versions on charts."""
    name = visit.params["group"]
    group = describe_group(visit, name)
    visit.event.resource_arn = group["ModelPackageGroupArn"]
    listed = visit.call("sagemaker", "ListModelPackages", {
        "ModelPackageGroupName": name, "SortBy": "CreationTime", "SortOrder": "Descending",
        "MaxResults": CHART_VERSIONS,
    })
    summaries = listed["ModelPackageSummaryList"][::-1]  # oldest first, as a chart's x axis reads
    numbers = [s["ModelPackageVersion"] for s in summaries]
    context = dict(group=group, numbers=numbers, truncated=bool(listed.get("NextToken")), side=None, charts=[],
                   problem=None)
    if len(numbers) < 2:
        return visit.render("model_registry_compare.html", title=f"Compare · {name}", **context)
    picked = [visit.query.get("a", ""), visit.query.get("b", "")]
    if not all(p.isdigit() for p in picked):
        picked = [str(numbers[-2]), str(numbers[-1])]  # the two newest: what a reviewer usually compares
    elif picked[0] == picked[1]:
        context["problem"] = f"Both sides are version {picked[0]}: pick two different versions."
    reader = ReportReader(visit)
    packages = [describe_version(visit, name, p) for p in picked]
    context["side"] = _side_by_side(reader, packages)
    context["a"], context["b"] = (p["ModelPackageVersion"] for p in packages)
    context["charts"] = _charts(visit, reader, name, summaries)
    return visit.render("model_registry_compare.html", title=f"Compare v{picked[0]} and v{picked[1]} · {name}",
                        **context)


_CONTAINER_FIELDS = {"Image": "Image", "Framework": "Framework", "FrameworkVersion": "Framework version",
                     "ModelDataUrl": "Model data URL", "NearestModelName": "Nearest model"}
_SPEC_FIELDS = {"SupportedContentTypes": "Content types", "SupportedResponseMIMETypes": "Response types",
                "SupportedRealtimeInferenceInstanceTypes": "Real-time instances",
                "SupportedTransformInstanceTypes": "Batch transform instances"}
_METADATA_FIELDS = {"Domain": "Domain", "Task": "Task", "ModelPackageRegistrationType": "Registration type",
                    "SamplePayloadUrl": "Sample payload", "SourceUri": "Source URI", "GeneratedBy": "Generated by",
                    "Repository": "Repository", "CommitId": "Commit", "ProjectId": "Project"}


def _containers(package: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    spec = package.get("InferenceSpecification") or {}
    for index, container in enumerate(spec.get("Containers") or [], 1):
        prefix = f"Container {index}: " if index > 1 else ""
        for key, label in _CONTAINER_FIELDS.items():
            if container.get(key):
                out[prefix + label] = str(container[key])
        for key, value in sorted((container.get("Environment") or {}).items()):
            out[f"{prefix}Environment {key}"] = str(value)
    for key, label in _SPEC_FIELDS.items():
        if spec.get(key):
            out[label] = ", ".join(spec[key])
    return out


def _metadata(package: dict) -> dict[str, str]:
    fields = {**package, **(package.get("MetadataProperties") or {})}
    out = {"Description": package.get("ModelPackageDescription") or ""}
    out.update({label: str(fields[key]) for key, label in _METADATA_FIELDS.items() if fields.get(key)})
    for key, value in sorted((package.get("CustomerMetadataProperties") or {}).items()):
        out[f"Customer metadata {key}"] = value
    return {k: v for k, v in out.items() if v}


def _side_by_side(reader: ReportReader, packages: list[dict]) -> list[dict]:
    """Sections of ``{"title", "rows": [(field, value a, value b, differs)]}`` for two versions."""

    def rows(left: dict, right: dict) -> list[tuple]:
        keys = list(dict.fromkeys([*left, *right]))
        return [(k, left.get(k), right.get(k), left.get(k) != right.get(k)) for k in keys]

    approvals = [{"Approval status": p.get("ModelApprovalStatus"), "Comment": p.get("ApprovalDescription"),
                  "Registered by": who(p.get("CreatedBy")), "Last changed by": who(p.get("LastModifiedBy"))}
                 for p in packages]
    values = [metric_values(reports_of(reader, p)) for p in packages]
    sections = [{"title": "Approval", "rows": rows(*approvals), "numeric": False}]
    for label in dict.fromkeys([*values[0], *values[1]]):
        sections.append({"title": label, "rows": rows(values[0].get(label, {}), values[1].get(label, {})),
                         "numeric": True})
    sections.append({"title": "Inference containers", "rows": rows(*map(_containers, packages)), "numeric": False})
    sections.append({"title": "Metadata", "rows": rows(*map(_metadata, packages)), "numeric": False})
    return [s for s in sections if s["rows"]]


def _charts(visit, reader: ReportReader, name: str, summaries: list[dict]) -> list[dict]:
    """One chart per report kind: each of its metrics across the versions (x = version)."""
    by_label: dict[str, dict[str, list]] = {}
    for summary in summaries:
        try:
            package = visit.call("sagemaker", "DescribeModelPackage", {"ModelPackageName": summary["ModelPackageArn"]})
        except AwsError:
            continue
        for label, metrics in metric_values(reports_of(reader, package)).items():
            for metric, value in metrics.items():
                points = by_label.setdefault(label, {}).setdefault(metric, [])
                points.append((str(summary["ModelPackageVersion"]), value))
    charts = []
    for label, series in by_label.items():
        shown = dict(list(series.items())[:MAX_SERIES])
        versions_seen = list(dict.fromkeys(x for points in shown.values() for x, _ in points))
        alt = f"{label} of {name} by version"
        try:
            drawn = series_svg(shown, label=alt, x_label="version", y_label="value")
        except ValueError:
            continue
        # An image, not inline SVG: matplotlib's SVG styles its shapes with style attributes, which the
        # console's Content-Security-Policy (style-src 'self') refuses inline but not inside an image.
        source = "data:image/svg+xml;base64," + base64.b64encode(drawn.encode()).decode()
        charts.append({"label": label, "alt": alt, "src": source, "series": shown, "versions": versions_seen,
                       "left_out": len(series) - len(shown)})
    return charts


@view("/model-registry/{group}/{version}", page=PAGE)
def version(visit):
    """One version: approval, containers, metrics, metadata, lineage and its approval history."""
    name = visit.params["group"]
    package = describe_version(visit, name, visit.params["version"])
    visit.event.resource_arn = package["ModelPackageArn"]
    return visit.render("model_registry_version.html",
                        title=f"Version {package['ModelPackageVersion']} · {name}",
                        comment="", error=None, **_version_context(visit, name, package))


@view("/model-registry/{group}/{version}/approval", page=PAGE, method="POST")
def approval(visit):
    """Approve or reject a version with a comment; rejecting an Approved one is confirmed first."""
    name = visit.params["group"]
    package = describe_version(visit, name, visit.params["version"])
    number = package["ModelPackageVersion"]
    wanted = visit.form.get("ModelApprovalStatus", "")
    comment = visit.form.get("ApprovalDescription", "").strip()
    here = f"/console/model-registry/{name}/{number}"
    if wanted == REJECTED and package.get("ModelApprovalStatus") == APPROVED and visit.form.get("confirmed") != "yes":
        return visit.render("model_registry_confirm.html", title=f"Reject version {number}? · {name}",
                            group_name=name, package=package, comment=comment, here=here)
    params = {"ModelPackageArn": package["ModelPackageArn"], "ModelApprovalStatus": wanted}
    if comment:
        params["ApprovalDescription"] = comment
    try:
        visit.call("sagemaker", "UpdateModelPackage", params)
    except AwsError as error:
        if "AccessDenied" in error.code:
            raise _as_page_refusal(error) from None
        # A refused transition or a comment too long: said on the page, the comment kept to send again.
        return visit.render("model_registry_version.html", 400, title=f"Version {number} · {name}",
                            comment=comment, error=error, **_version_context(visit, name, package))
    return visit.redirect(here, notice=f"Version {number} {_VERBS.get(wanted, 'updated')}.")


@view("/model-registry/{group}/{version}/approval", page=PAGE)
def approval_page(visit):
    """The approval form lives on the version's page (a reload of the confirmation step lands there)."""
    return visit.redirect(f"/console/model-registry/{visit.params['group']}/{visit.params['version']}#approval")
