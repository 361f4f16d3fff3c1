"""The Search compiler against a real database: SQLite, or PostgreSQL with CHARTER_TEST_DB=postgresql.

Documents are written straight into the store (as the model package, group and
card services write them) and searched with ``charter.services.search.search``,
the function behind the ``Search`` operation, so every filter below runs as SQL
on the backend under test.
"""

from __future__ import annotations

import json

import pytest

from charter.errors import ValidationException
from charter.instance import Instance
from charter.services import Call
from charter.services.search import search
from charter.store import resources as store

ACCOUNT = "123456789012"
REGION = "us-east-1"
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def _user() -> dict:
    return {
        "UserProfileName": "alice",
        "IamIdentity": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "PrincipalId": "alice"},
    }


def group_document(name: str, created: float, description: str | None = None) -> dict:
    doc = {
        "ModelPackageGroupName": name,
        "ModelPackageGroupArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{name.lower()}",
        "CreationTime": created,
        "CreatedBy": _user(),
        "ModelPackageGroupStatus": "Completed",
    }
    if description:
        doc["ModelPackageGroupDescription"] = description
    return doc


def package_document(group: str, version: int, created: float, status: str, images: list[str], **extra) -> dict:
    doc = {
        "ModelPackageName": group,
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group.lower()}/{version}",
        "CreationTime": created,
        "LastModifiedTime": created,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": image,
                    "ModelDataUrl": f"s3://models/{group}/{version}/{i}.tar.gz",
                    "Environment": {"ROLE": "main" if i == 0 else "sidecar"},
                }
                for i, image in enumerate(images)
            ],
            "SupportedContentTypes": ["text/csv"] if version % 2 else ["application/json", "text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": False,
        "ModelApprovalStatus": status,
        "CreatedBy": _user(),
    }
    doc.update(extra)
    return doc


def card_document(name: str, created: float, status: str, content: dict | str) -> dict:
    return {
        "ModelCardArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-card/{name}",
        "ModelCardName": name,
        "ModelCardVersion": 1,
        "Content": content if isinstance(content, str) else json.dumps(content),
        "ModelCardStatus": status,
        "CreationTime": created,
        "CreatedBy": _user(),
        "LastModifiedTime": created,
        "LastModifiedBy": _user(),
    }


PACKAGES = [
    # (group, version, created offset, status, images, extra, tags)
    (
        "fraud",
        1,
        10,
        "Rejected",
        ["xgboost:1.5"],
        {"ApprovalDescription": "AUC too low"},
        {"team": "risk", "stage": "dev"},
    ),
    (
        "fraud",
        2,
        20,
        "Approved",
        ["xgboost:1.7", "explainer:1"],
        {"CustomerMetadataProperties": {"owner": "risk-team", "cost-center": "42"}, "_charter": {"ClientToken": "abc"}},
        {"team": "risk", "stage": "prod"},
    ),
    (
        "fraud",
        3,
        30,
        "PendingManualApproval",
        ["pytorch:2.1"],
        {"ModelLifeCycle": {"Stage": "Staging", "StageStatus": "InProgress"}},
        {"team": "risk"},
    ),
    (
        "churn",
        1,
        40,
        "Approved",
        ["sklearn:1.2"],
        {"CertifyForMarketplace": True, "Domain": "MACHINE_LEARNING"},
        {"team": "growth"},
    ),
    (
        "churn",
        2,
        50,
        "PendingManualApproval",
        ["sklearn:1.3", "xgboost:1.7"],
        {"ModelPackageDescription": "Churn with XGBoost fallback"},
        {},
    ),
]


@pytest.fixture(scope="module")
def instance(tmp_path_factory, database_url_factory):
    inst = Instance.from_env(home=tmp_path_factory.mktemp("search-home"), database_url=database_url_factory())
    with inst.transaction() as conn:
        for name, offset, description in [
            ("fraud", 1, "Fraud detection"),
            ("churn", 2, None),
            ("Ranking", 3, "Search ranking"),
        ]:
            doc = group_document(name, T0 + offset, description)
            store.create(
                conn,
                arn=doc["ModelPackageGroupArn"],
                account=ACCOUNT,
                region=REGION,
                resource_type="model-package-group",
                name=name,
                status="Completed",
                created_at=doc["CreationTime"],
                document=doc,
                tags_=[{"Key": "owner", "Value": name}],
            )
        for group, version, offset, status, images, extra, tag_map in PACKAGES:
            doc = package_document(group, version, T0 + offset, status, images, **extra)
            store.create(
                conn,
                arn=doc["ModelPackageArn"],
                account=ACCOUNT,
                region=REGION,
                resource_type="model-package",
                name=group,
                parent=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{group}",
                version=version,
                status="Completed",
                created_at=doc["CreationTime"],
                document=doc,
                tags_=[{"Key": k, "Value": v} for k, v in tag_map.items()],
            )
        # The same kind of resource in another region and another account: never found.
        for account, region in [(ACCOUNT, "eu-west-1"), ("210987654321", REGION)]:
            doc = package_document("fraud", 1, T0, "Approved", ["xgboost:1.5"])
            store.create(
                conn,
                arn=f"arn:aws:sagemaker:{region}:{account}:model-package/fraud/1",
                account=account,
                region=region,
                resource_type="model-package",
                name="fraud",
                parent=f"{region}/{account}/fraud",
                version=1,
                created_at=T0,
                document=doc,
            )
        cards = [
            (
                "fraud-card",
                100,
                "Approved",
                {
                    "model_overview": {"model_id": "fraud-v2", "model_owner": "Risk Team", "algorithm_type": "XGBoost"},
                    "intended_uses": {"risk_rating": "High", "purpose_of_model": "Flag fraudulent card payments"},
                    "model_package_details": {"model_package_group_name": "fraud"},
                },
            ),
            (
                "churn-card",
                200,
                "Draft",
                {
                    "model_overview": {"model_id": "churn-v1", "model_owner": "Growth"},
                    "intended_uses": {"risk_rating": "Low"},
                },
            ),
            ("empty-card", 300, "PendingReview", {}),
        ]
        for name, offset, status, content in cards:
            doc = card_document(name, T0 + offset, status, content)
            store.create(
                conn,
                arn=doc["ModelCardArn"],
                account=ACCOUNT,
                region=REGION,
                resource_type="model-card",
                name=name,
                status=status,
                created_at=doc["CreationTime"],
                document=doc,
                tags_=[{"Key": "team", "Value": name.split("-")[0]}],
            )
    yield inst
    inst.close()


def run(instance, **params) -> dict:
    with instance.transaction(write=False) as conn:
        call = Call(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:user/alice", "alice", "req", conn, instance.codec)
        return search(call, params)


def packages(instance, *filters, operator: str | None = None, **params) -> list[str]:
    """The matching packages as 'group/version', in result order (newest first by default)."""
    if filters:
        expression = {"Filters": list(filters)}
        if operator:
            expression["Operator"] = operator
        params["SearchExpression"] = expression
    out = run(instance, Resource="ModelPackage", MaxResults=100, **params)
    found = [
        f"{r['ModelPackage']['ModelPackageGroupName']}/{r['ModelPackage']['ModelPackageVersion']}"
        for r in out["Results"]
    ]
    assert out["TotalHits"] == {"Value": len(found), "Relation": "EqualTo"}
    return found


def f(name: str, operator: str | None = None, value: str | None = None) -> dict:
    spec = {"Name": name}
    if operator:
        spec["Operator"] = operator
    if value is not None:
        spec["Value"] = value
    return spec


def invalid(instance, **params) -> str:
    with pytest.raises(ValidationException) as caught:
        run(instance, **params)
    return caught.value.message


# --- scope, defaults, records -------------------------------------------------------------


def test_everything_of_the_callers_account_and_region_newest_change_first(instance):
    assert packages(instance) == ["churn/2", "churn/1", "fraud/3", "fraud/2", "fraud/1"]


def test_records_carry_the_document_and_its_tags(instance):
    out = run(
        instance,
        Resource="ModelPackage",
        SearchExpression={
            "Filters": [f("ModelPackageArn", "Equals", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/fraud/2")]
        },
    )
    (record,) = out["Results"]
    package = record["ModelPackage"]
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["InferenceSpecification"]["Containers"][1]["Image"] == "explainer:1"
    assert package["Tags"] == [{"Key": "stage", "Value": "prod"}, {"Key": "team", "Value": "risk"}]
    assert "_charter" not in package  # services' private bookkeeping stays private
    assert "NextToken" not in out


def test_model_package_groups(instance):
    # Groups have no LastModifiedTime: newest created first.
    out = run(instance, Resource="ModelPackageGroup")
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in out["Results"]] == ["Ranking", "churn", "fraud"]
    out = run(instance, Resource="ModelPackageGroup", SortBy="ModelPackageGroupName", SortOrder="Ascending")
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in out["Results"]] == ["Ranking", "churn", "fraud"]
    assert out["Results"][0]["ModelPackageGroup"]["Tags"] == [{"Key": "owner", "Value": "Ranking"}]
    out = run(
        instance,
        Resource="ModelPackageGroup",
        SearchExpression={"Filters": [f("ModelPackageGroupDescription", "Exists")]},
    )
    assert [r["ModelPackageGroup"]["ModelPackageGroupName"] for r in out["Results"]] == ["Ranking", "fraud"]
    assert out["TotalHits"]["Value"] == 2


# --- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        (f("ModelApprovalStatus", "Equals", "Approved"), ["churn/1", "fraud/2"]),
        (f("ModelApprovalStatus", "Equals", "approved"), []),  # Equals is exact
        (f("ModelApprovalStatus", value="Rejected"), ["fraud/1"]),  # a Value without an Operator means Equals
        (f("ModelApprovalStatus", "NotEquals", "PendingManualApproval"), ["churn/1", "fraud/2", "fraud/1"]),
        (f("ModelApprovalStatus", "In", "Approved, Rejected"), ["churn/1", "fraud/2", "fraud/1"]),
        (f("ModelPackageDescription", "Contains", "xgboost"), ["churn/2"]),  # case-insensitive substring
        (f("ModelPackageDescription", "Contains", "100%"), []),  # LIKE wildcards are literal
        (f("ApprovalDescription", "Exists"), ["fraud/1"]),
        (f("ApprovalDescription"), ["fraud/1"]),  # neither Operator nor Value: Exists
        (f("ApprovalDescription", "NotExists"), ["churn/2", "churn/1", "fraud/3", "fraud/2"]),
        (
            f("ApprovalDescription", "NotEquals", "AUC too low"),
            ["churn/2", "churn/1", "fraud/3", "fraud/2"],
        ),  # missing counts as not equal
        (f("ModelPackageVersion", "Equals", "2"), ["churn/2", "fraud/2"]),
        (f("ModelPackageVersion", "GreaterThan", "2"), ["fraud/3"]),
        (f("ModelPackageVersion", "GreaterThanOrEqualTo", "2"), ["churn/2", "fraud/3", "fraud/2"]),
        (f("ModelPackageVersion", "LessThan", "1.5"), ["churn/1", "fraud/1"]),
        (f("ModelPackageVersion", "LessThanOrEqualTo", "1"), ["churn/1", "fraud/1"]),
        (f("CreationTime", "GreaterThan", "2023-11-14T22:13:50"), ["churn/2", "churn/1"]),  # ISO 8601, UTC
        (f("CreationTime", "GreaterThanOrEqualTo", "2023-11-14T23:13:50+01:00"), ["churn/2", "churn/1", "fraud/3"]),
        (f("CreationTime", "LessThan", str(T0 + 25)), ["fraud/2", "fraud/1"]),  # epoch seconds
        (f("CertifyForMarketplace", "Equals", "true"), ["churn/1"]),
        (f("CertifyForMarketplace", "Equals", "False"), ["churn/2", "fraud/3", "fraud/2", "fraud/1"]),
        (f("ModelLifeCycle.Stage", "Equals", "Staging"), ["fraud/3"]),
        (f("ModelLifeCycle", "Exists"), ["fraud/3"]),
        (f("CustomerMetadataProperties.owner", "Equals", "risk-team"), ["fraud/2"]),
        (
            f("CustomerMetadataProperties.cost-center", "In", "41,42"),
            ["fraud/2"],
        ),  # keys that need quoting in a JSON path
        (f("Domain", "Equals", "MACHINE_LEARNING"), ["churn/1"]),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_operators(instance, spec, expected):
    assert packages(instance, spec) == expected


@pytest.mark.parametrize(
    "spec, expected",
    [
        # A path through a list matches when any element matches.
        (f("InferenceSpecification.Containers.Image", "Equals", "xgboost:1.7"), ["churn/2", "fraud/2"]),
        (f("InferenceSpecification.Containers.Image", "Contains", "SKLEARN"), ["churn/2", "churn/1"]),
        (f("InferenceSpecification.Containers.Image", "NotEquals", "xgboost:1.7"), ["churn/1", "fraud/3", "fraud/1"]),
        (f("InferenceSpecification.Containers.Environment.ROLE", "Equals", "sidecar"), ["churn/2", "fraud/2"]),
        (f("InferenceSpecification.SupportedContentTypes", "Equals", "application/json"), ["churn/2", "fraud/2"]),
        (
            f("InferenceSpecification.SupportedContentTypes", "In", "application/json,text/plain"),
            ["churn/2", "fraud/2"],
        ),
        (f("InferenceSpecification.Containers", "Exists"), ["churn/2", "churn/1", "fraud/3", "fraud/2", "fraud/1"]),
    ],
)
def test_paths_through_lists(instance, spec, expected):
    assert packages(instance, spec) == expected


def test_and_or_and_sub_expressions(instance):
    approved = f("ModelApprovalStatus", "Equals", "Approved")
    fraud = f("ModelPackageGroupName", "Equals", "fraud")
    assert packages(instance, approved, fraud) == ["fraud/2"]
    assert packages(instance, approved, fraud, operator="Or") == ["churn/1", "fraud/3", "fraud/2", "fraud/1"]
    # (fraud AND version >= 2) OR (churn AND NOT approved)
    expression = {
        "Operator": "Or",
        "SubExpressions": [
            {"Filters": [fraud, f("ModelPackageVersion", "GreaterThanOrEqualTo", "2")]},
            {
                "Filters": [
                    f("ModelPackageGroupName", "Equals", "churn"),
                    f("ModelApprovalStatus", "NotEquals", "Approved"),
                ]
            },
        ],
    }
    assert packages(instance, SearchExpression=expression) == ["churn/2", "fraud/3", "fraud/2"]
    # Filters, nested filters and sub-expressions combine under one And.
    expression = {
        "Filters": [f("Tags.team", "Exists")],
        "NestedFilters": [
            {
                "NestedPropertyName": "InferenceSpecification.Containers",
                "Filters": [f("InferenceSpecification.Containers.Image", "Contains", "xgboost")],
            }
        ],
        "SubExpressions": [{"Operator": "Or", "Filters": [fraud, f("Tags.team", "Equals", "growth")]}],
    }
    assert packages(instance, SearchExpression=expression) == ["fraud/2", "fraud/1"]


def test_nested_filters_match_within_one_element(instance):
    def nested(*filters):
        return packages(
            instance,
            SearchExpression={
                "NestedFilters": [{"NestedPropertyName": "InferenceSpecification.Containers", "Filters": list(filters)}]
            },
        )

    image = "InferenceSpecification.Containers.Image"
    role = "InferenceSpecification.Containers.Environment.ROLE"
    # churn/2 has an xgboost container and a main container, but not one that is both.
    assert nested(f(image, "Contains", "xgboost"), f(role, "Equals", "main")) == ["fraud/2", "fraud/1"]
    assert nested(f(image, "Contains", "xgboost"), f(role, "Equals", "sidecar")) == ["churn/2"]
    assert nested(f(image, "Equals", "explainer:1"), f(role, "NotEquals", "main")) == ["fraud/2"]
    # The same two filters without nesting may match different containers.
    assert packages(instance, f(image, "Contains", "xgboost"), f(role, "Equals", "main")) == [
        "churn/2",
        "fraud/2",
        "fraud/1",
    ]


@pytest.mark.parametrize(
    "spec, expected",
    [
        (f("Tags.team", "Equals", "risk"), ["fraud/3", "fraud/2", "fraud/1"]),
        (f("Tags.team", "NotEquals", "risk"), ["churn/2", "churn/1"]),
        (f("Tags.team", "In", "growth,nobody"), ["churn/1"]),
        (f("Tags.team", "Contains", "RIS"), ["fraud/3", "fraud/2", "fraud/1"]),
        (f("Tags.stage", "Exists"), ["fraud/2", "fraud/1"]),
        (f("Tags.stage", "NotExists"), ["churn/2", "churn/1", "fraud/3"]),
        (f("Tags", "NotExists"), ["churn/2"]),
    ],
)
def test_tag_filters(instance, spec, expected):
    assert packages(instance, spec) == expected


def test_visibility_conditions_hide_only_resources_whose_tag_differs(instance):
    assert packages(instance, VisibilityConditions=[{"Key": "Tags.stage", "Value": "prod"}]) == [
        "churn/2",
        "churn/1",
        "fraud/3",
        "fraud/2",
    ]
    both = [{"Key": "Tags.stage", "Value": "prod"}, {"Key": "Tags.team", "Value": "growth"}]
    assert packages(instance, VisibilityConditions=both) == ["churn/2", "churn/1"]


# --- sorting and pagination ---------------------------------------------------------------


def test_sort_by_any_property_missing_values_last(instance):
    assert packages(instance, SortBy="ModelPackageVersion", SortOrder="Ascending") == [
        "fraud/1",
        "churn/1",
        "fraud/2",
        "churn/2",
        "fraud/3",
    ]
    assert packages(instance, SortBy="ModelApprovalStatus", SortOrder="Ascending") == [
        "fraud/2",
        "churn/1",
        "fraud/3",
        "churn/2",
        "fraud/1",
    ]
    assert packages(instance, SortBy="CreationTime", SortOrder="Ascending") == [
        "fraud/1",
        "fraud/2",
        "fraud/3",
        "churn/1",
        "churn/2",
    ]
    assert packages(instance, SortBy="ModelLifeCycle.Stage")[0] == "fraud/3"
    assert packages(instance, SortBy="ModelLifeCycle.Stage", SortOrder="Ascending")[0] == "fraud/3"
    assert packages(instance, SortBy="Tags.stage", SortOrder="Ascending") == [
        "fraud/1",
        "fraud/2",
        "fraud/3",
        "churn/1",
        "churn/2",
    ]
    assert packages(instance, SortBy="Tags.stage") == ["fraud/2", "fraud/1", "churn/2", "churn/1", "fraud/3"]
    assert packages(instance, SortBy="CertifyForMarketplace")[0] == "churn/1"


@pytest.mark.parametrize(
    "sort_by", ["CreationTime", "ModelApprovalStatus", "ModelPackageVersion", "Tags.team", "ModelLifeCycle.Stage"]
)
@pytest.mark.parametrize("order", ["Ascending", "Descending"])
def test_pagination_walks_every_result_once(instance, sort_by, order):
    expected = packages(instance, SortBy=sort_by, SortOrder=order)
    for size in (1, 2, 3):
        seen, token, pages = [], None, 0
        while True:
            params = {"Resource": "ModelPackage", "SortBy": sort_by, "SortOrder": order, "MaxResults": size}
            if token:
                params["NextToken"] = token
            out = run(instance, **params)
            pages += 1
            assert out["TotalHits"]["Value"] == 5
            seen += [
                f"{r['ModelPackage']['ModelPackageGroupName']}/{r['ModelPackage']['ModelPackageVersion']}"
                for r in out["Results"]
            ]
            token = out.get("NextToken")
            if not token:
                break
        assert seen == expected
        assert pages == -(-5 // size)


def test_next_token_is_bound_to_its_query(instance):
    first = run(instance, Resource="ModelPackage", MaxResults=2, SortBy="ModelPackageVersion")
    token = first["NextToken"]
    message = invalid(instance, Resource="ModelPackage", MaxResults=2, SortBy="CreationTime", NextToken=token)
    assert "different" in message
    message = invalid(
        instance,
        Resource="ModelPackage",
        MaxResults=2,
        SortBy="ModelPackageVersion",
        NextToken=token,
        SearchExpression={"Filters": [f("ModelApprovalStatus", "Equals", "Approved")]},
    )
    assert "different" in message
    assert "not issued by this server" in invalid(instance, Resource="ModelPackage", NextToken=token[:-2] + "00")
    # A different page size is the same query.
    assert run(instance, Resource="ModelPackage", MaxResults=3, SortBy="ModelPackageVersion", NextToken=token)[
        "Results"
    ]


# --- model cards ------------------------------------------------------------------------------


def cards(instance, *filters, **params) -> list[str]:
    if filters:
        params["SearchExpression"] = {"Filters": list(filters)}
    out = run(instance, Resource="ModelCard", **params)
    return [r["ModelCard"]["ModelCardName"] for r in out["Results"]]


def test_model_cards_by_their_own_fields_and_content(instance):
    assert cards(instance) == ["empty-card", "churn-card", "fraud-card"]
    assert cards(instance, f("ModelCardStatus", "Equals", "Approved")) == ["fraud-card"]
    assert cards(instance, f("RiskRating", "In", "High,Medium")) == ["fraud-card"]
    assert cards(instance, f("ModelId", "Equals", "churn-v1")) == ["churn-card"]
    assert cards(instance, f("ModelPackageGroupName", "Equals", "fraud")) == ["fraud-card"]
    assert cards(instance, f("RiskRating", "NotExists")) == ["empty-card"]
    assert cards(instance, f("Content", "Contains", "payments")) == ["fraud-card"]
    assert cards(instance, f("Content.model_overview.model_owner", "Equals", "Growth")) == ["churn-card"]
    assert cards(instance, f("Content.model_overview.algorithm_type", "Exists")) == ["fraud-card"]
    assert cards(instance, f("Tags.team", "Equals", "churn")) == ["churn-card"]
    assert cards(instance, SortBy="RiskRating", SortOrder="Ascending") == ["fraud-card", "churn-card", "empty-card"]


def test_model_card_records_carry_fields_read_from_content(instance):
    out = run(
        instance, Resource="ModelCard", SearchExpression={"Filters": [f("ModelCardName", "Equals", "fraud-card")]}
    )
    card = out["Results"][0]["ModelCard"]
    assert card["ModelId"] == "fraud-v2"
    assert card["RiskRating"] == "High"
    assert card["ModelPackageGroupName"] == "fraud"
    assert json.loads(card["Content"])["intended_uses"]["risk_rating"] == "High"
    assert card["Tags"] == [{"Key": "team", "Value": "fraud"}]


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"CrossAccountFilterOption": "CrossAccount"}, "CrossAccount"),
        ({"SearchExpression": {"Filters": [f("ModelAproval", "Equals", "x")]}}, "Unknown property name: ModelAproval"),
        (
            {"SearchExpression": {"Filters": [f("modelapprovalstatus", "Equals", "x")]}},
            "Did you mean ModelApprovalStatus?",
        ),
        ({"SearchExpression": {"Filters": [f("ModelApprovalStatus.Foo", "Exists")]}}, "Unknown property name"),
        (
            {"SearchExpression": {"Filters": [f("ModelApprovalStatus", "GreaterThan", "A")]}},
            "not supported for text properties",
        ),
        (
            {"SearchExpression": {"Filters": [f("ModelPackageVersion", "Contains", "1")]}},
            "only supported for text properties",
        ),
        (
            {"SearchExpression": {"Filters": [f("ModelPackageVersion", "In", "1,2")]}},
            "only supported for text properties",
        ),
        ({"SearchExpression": {"Filters": [f("ModelPackageVersion", "Equals", "two")]}}, "not a number"),
        ({"SearchExpression": {"Filters": [f("CreationTime", "GreaterThan", "yesterday")]}}, "ISO 8601"),
        ({"SearchExpression": {"Filters": [f("CertifyForMarketplace", "Equals", "yes")]}}, "true or false"),
        ({"SearchExpression": {"Filters": [f("ModelApprovalStatus", "Equals")]}}, "needs a Value"),
        ({"SearchExpression": {"Filters": [f("ModelLifeCycle", "Equals", "x")]}}, "only Exists and NotExists"),
        ({"SearchExpression": {"Filters": [f("InferenceSpecification.Containers", "Equals", "x")]}}, "NestedFilters"),
        ({"SearchExpression": {"Filters": [f("ModelApprovalStatus", "In", " , ")]}}, "at least one"),
        ({"SearchExpression": {"Filters": [f("Tags.team", "GreaterThan", "a")]}}, "not supported for text properties"),
        ({"SearchExpression": {"Filters": [f("Tags", "Equals", "a")]}}, "Tags.<key>"),
        ({"SearchExpression": {"Filters": [f("Tags.team", "In", ",")]}}, "at least one"),
        ({"SearchExpression": {"Operator": "And"}}, "at least one Filter, NestedFilter or SubExpression"),
        ({"SearchExpression": {"SubExpressions": [{"Operator": "Or"}]}}, "at least one Filter"),
        (
            {
                "SearchExpression": {
                    "Filters": [
                        f("ModelPackageDescription", "Contains", "a"),
                        f("ModelApprovalStatus", "Contains", "b"),
                    ]
                }
            },
            "'CONTAINS' operator usage limit of 1 exceeded.",
        ),
        (
            {
                "SearchExpression": {
                    "SubExpressions": [
                        {"Filters": [f("ModelPackageVersion", "Equals", str(i)) for i in range(20)]} for _ in range(3)
                    ]
                }
            },
            "at most 50",
        ),
        (
            {
                "SearchExpression": {
                    "NestedFilters": [
                        {
                            "NestedPropertyName": "InferenceSpecification.Containers",
                            "Filters": [f("ModelApprovalStatus", "Equals", "x")],
                        }
                    ]
                }
            },
            "must name a property of InferenceSpecification.Containers",
        ),
        (
            {
                "SearchExpression": {
                    "NestedFilters": [
                        {"NestedPropertyName": "ModelLifeCycle", "Filters": [f("ModelLifeCycle.Stage", "Equals", "x")]}
                    ]
                }
            },
            "is not a list property",
        ),
        ({"SortBy": "InferenceSpecification.Containers.Image"}, "inside a list"),
        ({"SortBy": "InferenceSpecification"}, "not a single value"),
        ({"SortBy": "NoSuchThing"}, "Unknown property name: NoSuchThing"),
        ({"VisibilityConditions": [{"Key": "team", "Value": "x"}]}, "Tags.<key>"),
    ],
)
def test_invalid_requests(instance, params, expected):
    params = {"Resource": "ModelPackage", **params}
    assert expected in invalid(instance, **params)
