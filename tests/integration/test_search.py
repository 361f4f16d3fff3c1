"""Search through boto3: model package groups, model packages and model cards.

The server is shared with other test modules, so every resource a test creates
carries a tag ``search-run`` with a value unique to the test, and every search
filters on it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from botocore.exceptions import ClientError

RUN_TAG = "search-run"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex


def tagged(run_id: str, **more: str) -> list[dict]:
    return [{"Key": RUN_TAG, "Value": run_id}] + [{"Key": k, "Value": v} for k, v in more.items()]


def scoped(run_id: str, *filters: dict, **expression) -> dict:
    """A SearchExpression limited to this test's resources."""
    own = {"Name": f"Tags.{RUN_TAG}", "Operator": "Equals", "Value": run_id}
    if expression.get("Operator") == "Or":
        return {"Filters": [own], "SubExpressions": [{"Filters": list(filters), **expression}]}
    return {"Filters": [own, *filters], **expression}


def error_of(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def group_names(response) -> list[str]:
    return [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in response["Results"]]


def require(sm, operation: str, **kwargs) -> dict:
    """Call ``operation``; skip the test while this Charter does not implement it yet."""
    try:
        return getattr(sm, operation)(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] == "UnsupportedOperation":
            pytest.skip(f"{operation} answers UnsupportedOperation on this server: nothing of that kind to search yet")
        raise


# --- model package groups --------------------------------------------------------------------


@pytest.fixture
def groups(sm, run_id):
    """Four groups, created oldest first: (name, description, tags)."""
    prefix = unique("srch")
    specs = [
        (f"{prefix}-fraud", "Fraud detection for card payments", {"team": "risk", "stage": "prod"}),
        (f"{prefix}-churn", "Customer churn", {"team": "growth"}),
        (f"{prefix}-ranking", None, {"team": "search", "stage": "dev"}),
        (f"{prefix}-Forecast", "Demand FORECAST", {}),
    ]
    for name, description, tags in specs:
        kwargs = {"ModelPackageGroupName": name, "Tags": tagged(run_id, **tags)}
        if description:
            kwargs["ModelPackageGroupDescription"] = description
        sm.create_model_package_group(**kwargs)
    return [name for name, _, _ in specs]


def test_search_groups_returns_records_with_tags_and_total_hits(sm, run_id, groups):
    fraud, churn, ranking, forecast = groups
    out = sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id))
    # Default order for groups (which have no LastModifiedTime): newest first.
    assert group_names(out) == [forecast, ranking, churn, fraud]
    assert out["TotalHits"] == {"Value": 4, "Relation": "EqualTo"}
    assert "NextToken" not in out

    record = sm.search(
        Resource="ModelPackageGroup",
        SearchExpression=scoped(run_id, {"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": fraud}),
    )["Results"][0]["ModelPackageGroup"]
    described = sm.describe_model_package_group(ModelPackageGroupName=fraud)
    for key in (
        "ModelPackageGroupName",
        "ModelPackageGroupArn",
        "ModelPackageGroupDescription",
        "CreationTime",
        "ModelPackageGroupStatus",
        "CreatedBy",
    ):
        assert record[key] == described[key]
    assert isinstance(record["CreationTime"], dt.datetime)
    assert sorted((t["Key"], t["Value"]) for t in record["Tags"]) == [
        (RUN_TAG, run_id),
        ("stage", "prod"),
        ("team", "risk"),
    ]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"Name": "ModelPackageGroupDescription", "Operator": "Contains", "Value": "forecast"}, ["forecast"]),
        ({"Name": "ModelPackageGroupDescription", "Operator": "Equals", "Value": "Customer churn"}, ["churn"]),
        ({"Name": "ModelPackageGroupDescription", "Operator": "Equals", "Value": "customer churn"}, []),
        (
            {"Name": "ModelPackageGroupDescription", "Operator": "NotEquals", "Value": "Customer churn"},
            ["forecast", "ranking", "fraud"],
        ),
        ({"Name": "ModelPackageGroupDescription", "Operator": "Exists"}, ["forecast", "churn", "fraud"]),
        ({"Name": "ModelPackageGroupDescription", "Operator": "NotExists"}, ["ranking"]),
        (
            {"Name": "ModelPackageGroupStatus", "Operator": "In", "Value": "Pending,Completed"},
            ["forecast", "ranking", "churn", "fraud"],
        ),
        ({"Name": "Tags.team", "Operator": "Equals", "Value": "risk"}, ["fraud"]),
        ({"Name": "Tags.team", "Operator": "In", "Value": "growth,search"}, ["ranking", "churn"]),
        ({"Name": "Tags.team", "Operator": "NotEquals", "Value": "risk"}, ["forecast", "ranking", "churn"]),
        ({"Name": "Tags.stage", "Operator": "Exists"}, ["ranking", "fraud"]),
        ({"Name": "Tags.stage", "Operator": "NotExists"}, ["forecast", "churn"]),
        ({"Name": "Tags.team", "Operator": "Contains", "Value": "GROW"}, ["churn"]),
        (
            {"Name": "CreatedBy.IamIdentity.Arn", "Value": "arn:aws:iam::123456789012:user/admin"},
            ["forecast", "ranking", "churn", "fraud"],
        ),
    ],
)
def test_group_filters(sm, run_id, groups, spec, expected):
    by_suffix = {name.rsplit("-", 1)[1].lower(): name for name in groups}
    out = sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id, spec))
    assert group_names(out) == [by_suffix[s] for s in expected]
    assert out["TotalHits"]["Value"] == len(expected)


def test_creation_time_filters_take_iso_8601_or_epoch_seconds(sm, run_id, groups):
    fraud, churn, ranking, forecast = groups
    churn_created = sm.describe_model_package_group(ModelPackageGroupName=churn)["CreationTime"]
    ranking_created = sm.describe_model_package_group(ModelPackageGroupName=ranking)["CreationTime"]
    between = churn_created + (ranking_created - churn_created) / 2
    iso = between.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    later = {"Name": "CreationTime", "Operator": "GreaterThan", "Value": iso}
    assert group_names(sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id, later))) == [
        forecast,
        ranking,
    ]
    with_zone = between.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    earlier = {"Name": "CreationTime", "Operator": "LessThan", "Value": with_zone}
    assert group_names(sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id, earlier))) == [
        churn,
        fraud,
    ]
    up_to = {"Name": "CreationTime", "Operator": "LessThanOrEqualTo", "Value": str(between.timestamp())}
    assert group_names(sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id, up_to))) == [
        churn,
        fraud,
    ]


def test_and_or_and_sub_expressions(sm, run_id, groups):
    fraud, churn, ranking, forecast = groups
    risk = {"Name": "Tags.team", "Operator": "Equals", "Value": "risk"}
    dev = {"Name": "Tags.stage", "Operator": "Equals", "Value": "dev"}
    described = {"Name": "ModelPackageGroupDescription", "Operator": "Exists"}

    either = sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id, risk, dev, Operator="Or"))
    assert group_names(either) == [ranking, fraud]
    both = sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id, risk, dev))
    assert group_names(both) == []
    # described AND (risk OR dev)
    expression = scoped(run_id, described)
    expression["SubExpressions"] = [{"Operator": "Or", "Filters": [risk, dev]}]
    assert group_names(sm.search(Resource="ModelPackageGroup", SearchExpression=expression)) == [fraud]


def test_visibility_conditions(sm, run_id, groups):
    fraud, churn, ranking, forecast = groups
    out = sm.search(
        Resource="ModelPackageGroup",
        SearchExpression=scoped(run_id),
        VisibilityConditions=[{"Key": "Tags.stage", "Value": "prod"}],
    )
    # ranking carries stage=dev, so it is hidden; groups without a stage tag stay visible.
    assert group_names(out) == [forecast, churn, fraud]


def test_sort_and_paginate_with_the_boto3_paginator(sm, run_id):
    prefix = unique("page")
    names = [f"{prefix}-{i:02d}" for i in range(11)]
    for name in reversed(names):
        sm.create_model_package_group(ModelPackageGroupName=name, Tags=tagged(run_id))

    paginator = sm.get_paginator("search")
    pages = list(
        paginator.paginate(
            Resource="ModelPackageGroup",
            SearchExpression=scoped(run_id),
            SortBy="ModelPackageGroupName",
            SortOrder="Ascending",
            PaginationConfig={"PageSize": 4},
        )
    )
    assert [len(page["Results"]) for page in pages] == [4, 4, 3]
    assert [name for page in pages for name in group_names(page)] == names
    assert all(page["TotalHits"] == {"Value": 11, "Relation": "EqualTo"} for page in pages)

    full = paginator.paginate(
        Resource="ModelPackageGroup",
        SearchExpression=scoped(run_id),
        SortBy="CreationTime",
        SortOrder="Ascending",
        PaginationConfig={"PageSize": 5},
    ).build_full_result()
    assert group_names(full) == names[::-1]
    assert full["TotalHits"]["Value"] == 11

    descending = sm.search(
        Resource="ModelPackageGroup", SearchExpression=scoped(run_id), SortBy="ModelPackageGroupName", MaxResults=3
    )
    assert group_names(descending) == names[::-1][:3]

    # A token is bound to the query that issued it.
    token = sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id), MaxResults=2)["NextToken"]
    error = error_of(
        sm.search,
        Resource="ModelPackageGroup",
        SearchExpression=scoped(run_id),
        MaxResults=2,
        NextToken=token,
        SortBy="ModelPackageGroupName",
    )
    assert error["Code"] == "ValidationException"
    assert "different" in error["Message"]
    error = error_of(sm.search, Resource="ModelPackageGroup", SearchExpression=scoped(run_id), NextToken="garbage")
    assert error["Code"] == "ValidationException"


def test_search_is_scoped_to_the_region_of_the_request(charter, sm, run_id):
    name = unique("regional")
    charter.client(region="eu-west-1").create_model_package_group(ModelPackageGroupName=name, Tags=tagged(run_id))
    assert sm.search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id))["TotalHits"]["Value"] == 0
    found = charter.client(region="eu-west-1").search(Resource="ModelPackageGroup", SearchExpression=scoped(run_id))
    assert group_names(found) == [name]


def test_an_auditor_may_search(charter, run_id, groups):
    auditor = charter.create_user(f"search-auditor-{uuid.uuid4().hex[:6]}", "auditor")
    out = auditor.search(
        Resource="ModelPackageGroup", SearchExpression=scoped(run_id, {"Name": "Tags.team", "Value": "growth"})
    )
    assert group_names(out) == [groups[1]]


@pytest.mark.parametrize(
    "request_, code, message",
    [
        (
            {
                "Resource": "ModelPackageGroup",
                "SearchExpression": {"Filters": [{"Name": "GroupName", "Operator": "Equals", "Value": "x"}]},
            },
            "ValidationException",
            "Unknown property name: GroupName",
        ),
        (
            {
                "Resource": "ModelPackageGroup",
                "SearchExpression": {
                    "Filters": [{"Name": "ModelPackageGroupName", "Operator": "GreaterThan", "Value": "a"}]
                },
            },
            "ValidationException",
            "not supported for text properties",
        ),
        (
            {
                "Resource": "ModelPackageGroup",
                "SearchExpression": {
                    "Filters": [{"Name": "CreationTime", "Operator": "LessThan", "Value": "last week"}]
                },
            },
            "ValidationException",
            "ISO 8601",
        ),
        (
            {
                "Resource": "ModelPackageGroup",
                "SearchExpression": {
                    "Filters": [
                        {"Name": "ModelPackageGroupName", "Operator": "Contains", "Value": "a"},
                        {"Name": "ModelPackageGroupDescription", "Operator": "Contains", "Value": "b"},
                    ]
                },
            },
            "ValidationException",
            "'CONTAINS' operator usage limit of 1 exceeded.",
        ),
        (
            {"Resource": "ModelPackageGroup", "SearchExpression": {"Operator": "Or"}},
            "ValidationException",
            "at least one Filter, NestedFilter or SubExpression",
        ),
        (
            {
                "Resource": "ModelPackageGroup",
                "SearchExpression": {
                    "Operator": "Or",
                    "SubExpressions": [
                        {"Filters": [{"Name": f"Tags.k{i}", "Operator": "Exists"} for i in range(20)]} for _ in range(3)
                    ],
                },
            },
            "ValidationException",
            "at most 50",
        ),
        (
            {"Resource": "ModelPackageGroup", "CrossAccountFilterOption": "CrossAccount"},
            "ValidationException",
            "CrossAccount",
        ),
        ({"Resource": "ModelPackageGroup", "SortBy": "Size"}, "ValidationException", "Unknown property name: Size"),
        (
            {"Resource": "ModelPackageGroup", "VisibilityConditions": [{"Key": "team", "Value": "x"}]},
            "ValidationException",
            "Tags.<key>",
        ),
    ],
)
def test_invalid_searches_are_refused_with_a_reason(sm, request_, code, message):
    error = error_of(sm.search, **request_)
    assert error["Code"] == code
    assert message in error["Message"]


def test_model_constraints_are_checked_before_the_search(charter):
    raw = charter.client(validate=False)
    error = error_of(raw.search, Resource="ModelPackageGroup", MaxResults=500)
    assert error["Code"] == "ValidationException"
    assert "maxResults" in error["Message"]
    error = error_of(raw.search, Resource="Spaceship")
    assert "Member must satisfy enum value set" in error["Message"]


# --- model packages (skipped until CreateModelPackage lands) -----------------------------------


@pytest.fixture
def packages(sm, run_id):
    group = unique("srch-pkgs")
    sm.create_model_package_group(ModelPackageGroupName=group, Tags=tagged(run_id))
    specs = [
        ("Rejected", [("xgboost:1.5", {"ROLE": "main"})], ["text/csv"]),
        (
            "Approved",
            [("xgboost:1.7", {"ROLE": "main"}), ("explainer:1", {"ROLE": "sidecar"})],
            ["text/csv", "application/json"],
        ),
        (
            "PendingManualApproval",
            [("sklearn:1.3", {"ROLE": "main"}), ("xgboost:1.7", {"ROLE": "sidecar"})],
            ["application/json"],
        ),
    ]
    arns = []
    for status, containers, content_types in specs:
        arns.append(
            require(
                sm,
                "create_model_package",
                ModelPackageGroupName=group,
                ModelPackageDescription=f"{status} candidate",
                ModelApprovalStatus=status,
                InferenceSpecification={
                    "Containers": [
                        {"Image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{image}", "Environment": env}
                        for image, env in containers
                    ],
                    "SupportedContentTypes": content_types,
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
                CustomerMetadataProperties={"owner": status.lower()},
                Tags=tagged(run_id, status=status),
            )["ModelPackageArn"]
        )
    return group, arns


def versions(response) -> list[int]:
    return [r["ModelPackage"]["ModelPackageVersion"] for r in response["Results"]]


def test_search_model_packages(sm, run_id, packages):
    group, arns = packages
    in_group = {"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}

    def search(*filters, **kwargs):
        return sm.search(Resource="ModelPackage", SearchExpression=scoped(run_id, in_group, *filters), **kwargs)

    everything = search(SortBy="ModelPackageVersion", SortOrder="Ascending")
    assert versions(everything) == [1, 2, 3]
    record = everything["Results"][1]["ModelPackage"]
    assert record["ModelPackageArn"] == arns[1]
    assert record["ModelApprovalStatus"] == "Approved"
    assert {"Key": "status", "Value": "Approved"} in record["Tags"]

    assert versions(search({"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": "Approved"})) == [2]
    assert versions(
        search(
            {"Name": "ModelApprovalStatus", "Operator": "In", "Value": "Approved,Rejected"},
            SortBy="ModelPackageVersion",
            SortOrder="Ascending",
        )
    ) == [1, 2]
    assert versions(
        search(
            {"Name": "ModelPackageVersion", "Operator": "GreaterThanOrEqualTo", "Value": "2"},
            SortBy="ModelPackageVersion",
        )
    ) == [3, 2]
    assert versions(
        search({"Name": "CustomerMetadataProperties.owner", "Operator": "Equals", "Value": "rejected"})
    ) == [1]
    # A path through the containers list matches any container.
    image = "InferenceSpecification.Containers.Image"
    assert versions(
        search({"Name": image, "Operator": "Contains", "Value": "xgboost:1.7"}, SortBy="ModelPackageVersion")
    ) == [3, 2]
    assert versions(
        search(
            {"Name": "InferenceSpecification.SupportedContentTypes", "Operator": "Equals", "Value": "text/csv"},
            SortBy="ModelPackageVersion",
        )
    ) == [2, 1]
    assert versions(
        search({"Name": "Tags.status", "Operator": "NotEquals", "Value": "Approved"}, SortBy="ModelPackageVersion")
    ) == [3, 1]


def test_nested_filters_on_model_package_containers(sm, run_id, packages):
    group, _ = packages
    nested = {
        "NestedPropertyName": "InferenceSpecification.Containers",
        "Filters": [
            {"Name": "InferenceSpecification.Containers.Image", "Operator": "Contains", "Value": "xgboost:1.7"},
            {"Name": "InferenceSpecification.Containers.Environment.ROLE", "Operator": "Equals", "Value": "main"},
        ],
    }
    expression = scoped(run_id, {"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group})
    expression["NestedFilters"] = [nested]
    # Version 3 has an xgboost:1.7 container and a main container, but they are not the same one.
    assert versions(sm.search(Resource="ModelPackage", SearchExpression=expression)) == [2]

    bad = dict(
        expression,
        NestedFilters=[
            {
                "NestedPropertyName": "InferenceSpecification.Containers",
                "Filters": [{"Name": "ModelApprovalStatus", "Operator": "Equals", "Value": "Approved"}],
            }
        ],
    )
    error = error_of(sm.search, Resource="ModelPackage", SearchExpression=bad)
    assert "must name a property of InferenceSpecification.Containers" in error["Message"]


def test_model_packages_paginate(sm, run_id, packages):
    group, _ = packages
    pages = list(
        sm.get_paginator("search").paginate(
            Resource="ModelPackage",
            SearchExpression=scoped(run_id, {"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": group}),
            SortBy="ModelPackageVersion",
            SortOrder="Descending",
            PaginationConfig={"PageSize": 2},
        )
    )
    assert [versions(page) for page in pages] == [[3, 2], [1]]
    assert pages[0]["TotalHits"]["Value"] == 3


# --- model cards (skipped until CreateModelCard lands) -------------------------------------------


@pytest.fixture
def cards(sm, run_id):
    specs = [
        (
            "Approved",
            {
                "model_overview": {"model_id": "fraud-v2", "model_owner": "Risk"},
                "intended_uses": {"risk_rating": "High", "purpose_of_model": "Flag fraudulent payments"},
            },
        ),
        (
            "Draft",
            {
                "model_overview": {"model_id": "churn-v1", "model_owner": "Growth"},
                "intended_uses": {"risk_rating": "Low"},
            },
        ),
        ("PendingReview", {"model_overview": {"model_owner": "Search"}}),
    ]
    names = []
    for status, content in specs:
        name = unique(f"card-{status.lower()}")
        require(
            sm,
            "create_model_card",
            ModelCardName=name,
            Content=json.dumps(content),
            ModelCardStatus=status,
            Tags=tagged(run_id),
        )
        names.append(name)
    return names


def card_names(response) -> list[str]:
    return [r["ModelCard"]["ModelCardName"] for r in response["Results"]]


def test_search_model_cards(sm, run_id, cards):
    fraud, churn, search_card = cards

    def search(*filters, **kwargs):
        return sm.search(Resource="ModelCard", SearchExpression=scoped(run_id, *filters), **kwargs)

    assert card_names(search()) == [search_card, churn, fraud]
    assert card_names(search({"Name": "ModelCardStatus", "Operator": "Equals", "Value": "Draft"})) == [churn]
    assert card_names(search({"Name": "RiskRating", "Operator": "Equals", "Value": "High"})) == [fraud]
    assert card_names(search({"Name": "ModelId", "Operator": "Exists"})) == [churn, fraud]
    assert card_names(search({"Name": "Content", "Operator": "Contains", "Value": "fraudulent"})) == [fraud]
    assert card_names(
        search({"Name": "Content.model_overview.model_owner", "Operator": "Equals", "Value": "Search"})
    ) == [search_card]

    record = search({"Name": "ModelCardName", "Operator": "Equals", "Value": fraud})["Results"][0]["ModelCard"]
    assert record["ModelId"] == "fraud-v2"
    assert record["RiskRating"] == "High"
    assert json.loads(record["Content"])["model_overview"]["model_owner"] == "Risk"
    assert {"Key": RUN_TAG, "Value": run_id} in record["Tags"]
