"""An identity's effective permissions, explained: which statement of which policy decides each action.

Role Manager's identity page asks, for a list of actions (the common ones of
ML work, each ML activity's own, or one a person types), whether the
identity's policies allow it, and why.  Each question is decided by
:func:`charter.iam.policy.explain`, the evaluation that authorizes every API
call, over the identity-based policies attached to the identity, so the answer
is the one the API would give for that action on that resource, with the
condition keys named in :attr:`Check.context`.  Resource-based policies (a
model package group's policy, say) are not considered: they belong to the
resource, not the identity, and are shown where the resource is.

An ML activity is *fully* granted when every action its statements name is
allowed on the resources they name (each checked with the values its own
conditions require, e.g. ``iam:PassedToService`` for ``iam:PassRole``), and
*partly* granted when some are.  A wildcard action (``sagemaker:List*``) is
checked as written: a policy covers it only if it grants at least that
wildcard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import personas, policy

__all__ = [
    "Check",
    "Coverage",
    "Finding",
    "Reason",
    "activity_coverage",
    "common_checks",
    "data_location",
    "explain_checks",
]


@dataclass(frozen=True)
class Check:
    """One question: may the identity do ``action`` on ``resource`` (with these condition keys)?"""

    action: str
    resource: str
    label: str = ""  # what the question is, in words
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    """A statement that decided a check."""

    policy_arn: str
    policy_name: str
    sid: str  # the statement's Sid, or ``Statement[i]`` when it has none
    effect: str  # Allow or Deny


@dataclass(frozen=True)
class Finding:
    check: Check
    decision: policy.Decision
    reasons: tuple[Reason, ...]

    @property
    def allowed(self) -> bool:
        return self.decision is policy.Decision.ALLOW

    @property
    def why(self) -> str:
        """The decision in a sentence a person can act on."""
        named = ", ".join(f"statement {r.sid} of policy {r.policy_name}" for r in self.reasons)
        if self.decision is policy.Decision.ALLOW:
            return f"Allowed by {named}."
        if self.decision is policy.Decision.EXPLICIT_DENY:
            return f"Denied explicitly by {named}; a Deny wins over every Allow."
        return "Denied: no statement of the attached policies allows it (an implicit deny)."


@dataclass(frozen=True)
class Coverage:
    """How much of one ML activity an identity's policies grant."""

    activity: personas.Activity
    findings: tuple[Finding, ...]

    @property
    def granted(self) -> int:
        return sum(finding.allowed for finding in self.findings)

    @property
    def total(self) -> int:
        return len(self.findings)

    @property
    def state(self) -> str:
        """``full``, ``partial``, ``none``, or ``empty`` (the activity names nothing here, e.g. no bucket)."""
        if not self.findings:
            return "empty"
        if self.granted == self.total:
            return "full"
        return "partial" if self.granted else "none"

    @property
    def missing(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.allowed]


def _statements(document: dict) -> list[dict]:
    raw = document.get("Statement", [])
    return raw if isinstance(raw, list) else [raw]


def _effects(document: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, statement in enumerate(_statements(document)):
        if isinstance(statement, dict):
            out.setdefault(statement.get("Sid") or f"Statement[{i}]", statement.get("Effect", "Allow"))
    return out


def explain_checks(policies: Sequence[tuple[str, dict]], principal_arn: str, checks: Sequence[Check]) -> list[Finding]:
    """Each check decided against ``policies`` (``(policy ARN, document)``, as attached to ``principal_arn``)."""
    documents = [document for _, document in policies]
    effects = [_effects(document) for document in documents]
    findings = []
    for check in checks:
        request = policy.Request(action=check.action, resource=check.resource, principal=principal_arn,
                                 context=check.context)
        decision, labels = policy.explain(documents, request)
        reasons = []
        for label in labels:
            # "identity[<index>].<Sid or Statement[i]>"
            head, _, sid = label.partition(".")
            index = int(head[head.index("[") + 1 : head.index("]")])
            arn = policies[index][0]
            reasons.append(Reason(arn, arn.rsplit("/", 1)[-1], sid, effects[index].get(sid, "Allow")))
        findings.append(Finding(check, decision, tuple(reasons)))
    return findings


def common_checks(account: str, region: str, bucket: str | None = None, prefix: str = "") -> list[Check]:
    """The questions most asked of an ML identity: run a job, approve a model, read data, pass a role ...

    ``bucket`` (and a ``prefix`` in it, ending in ``/``) adds the questions of reading and writing data there.
    """
    sm = f"arn:aws:sagemaker:{region}:{account}"
    role = f"arn:aws:iam::{account}:role/*"
    checks = [
        Check("sagemaker:ListModelPackageGroups", "*", "See the model registry (Model Dashboard)"),
        Check("sagemaker:CreateTrainingJob", f"{sm}:training-job/*", "Start a training job"),
        Check("sagemaker:StopTrainingJob", f"{sm}:training-job/*", "Stop a training job"),
        Check("sagemaker:CreateProcessingJob", f"{sm}:processing-job/*", "Start a processing job"),
        Check("sagemaker:CreateModelPackage", f"{sm}:model-package/*", "Register a model version for approval",
              {personas.APPROVAL_STATUS_KEY: personas.PENDING_APPROVAL}),
        Check("sagemaker:CreateModelPackage", f"{sm}:model-package/*", "Register a model version already Approved",
              {personas.APPROVAL_STATUS_KEY: personas.APPROVED}),
        Check("sagemaker:UpdateModelPackage", f"{sm}:model-package/*", "Approve or reject a model version",
              {personas.APPROVAL_STATUS_KEY: personas.APPROVED}),
        Check("sagemaker:UpdateModelCard", f"{sm}:model-card/*", "Edit a model card"),
        Check("sagemaker:CreateEndpoint", f"{sm}:endpoint/*", "Deploy an endpoint"),
        Check("sagemaker:CreateMonitoringSchedule", f"{sm}:monitoring-schedule/*", "Schedule model monitoring"),
        Check("sagemaker:StartPipelineExecution", f"{sm}:pipeline/*", "Run a pipeline"),
        Check("iam:PassRole", role, "Pass a role to SageMaker (a job's execution role)",
              {"iam:PassedToService": personas.SAGEMAKER_SERVICE_PRINCIPAL}),
        Check("iam:CreateUser", f"arn:aws:iam::{account}:user/*", "Create IAM users (Role Manager)"),
        Check("cloudtrail:LookupEvents", "*", "Read the audit log"),
    ]
    if bucket:
        where = f"s3://{bucket}/{prefix}"
        listing = {"s3:prefix": prefix} if prefix else {}
        checks[4:4] = [
            Check("s3:ListBucket", f"arn:aws:s3:::{bucket}", f"List the objects under {where}", listing),
            Check("s3:GetObject", f"arn:aws:s3:::{bucket}/{prefix}*", f"Read objects under {where}"),
            Check("s3:PutObject", f"arn:aws:s3:::{bucket}/{prefix}*", f"Write objects under {where}"),
        ]
    return checks


def data_location(policies: Sequence[tuple[str, dict]]) -> tuple[str, str] | None:
    """The first S3 object location (bucket, prefix) an Allow statement of ``policies`` names, if any."""
    for _, document in policies:
        for statement in _statements(document):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            resources = statement.get("Resource") or []
            for resource in resources if isinstance(resources, list) else [resources]:
                if isinstance(resource, str) and resource.startswith("arn:aws:s3:::") and "/" in resource:
                    bucket, _, rest = resource[len("arn:aws:s3:::"):].partition("/")
                    if "*" not in bucket and "$" not in bucket:
                        return bucket, rest.rstrip("*") if rest.endswith("/*") else ""
    return None


def _condition_values(statement: dict) -> dict:
    """Values that satisfy a statement's String/Arn conditions (its first value of each key)."""
    context: dict = {}
    for operator, keys in (statement.get("Condition") or {}).items():
        if "Not" in operator or operator.startswith("Null"):
            continue
        for key, values in keys.items():
            values = values if isinstance(values, list) else [values]
            if values:
                context[key] = values[0]
    return context


def activity_checks(activity: personas.Activity, ctx: personas.ActivityContext) -> list[Check]:
    """Every (action, resource) ``activity`` grants, as questions."""
    checks: list[Check] = []
    seen: set[tuple[str, str, str]] = set()
    for statement in activity.build(ctx):
        context = _condition_values(statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                key = (action, resource, repr(sorted(context.items())))
                if key not in seen:
                    seen.add(key)
                    checks.append(Check(action, resource, statement.get("Sid", ""), context))
    return checks


def activity_coverage(
    policies: Sequence[tuple[str, dict]], principal_arn: str, *, account: str, region: str, buckets: Sequence[str] = ()
) -> list[Coverage]:
    """For each ML activity, which of its permissions ``policies`` grant (``buckets`` scope artifact-access)."""
    ctx = personas.ActivityContext(account=account, region=region, buckets=tuple(buckets))
    out = []
    for activity in personas.ACTIVITIES.values():
        findings = explain_checks(policies, principal_arn, activity_checks(activity, ctx))
        out.append(Coverage(activity, tuple(findings)))
    return out
