"""Personas: SageMaker Role Manager's ML personas and ML activities as policy templates.

Amazon SageMaker Role Manager builds IAM roles from *ML activities* (sets of
permissions for one kind of work: "Manage ML Jobs", "Manage Models", "Manage
Pipelines", "Manage Model Monitoring", "Amazon S3 Bucket Access", "Access
Required AWS Services", ...) and offers
*personas* (Data Scientist, MLOps, SageMaker Compute Role) as default bundles of
activities:

    https://docs.aws.amazon.com/sagemaker/latest/dg/role-manager.html
    https://docs.aws.amazon.com/sagemaker/latest/dg/role-manager-ml-activities.html
    https://docs.aws.amazon.com/sagemaker/latest/dg/role-manager-personas.html

Role Manager's policy templates are published in the CDK construct library
``cdklabs/cdk-aws-sagemaker-role-manager`` (``SM_CommonJobManagement``,
``SM_ModelManagement``, ``SM_PipelineManagement``, ``SM_ModelMonitoring``,
``SM_EndpointDeployment``, ``SM_ExperimentsManagement``,
``SM_ComputeExecutionRole``, ``SageMakerS3BucketPolicyTemplate``).  Charter's
activities follow them, with three differences:

* every resource pattern is scoped to the caller's account and region
  (``arn:aws:sagemaker:{region}:{account}:model-package-group/*``) where the
  templates write ``arn:aws:sagemaker:*:*:*/*``;
* model approval is its own activity.  ``manage-models`` lets one register
  models (model package groups, model packages, models, model cards) but not
  call ``sagemaker:UpdateModelPackage``, the operation that sets
  ``ModelApprovalStatus``, and lets one call ``sagemaker:CreateModelPackage``
  only while ``sagemaker:ModelApprovalStatus`` is ``PendingManualApproval``
  (the status a version gets when the request names none), so a version
  cannot be registered already ``Approved`` (or ``Rejected``) instead.  Only
  ``approve-models`` grants the update and the creation with a decided
  status.  So a data scientist registers versions and an MLOps engineer
  approves them.  (The cost: a data scientist cannot edit a package's other
  metadata either.)
* activities Role Manager's console does not list (``manage-experiments`` and
  ``manage-endpoints`` follow the CDK templates ``SM_ExperimentsManagement`` and
  ``SM_EndpointDeployment``; ``search-discover``, ``read-only-audit``,
  ``label-data``, ``tagging``, ``admin`` ... are Charter's own) complete the
  personas Charter needs (auditor, labeler, admin).  :attr:`Activity.role_manager_name`
  names the Role Manager ML activity an activity follows, where there is one.

List and Search operations have no resource-level permissions in SageMaker, so
they are granted on ``"*"``; everything else on ARNs of the account.

Every ``sagemaker:`` action named here is an operation of botocore's
``sagemaker`` model, except the few in :data:`OTHER_SAGEMAKER_APIS`, which
share the ``sagemaker`` IAM prefix but belong to other botocore models.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .policy import VERSION_2012_10_17, validate_policy

__all__ = [
    "ActivityContext",
    "Activity",
    "Persona",
    "ACTIVITIES",
    "PERSONAS",
    "OTHER_SAGEMAKER_APIS",
    "build_policy",
]

SAGEMAKER_SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"

#: The condition key SageMaker sets on CreateModelPackage and UpdateModelPackage (service authorization reference).
APPROVAL_STATUS_KEY = "sagemaker:ModelApprovalStatus"
PENDING_APPROVAL, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"

#: ``sagemaker:`` IAM actions whose API lives in another botocore model.
OTHER_SAGEMAKER_APIS: dict[str, str] = {
    "sagemaker:BatchGetMetrics": "sagemaker-metrics",
    "sagemaker:BatchPutMetrics": "sagemaker-metrics",
    "sagemaker:InvokeEndpoint": "sagemaker-runtime",
    "sagemaker:InvokeEndpointAsync": "sagemaker-runtime",
}


@dataclass(frozen=True)
class ActivityContext:
    """What an activity's statements are scoped to."""

    account: str
    region: str = "*"
    buckets: tuple[str, ...] = ()
    username: str | None = None
    partition: str = "aws"

    def sagemaker(self, resource_type: str) -> str:
        """``arn:aws:sagemaker:{region}:{account}:{resource_type}/*``."""
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:{resource_type}/*"

    def sagemaker_any(self) -> str:
        """Every SageMaker resource of the account: ``arn:aws:sagemaker:{region}:{account}:*``."""
        return f"arn:{self.partition}:sagemaker:{self.region}:{self.account}:*"

    def roles(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/*"


@dataclass(frozen=True)
class Activity:
    """A named set of permissions; ``build`` returns its policy statements."""

    name: str
    description: str
    build: Callable[[ActivityContext], list[dict]]
    role_manager_name: str | None = None  # the Role Manager ML activity it follows, if any


@dataclass(frozen=True)
class Persona:
    """A default bundle of activities."""

    name: str
    description: str
    activities: tuple[str, ...]
    role_manager_name: str | None = None


# --- statement helpers -------------------------------------------------------------


def _sm(*operations: str) -> list[str]:
    return [f"sagemaker:{op}" for op in operations]


def _allow(sid: str, actions: list[str], resources: list[str] | str, condition: dict | None = None) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _pass_role(sid: str, ctx: ActivityContext) -> dict:
    """iam:PassRole on the account's roles, only to SageMaker (as Role Manager's templates do)."""
    return _allow(
        sid,
        ["iam:PassRole"],
        [ctx.roles()],
        {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE_PRINCIPAL}},
    )


# --- activities --------------------------------------------------------------------

_JOB_TYPES = ("TrainingJob", "ProcessingJob", "TransformJob", "HyperParameterTuningJob", "AutoMLJob")


def _run_jobs(ctx: ActivityContext) -> list[dict]:
    actions = (
        _sm(*(f"Create{t}" for t in _JOB_TYPES), "CreateAutoMLJobV2")
        + _sm(*(f"Describe{t}" for t in _JOB_TYPES), "DescribeAutoMLJobV2")
        + _sm(*(f"Stop{t}" for t in _JOB_TYPES))
        + _sm("UpdateTrainingJob")
    )
    resources = [
        ctx.sagemaker(t)
        for t in ("training-job", "processing-job", "transform-job", "hyper-parameter-tuning-job", "automl-job")
    ]
    listing = _sm(
        "ListTrainingJobs",
        "ListProcessingJobs",
        "ListTransformJobs",
        "ListHyperParameterTuningJobs",
        "ListTrainingJobsForHyperParameterTuningJob",
        "ListAutoMLJobs",
        "ListCandidatesForAutoMLJob",
        "Search",
        "BatchGetMetrics",
    )
    return [
        _allow("RunJobs", actions, resources),
        _allow("RunJobsList", listing, "*"),
        _pass_role("RunJobsPassRole", ctx),
    ]


def _manage_models(ctx: ActivityContext) -> list[dict]:
    return [
        _allow("ManageModels", _sm("CreateModel", "DescribeModel", "DeleteModel"), [ctx.sagemaker("model")]),
        _allow(
            "ManageModelPackageGroups",
            _sm("CreateModelPackageGroup", "DescribeModelPackageGroup", "DeleteModelPackageGroup", "GetModelPackageGroupPolicy"),
            [ctx.sagemaker("model-package-group")],
        ),
        # No UpdateModelPackage: that sets ModelApprovalStatus and belongs to approve-models.
        _allow(
            "ManageModelPackages",
            _sm("DescribeModelPackage", "BatchDescribeModelPackage", "DeleteModelPackage"),
            [ctx.sagemaker("model-package")],
        ),
        # Registering a version is allowed only as PendingManualApproval (the status a version gets when the
        # request names none): a version created Approved or Rejected is an approval decision too.
        _allow(
            "RegisterModelPackages",
            _sm("CreateModelPackage"),
            [ctx.sagemaker("model-package")],
            {"StringEqualsIfExists": {APPROVAL_STATUS_KEY: PENDING_APPROVAL}},
        ),
        _allow(
            "ManageModelCards",
            _sm(
                "CreateModelCard",
                "DescribeModelCard",
                "UpdateModelCard",
                "DeleteModelCard",
                "CreateModelCardExportJob",
                "DescribeModelCardExportJob",
            ),
            [ctx.sagemaker("model-card")],
        ),
        _allow(
            "ManageModelsList",
            _sm(
                "ListModels",
                "ListModelPackageGroups",
                "ListModelPackages",
                "ListModelCards",
                "ListModelCardVersions",
                "ListModelCardExportJobs",
                "ListModelMetadata",
            ),
            "*",
        ),
        _pass_role("ManageModelsPassRole", ctx),
    ]


def _approve_models(ctx: ActivityContext) -> list[dict]:
    return [
        _allow(
            "ApproveModels",
            _sm("UpdateModelPackage", "DescribeModelPackage", "BatchDescribeModelPackage"),
            [ctx.sagemaker("model-package")],
        ),
        # The same decision taken at registration: a version created Approved or Rejected.
        _allow(
            "ApproveModelsAtRegistration",
            _sm("CreateModelPackage"),
            [ctx.sagemaker("model-package")],
            {"StringEquals": {APPROVAL_STATUS_KEY: [APPROVED, REJECTED]}},
        ),
        _allow("ApproveModelsGroups", _sm("DescribeModelPackageGroup"), [ctx.sagemaker("model-package-group")]),
        _allow("ApproveModelsList", _sm("ListModelPackageGroups", "ListModelPackages"), "*"),
    ]


_MONITORING_DEFINITIONS = ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")


def _manage_model_monitoring(ctx: ActivityContext) -> list[dict]:
    schedules = _sm(
        "CreateMonitoringSchedule",
        "UpdateMonitoringSchedule",
        "DescribeMonitoringSchedule",
        "DeleteMonitoringSchedule",
        "StartMonitoringSchedule",
        "StopMonitoringSchedule",
        "UpdateMonitoringAlert",
    )
    definitions = [
        f"sagemaker:{verb}{kind}JobDefinition" for kind in _MONITORING_DEFINITIONS for verb in ("Create", "Describe", "Delete")
    ]
    listing = _sm(
        "ListMonitoringSchedules",
        "ListMonitoringExecutions",
        "ListMonitoringAlerts",
        "ListMonitoringAlertHistory",
        "ListProcessingJobs",
        *(f"List{kind}JobDefinitions" for kind in _MONITORING_DEFINITIONS),
    )
    return [
        _allow("ManageModelMonitoringSchedules", schedules, [ctx.sagemaker("monitoring-schedule")]),
        _allow(
            "ManageModelMonitoringDefinitions",
            definitions,
            [
                ctx.sagemaker("data-quality-job-definition"),
                ctx.sagemaker("model-quality-job-definition"),
                ctx.sagemaker("model-bias-job-definition"),
                ctx.sagemaker("model-explainability-job-definition"),
            ],
        ),
        _allow(
            "ManageModelMonitoringJobs",
            _sm("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob"),
            [ctx.sagemaker("processing-job")],
        ),
        _allow("ManageModelMonitoringList", listing, "*"),
        _pass_role("ManageModelMonitoringPassRole", ctx),
    ]


_PIPELINE_RUN = (
    "DescribePipeline",
    "DescribePipelineExecution",
    "DescribePipelineDefinitionForExecution",
    "StartPipelineExecution",
    "StopPipelineExecution",
    "RetryPipelineExecution",
    "SendPipelineExecutionStepSuccess",
    "SendPipelineExecutionStepFailure",
)
_PIPELINE_LIST = (
    "ListPipelines",
    "ListPipelineExecutions",
    "ListPipelineExecutionSteps",
    "ListPipelineParametersForExecution",
    "ListPipelineVersions",
)


def _run_pipelines(ctx: ActivityContext) -> list[dict]:
    return [
        _allow("RunPipelines", _sm(*_PIPELINE_RUN), [ctx.sagemaker("pipeline")]),
        _allow("RunPipelinesList", _sm(*_PIPELINE_LIST), "*"),
    ]


def _manage_pipelines(ctx: ActivityContext) -> list[dict]:
    manage = ("CreatePipeline", "UpdatePipeline", "DeletePipeline", "UpdatePipelineExecution", "UpdatePipelineVersion")
    return [
        _allow("ManagePipelines", _sm(*manage, *_PIPELINE_RUN), [ctx.sagemaker("pipeline")]),
        _allow("ManagePipelinesList", _sm(*_PIPELINE_LIST), "*"),
        _pass_role("ManagePipelinesPassRole", ctx),
    ]


def _manage_experiments(ctx: ActivityContext) -> list[dict]:
    kinds = ("Experiment", "Trial", "TrialComponent", "Action", "Artifact", "Context")
    lineage = [f"sagemaker:{verb}{kind}" for kind in kinds for verb in ("Create", "Describe", "Update", "Delete")]
    lineage += _sm(
        "AssociateTrialComponent", "DisassociateTrialComponent", "AddAssociation", "DeleteAssociation", "DescribeLineageGroup"
    )
    lineage_resources = [
        ctx.sagemaker(t)
        for t in ("experiment", "experiment-trial", "experiment-trial-component", "action", "artifact", "context", "lineage-group")
    ]
    mlflow_resources = [ctx.sagemaker("mlflow-tracking-server"), ctx.sagemaker("mlflow-app")]
    listing = _sm(
        "ListExperiments",
        "ListTrials",
        "ListTrialComponents",
        "ListActions",
        "ListArtifacts",
        "ListContexts",
        "ListAssociations",
        "ListLineageGroups",
        "QueryLineage",
        "ListMlflowTrackingServers",
        "ListMlflowApps",
        "Search",
    )
    return [
        _allow("ManageExperiments", lineage, lineage_resources),
        # Tracking servers (create/describe/start/stop/update/delete, presigned UI URL) and MLflow apps ...
        _allow("ManageMlflow", ["sagemaker:*MlflowTrackingServer*", "sagemaker:*MlflowApp*"], mlflow_resources),
        # ... and the MLflow REST API served by them (IAM prefix sagemaker-mlflow).
        _allow("UseMlflow", ["sagemaker-mlflow:*"], mlflow_resources),
        _allow("ManageExperimentsList", listing, "*"),
    ]


def _search_discover(ctx: ActivityContext) -> list[dict]:
    return [
        _allow("SearchDiscover", _sm("Search", "GetSearchSuggestions", "List*"), "*"),
        _allow("SearchDiscoverDescribe", _sm("Describe*", "BatchDescribeModelPackage"), [ctx.sagemaker_any()]),
    ]


def _read_only_audit(ctx: ActivityContext) -> list[dict]:
    # An auditor reads the evidence too: the audit log (CloudTrail's LookupEvents, as the console's audit-log
    # page asks) and the artifact store, where a card's evaluation and bias reports, a model's artifacts and
    # its training data lie.  Reading only: no s3:PutObject, s3:DeleteObject or bucket changes.
    return [
        _allow("ReadOnlyAuditList", _sm("List*", "Search", "GetSearchSuggestions"), "*"),
        _allow("ReadOnlyAudit", _sm("Describe*", "Get*"), [ctx.sagemaker_any()]),
        _allow("ReadOnlyAuditLog", ["cloudtrail:LookupEvents"], "*"),
        _allow("ReadOnlyAuditBuckets", ["s3:ListAllMyBuckets"], "*"),
        _allow(
            "ReadOnlyAuditArtifacts",
            ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"],
            [f"arn:{ctx.partition}:s3:::*"],
        ),
    ]


_LABELING_RESOURCES = ("labeling-job", "workteam", "workforce", "human-task-ui", "flow-definition")


def _label_data(ctx: ActivityContext) -> list[dict]:
    describe = _sm(
        "DescribeLabelingJob",
        "DescribeWorkteam",
        "DescribeSubscribedWorkteam",
        "DescribeWorkforce",
        "DescribeHumanTaskUi",
        "DescribeFlowDefinition",
    )
    listing = _sm(
        "ListLabelingJobs",
        "ListLabelingJobsForWorkteam",
        "ListWorkteams",
        "ListSubscribedWorkteams",
        "ListWorkforces",
        "ListHumanTaskUis",
        "ListFlowDefinitions",
        "RenderUiTemplate",
    )
    return [
        _allow("LabelData", describe, [ctx.sagemaker(t) for t in _LABELING_RESOURCES]),
        _allow("LabelDataList", listing, "*"),
    ]


def _manage_labeling(ctx: ActivityContext) -> list[dict]:
    manage = _sm(
        "CreateLabelingJob",
        "StopLabelingJob",
        "CreateWorkteam",
        "UpdateWorkteam",
        "DeleteWorkteam",
        "CreateWorkforce",
        "UpdateWorkforce",
        "DeleteWorkforce",
        "CreateHumanTaskUi",
        "DeleteHumanTaskUi",
        "CreateFlowDefinition",
        "DeleteFlowDefinition",
    )
    return [
        _allow("ManageLabeling", manage, [ctx.sagemaker(t) for t in _LABELING_RESOURCES]),
        _pass_role("ManageLabelingPassRole", ctx),
    ]


def _artifact_access(ctx: ActivityContext) -> list[dict]:
    if not ctx.buckets:
        return []
    buckets = [f"arn:{ctx.partition}:s3:::{b}" for b in ctx.buckets]
    return [
        _allow("ArtifactAccessBuckets", ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], buckets),
        # A multipart upload is s3:PutObject; the clients (boto3's transfer manager, `aws s3 cp`) also list
        # its parts and abort it when it fails, which are actions of their own.
        _allow(
            "ArtifactAccessObjects",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            [f"{b}/*" for b in buckets],
        ),
    ]


def _compute_runtime(ctx: ActivityContext) -> list[dict]:
    return [
        _allow("ComputeRuntimeMetrics", _sm("BatchPutMetrics"), "*"),
        _allow(
            "ComputeRuntimeCloudWatch",
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringLike": {"cloudwatch:namespace": ["*SageMaker*", "*Sagemaker*", "*sagemaker*"]}},
        ),
        _allow(
            "ComputeRuntimeLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [f"arn:{ctx.partition}:logs:{ctx.region}:{ctx.account}:log-group:/aws/sagemaker/*"],
        ),
    ]


def _manage_endpoints(ctx: ActivityContext) -> list[dict]:
    return [
        _allow(
            "ManageEndpointConfigs",
            _sm("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig"),
            [ctx.sagemaker("endpoint-config")],
        ),
        _allow(
            "ManageEndpoints",
            _sm(
                "CreateEndpoint",
                "DescribeEndpoint",
                "UpdateEndpoint",
                "UpdateEndpointWeightsAndCapacities",
                "DeleteEndpoint",
                "InvokeEndpoint",
            ),
            [ctx.sagemaker("endpoint")],
        ),
        _allow("ManageEndpointsList", _sm("ListEndpoints", "ListEndpointConfigs"), "*"),
    ]


def _tagging(ctx: ActivityContext) -> list[dict]:
    return [_allow("Tagging", _sm("AddTags", "DeleteTags", "ListTags"), [ctx.sagemaker_any()])]


def _admin(ctx: ActivityContext) -> list[dict]:
    return [_allow("Admin", ["*"], "*")]


def _activity(name: str, description: str, build, role_manager_name: str | None = None) -> tuple[str, Activity]:
    return name, Activity(name, description, build, role_manager_name)


ACTIVITIES: dict[str, Activity] = dict(
    [
        _activity(
            "run-jobs",
            "Create, describe, stop and list training, processing, transform, tuning and AutoML jobs; "
            "pass the account's roles to SageMaker.",
            _run_jobs,
            "Manage ML Jobs",
        ),
        _activity(
            "manage-models",
            "Register models: model package groups, model packages (without approval), models and model cards.",
            _manage_models,
            "Manage Models",
        ),
        _activity(
            "approve-models",
            "Approve or reject model package versions (sagemaker:UpdateModelPackage), or register them "
            "already Approved or Rejected (sagemaker:CreateModelPackage).",
            _approve_models,
        ),
        _activity(
            "manage-model-monitoring",
            "Monitoring schedules, monitoring job definitions and alerts, and the processing jobs they run.",
            _manage_model_monitoring,
            "Manage Model Monitoring",
        ),
        _activity(
            "run-pipelines",
            "Describe, list, start, stop and retry pipeline executions (no pipeline definition changes).",
            _run_pipelines,
        ),
        _activity(
            "manage-pipelines",
            "Create, update and delete pipelines and run them; pass the account's roles to SageMaker.",
            _manage_pipelines,
            "Manage Pipelines",
        ),
        _activity(
            "manage-experiments",
            "Experiments, trials, trial components, lineage entities, MLflow tracking servers and apps.",
            _manage_experiments,
        ),
        _activity(
            "search-discover",
            "Search, list and describe every SageMaker resource of the account.",
            _search_discover,
        ),
        _activity(
            "read-only-audit",
            "Describe*, List*, Get* and Search on SageMaker, the audit log, and reading the artifact store's "
            "buckets and objects -- and nothing that changes anything.",
            _read_only_audit,
        ),
        _activity(
            "label-data",
            "See labeling jobs, work teams, workforces and worker task templates (Ground Truth work).",
            _label_data,
        ),
        _activity(
            "manage-labeling",
            "Create and stop labeling jobs; manage work teams, workforces, task UIs and flow definitions.",
            _manage_labeling,
        ),
        _activity(
            "artifact-access",
            "Read, write and delete objects in the given S3 buckets (no statement without buckets).",
            _artifact_access,
            "Amazon S3 Bucket Access",
        ),
        _activity(
            "compute-runtime",
            "What a job's execution role needs at run time: put metrics and write /aws/sagemaker/* logs.",
            _compute_runtime,
            "Access Required AWS Services",
        ),
        _activity(
            "manage-endpoints",
            "Create, update, delete, describe and invoke endpoints and endpoint configs.",
            _manage_endpoints,
        ),
        _activity("tagging", "Add, list and delete tags on the account's SageMaker resources.", _tagging),
        _activity("admin", "Everything (Action * on Resource *).", _admin),
    ]
)


PERSONAS: dict[str, Persona] = {
    persona.name: persona
    for persona in (
        Persona(
            "data-scientist",
            "Trains models, tracks experiments, registers model versions and runs pipelines; cannot approve models.",
            (
                "run-jobs",
                "manage-models",
                "manage-experiments",
                "run-pipelines",
                "search-discover",
                "artifact-access",
                "tagging",
            ),
            "Data Scientist",
        ),
        Persona(
            "mlops-engineer",
            "Operates the model lifecycle: registers and approves models, deploys endpoints, monitors models, "
            "owns pipelines.",
            (
                "manage-models",
                "approve-models",
                "manage-endpoints",
                "manage-model-monitoring",
                "manage-pipelines",
                "run-jobs",
                "search-discover",
                "artifact-access",
                "tagging",
            ),
            "MLOps",
        ),
        Persona(
            "compute",
            "The execution role a job runs as: its artifact buckets, logs and metrics; no control-plane writes.",
            ("artifact-access", "compute-runtime"),
            "SageMaker Compute Role",
        ),
        Persona("labeler", "A Ground Truth worker: sees labeling jobs and work teams, changes nothing.", ("label-data",)),
        Persona("auditor", "Reads everything in SageMaker and changes nothing.", ("read-only-audit",)),
        Persona("admin", "Full access.", ("admin",)),
        # Role Manager's "Custom role settings": no persona's defaults, only the ML activities picked
        # (`charter iam create-user x --persona custom --activity manage-models --activity tagging`).
        # build_policy refuses it without activities, since it would grant nothing.
        Persona("custom", "No default activities: exactly the activities given with --activity.", ()),
    )
}


# --- building a policy -------------------------------------------------------------

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^(\*|[a-z]{2}(-[a-z]+)+-\d+)$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _bucket_name(bucket: str) -> str:
    name = bucket[len("s3://") :] if bucket.startswith("s3://") else bucket
    name = name.rstrip("/")
    if not _BUCKET_RE.match(name):
        raise ValueError(f"invalid S3 bucket name {bucket!r}")
    return name


def _unknown(kind: str, name: str, known: Sequence[str]) -> ValueError:
    return ValueError(f"unknown {kind} {name!r}; known {kind}s: {', '.join(sorted(known))}")


def build_policy(
    persona: str,
    activities: Sequence[str] = (),
    *,
    account: str,
    region: str = "*",
    buckets: Sequence[str] = (),
    username: str | None = None,
) -> dict:
    """An IAM policy document granting ``persona``'s activities plus ``activities``.

    ``account`` (12 digits) and ``region`` (or ``"*"``) scope every SageMaker
    ARN pattern; ``buckets`` are the S3 buckets of ``artifact-access`` (names,
    or ``s3://name``); ``username`` only names the policy (``Id``).  Raises
    ``ValueError`` naming the known personas or activities when one is unknown.
    """
    if persona not in PERSONAS:
        raise _unknown("persona", persona, list(PERSONAS))
    for name in activities:
        if name not in ACTIVITIES:
            raise _unknown("activity", name, list(ACTIVITIES))
    if not _ACCOUNT_RE.match(account or ""):
        raise ValueError(f"account must be a 12-digit AWS account id, got {account!r}")
    if not _REGION_RE.match(region or ""):
        raise ValueError(f"region must be a region name such as us-east-1 or '*', got {region!r}")

    ctx = ActivityContext(
        account=account,
        region=region,
        buckets=tuple(dict.fromkeys(_bucket_name(b) for b in buckets)),
        username=username,
    )
    chosen = list(dict.fromkeys([*PERSONAS[persona].activities, *activities]))
    statements = [statement for name in chosen for statement in ACTIVITIES[name].build(ctx)]
    if not statements:
        hint = " (artifact-access grants nothing without buckets)" if "artifact-access" in chosen else ""
        raise ValueError(f"persona {persona!r} with activities {chosen} grants nothing{hint}")

    policy_id = f"charter-persona-{persona}" + (f"-{username}" if username else "")
    document = {"Version": VERSION_2012_10_17, "Id": policy_id, "Statement": statements}
    return validate_policy(document, resource_policy=False)
