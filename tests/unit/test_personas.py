"""Tests of charter.iam.personas: Role Manager personas as policies, checked with policy.evaluate."""

from __future__ import annotations

import fnmatch
import re

import botocore.session
import pytest

from charter.iam.personas import ACTIVITIES, OTHER_SAGEMAKER_APIS, PERSONAS, build_policy
from charter.iam.policy import Decision, Request, evaluate, validate_policy

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
BUCKET = "charter-artifacts"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"


def arn(resource: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{resource}"


GROUP = arn("model-package-group/churn")
PACKAGE = arn("model-package/churn/1")


def build(persona: str, *activities: str, **kwargs) -> dict:
    kwargs.setdefault("account", ACCOUNT)
    kwargs.setdefault("buckets", [BUCKET])
    return build_policy(persona, activities, **kwargs)


def decide(document: dict, action: str, resource: str = "*", **context) -> Decision:
    return evaluate([document], Request(action=action, resource=resource, principal=BOB, context=context))


def allowed(document: dict, action: str, resource: str = "*", **context) -> bool:
    return decide(document, action, resource, **context) is Decision.ALLOW


# --- the documents themselves ------------------------------------------------------


def all_documents():
    for name in PERSONAS:
        if PERSONAS[name].activities:
            yield f"persona:{name}", build(name)
    for name in ACTIVITIES:
        yield f"activity:{name}", build("custom", name)


@pytest.mark.parametrize("label,document", list(all_documents()), ids=lambda v: v if isinstance(v, str) else "")
def test_documents_are_valid_identity_policies(label, document):
    assert validate_policy(document, resource_policy=False) == document
    assert document["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids)), sids
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]+", sid) for sid in sids), sids


def test_every_sagemaker_action_is_a_real_operation():
    session = botocore.session.get_session()
    operations = set(session.get_service_model("sagemaker").operation_names)
    others = {
        action: set(session.get_service_model(service).operation_names) for action, service in OTHER_SAGEMAKER_APIS.items()
    }
    seen = set()
    for _, document in all_documents():
        for statement in document["Statement"]:
            for action in statement["Action"]:
                if not action.startswith("sagemaker:"):
                    continue
                seen.add(action)
                name = action.split(":", 1)[1]
                if "*" in name or "?" in name:
                    matches = [op for op in operations if fnmatch.fnmatchcase(op.lower(), name.lower())]
                    assert matches, f"{action} matches no SageMaker operation"
                elif action in others:
                    assert name in others[action], f"{action} is not an operation of {OTHER_SAGEMAKER_APIS[action]}"
                else:
                    assert name in operations, f"{action} is not a SageMaker operation"
    assert len(seen) > 100


def test_resources_are_scoped_to_account_and_region():
    document = build("mlops-engineer", region=REGION)
    for statement in document["Statement"]:
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            if resource.startswith("arn:aws:sagemaker:"):
                assert resource.startswith(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:"), resource
            elif resource.startswith("arn:aws:iam:"):
                assert resource.startswith(f"arn:aws:iam::{ACCOUNT}:role/"), resource
    assert allowed(document, "sagemaker:CreateModelPackageGroup", GROUP)
    assert not allowed(document, "sagemaker:CreateModelPackageGroup", arn("model-package-group/churn", OTHER_ACCOUNT))
    assert not allowed(document, "sagemaker:CreateModelPackageGroup", arn("model-package-group/churn", region="eu-west-1"))
    # The default region "*" covers every region of the account.
    assert allowed(build("mlops-engineer"), "sagemaker:CreateModelPackageGroup", arn("model-package-group/churn", region="eu-west-1"))


def test_role_manager_names():
    assert PERSONAS["data-scientist"].role_manager_name == "Data Scientist"
    assert PERSONAS["mlops-engineer"].role_manager_name == "MLOps"
    assert PERSONAS["compute"].role_manager_name == "SageMaker Compute Role"
    assert ACTIVITIES["run-jobs"].role_manager_name == "Manage ML Jobs"
    assert ACTIVITIES["artifact-access"].role_manager_name == "Amazon S3 Bucket Access"
    for persona in PERSONAS.values():
        assert set(persona.activities) <= set(ACTIVITIES)
        assert persona.description


# --- personas --------------------------------------------------------------------


class TestAuditor:
    document = build("auditor")

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:DescribeModelPackageGroup", GROUP),
            ("sagemaker:DescribeModelPackage", PACKAGE),
            ("sagemaker:ListModelPackageGroups", "*"),
            ("sagemaker:ListModelPackages", "*"),
            ("sagemaker:Search", "*"),
            ("sagemaker:GetModelPackageGroupPolicy", GROUP),
            # The evidence: the audit log and the artifact store, in any bucket.
            ("cloudtrail:LookupEvents", "*"),
            ("s3:ListAllMyBuckets", "*"),
            ("s3:ListBucket", "arn:aws:s3:::any-bucket"),
            ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/reports/evaluation.json"),
            ("s3:GetObject", "arn:aws:s3:::any-bucket/x"),
        ],
    )
    def test_may_read(self, action, resource):
        assert allowed(self.document, action, resource)

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:CreateModelPackageGroup", GROUP),
            ("sagemaker:DeleteModelPackageGroup", GROUP),
            ("sagemaker:UpdateModelPackage", PACKAGE),
            ("sagemaker:AddTags", GROUP),
            ("sagemaker:PutModelPackageGroupPolicy", GROUP),
            ("sagemaker:CreatePresignedMlflowTrackingServerUrl", arn("mlflow-tracking-server/t")),
            ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/x"),
            ("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/x"),
            ("s3:CreateBucket", "arn:aws:s3:::new-bucket"),
            ("s3:DeleteBucket", f"arn:aws:s3:::{BUCKET}"),
            ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r"),
        ],
    )
    def test_may_not_write(self, action, resource):
        assert decide(self.document, action, resource) is Decision.IMPLICIT_DENY


class TestDataScientist:
    document = build("data-scientist")

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:CreateModelPackageGroup", GROUP),
            ("sagemaker:CreateModelPackage", PACKAGE),
            ("sagemaker:DescribeModelPackage", PACKAGE),
            ("sagemaker:CreateModel", arn("model/churn")),
            ("sagemaker:CreateModelCard", arn("model-card/churn")),
            ("sagemaker:CreateTrainingJob", arn("training-job/train-1")),
            ("sagemaker:StopProcessingJob", arn("processing-job/p-1")),
            ("sagemaker:CreateExperiment", arn("experiment/exp")),
            ("sagemaker:CreatePresignedMlflowTrackingServerUrl", arn("mlflow-tracking-server/t")),
            ("sagemaker:ListMlflowTrackingServers", "*"),
            ("sagemaker:StartPipelineExecution", arn("pipeline/p")),
            ("sagemaker:DescribeEndpoint", arn("endpoint/e")),
            ("sagemaker:AddTags", GROUP),
            ("sagemaker:ListTrainingJobs", "*"),
        ],
    )
    def test_may(self, action, resource):
        assert allowed(self.document, action, resource)

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:UpdateModelPackage", PACKAGE),  # approval is MLOps' job
            ("sagemaker:CreatePipeline", arn("pipeline/p")),
            ("sagemaker:DeletePipeline", arn("pipeline/p")),
            ("sagemaker:CreateEndpoint", arn("endpoint/e")),
            ("sagemaker:PutModelPackageGroupPolicy", GROUP),
            ("sagemaker:CreateDomain", arn("domain/d")),
        ],
    )
    def test_may_not(self, action, resource):
        assert decide(self.document, action, resource) is Decision.IMPLICIT_DENY

    def test_pass_role_only_to_sagemaker(self):
        role = f"arn:aws:iam::{ACCOUNT}:role/exec"
        assert allowed(self.document, "iam:PassRole", role, **{"iam:PassedToService": "sagemaker.amazonaws.com"})
        assert not allowed(self.document, "iam:PassRole", role, **{"iam:PassedToService": "ec2.amazonaws.com"})
        assert not allowed(self.document, "iam:PassRole", role)
        assert not allowed(
            self.document, "iam:PassRole", f"arn:aws:iam::{OTHER_ACCOUNT}:role/exec", **{"iam:PassedToService": "sagemaker.amazonaws.com"}
        )

    def test_extra_activity_extends_the_persona(self):
        assert allowed(build("data-scientist", "approve-models"), "sagemaker:UpdateModelPackage", PACKAGE)


class TestMlopsEngineer:
    document = build("mlops-engineer")

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:UpdateModelPackage", PACKAGE),
            ("sagemaker:CreateModelPackage", PACKAGE),
            ("sagemaker:CreatePipeline", arn("pipeline/p")),
            ("sagemaker:CreateEndpoint", arn("endpoint/e")),
            ("sagemaker:CreateEndpointConfig", arn("endpoint-config/e")),
            ("sagemaker:InvokeEndpoint", arn("endpoint/e")),
            ("sagemaker:CreateMonitoringSchedule", arn("monitoring-schedule/m")),
            ("sagemaker:CreateDataQualityJobDefinition", arn("data-quality-job-definition/d")),
            ("sagemaker:CreateTrainingJob", arn("training-job/t")),
        ],
    )
    def test_may(self, action, resource):
        assert allowed(self.document, action, resource)

    def test_may_not_administer(self):
        assert not allowed(self.document, "sagemaker:CreateDomain", arn("domain/d"))
        assert not allowed(self.document, "sagemaker:PutModelPackageGroupPolicy", GROUP)


class TestLabeler:
    document = build("labeler")

    def test_sees_labeling_work(self):
        assert allowed(self.document, "sagemaker:DescribeLabelingJob", arn("labeling-job/l"))
        assert allowed(self.document, "sagemaker:ListLabelingJobs")
        assert allowed(self.document, "sagemaker:ListLabelingJobsForWorkteam")
        assert allowed(self.document, "sagemaker:DescribeWorkteam", arn("workteam/private-crowd/team"))

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:CreateModelPackageGroup", GROUP),
            ("sagemaker:CreateLabelingJob", arn("labeling-job/l")),
            ("sagemaker:DescribeModelPackageGroup", GROUP),
            ("sagemaker:Search", "*"),
        ],
    )
    def test_may_not(self, action, resource):
        assert decide(self.document, action, resource) is Decision.IMPLICIT_DENY


class TestCompute:
    document = build("compute", region=REGION)

    def test_runtime_permissions(self):
        log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:train-1/algo-1"
        assert allowed(self.document, "logs:PutLogEvents", log_stream)
        assert not allowed(self.document, "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other")
        assert allowed(self.document, "sagemaker:BatchPutMetrics")
        assert allowed(self.document, "cloudwatch:PutMetricData", **{"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"})
        assert not allowed(self.document, "cloudwatch:PutMetricData", **{"cloudwatch:namespace": "Billing"})
        assert allowed(self.document, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/input/train.csv")

    @pytest.mark.parametrize(
        "action,resource",
        [
            ("sagemaker:CreateTrainingJob", arn("training-job/t")),
            ("sagemaker:CreateModelPackageGroup", GROUP),
            ("sagemaker:UpdateModelPackage", PACKAGE),
            ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r"),
        ],
    )
    def test_no_control_plane_writes(self, action, resource):
        assert not allowed(self.document, action, resource)


class TestArtifactAccess:
    def test_only_the_named_buckets(self):
        document = build("custom", "artifact-access", buckets=[BUCKET, "s3://second-bucket"])
        for bucket in (BUCKET, "second-bucket"):
            assert allowed(document, "s3:GetObject", f"arn:aws:s3:::{bucket}/models/model.tar.gz")
            assert allowed(document, "s3:PutObject", f"arn:aws:s3:::{bucket}/x")
            assert allowed(document, "s3:DeleteObject", f"arn:aws:s3:::{bucket}/x")
            assert allowed(document, "s3:ListBucket", f"arn:aws:s3:::{bucket}")
        assert not allowed(document, "s3:GetObject", "arn:aws:s3:::other-bucket/x")
        assert not allowed(document, "s3:GetObject", f"arn:aws:s3:::{BUCKET}-evil/x")
        assert not allowed(document, "s3:ListBucket", "arn:aws:s3:::other-bucket")
        assert not allowed(document, "s3:DeleteBucket", f"arn:aws:s3:::{BUCKET}")

    def test_no_buckets_no_statement(self):
        document = build("data-scientist", buckets=[])
        assert not any(statement["Sid"].startswith("ArtifactAccess") for statement in document["Statement"])
        assert not allowed(document, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/x")
        with pytest.raises(ValueError, match="grants nothing"):
            build("custom", "artifact-access", buckets=[])

    def test_invalid_bucket(self):
        with pytest.raises(ValueError, match="invalid S3 bucket name"):
            build("compute", buckets=["Not_A_Bucket"])


def test_admin_may_do_anything():
    document = build("admin")
    assert document["Statement"] == [{"Sid": "Admin", "Effect": "Allow", "Action": ["*"], "Resource": "*"}]
    for action, resource in [
        ("sagemaker:DeleteModelPackageGroup", GROUP),
        ("sagemaker:UpdateModelPackage", PACKAGE),
        ("iam:CreateUser", BOB),
        ("s3:DeleteBucket", "arn:aws:s3:::anything"),
    ]:
        assert allowed(document, action, resource)


# --- build_policy arguments ----------------------------------------------------------


def test_unknown_persona_lists_known_names():
    with pytest.raises(ValueError) as info:
        build_policy("wizard", account=ACCOUNT)
    for name in PERSONAS:
        assert name in str(info.value)


def test_unknown_activity_lists_known_names():
    with pytest.raises(ValueError) as info:
        build_policy("data-scientist", ["fly"], account=ACCOUNT)
    for name in ACTIVITIES:
        assert name in str(info.value)


@pytest.mark.parametrize("kwargs", [{"account": "12345"}, {"account": ACCOUNT, "region": "mars"}])
def test_invalid_scope(kwargs):
    with pytest.raises(ValueError):
        build_policy("auditor", **kwargs)


def test_duplicate_activities_are_merged_and_id_names_the_user():
    document = build_policy("auditor", ["read-only-audit", "read-only-audit"], account=ACCOUNT, username="bob")
    assert [s["Sid"] for s in document["Statement"]] == [
        "ReadOnlyAuditList", "ReadOnlyAudit", "ReadOnlyAuditLog", "ReadOnlyAuditBuckets", "ReadOnlyAuditArtifacts",
    ]
    assert document["Id"] == "charter-persona-auditor-bob"
