"""Model package groups: Create, Describe, List, Delete (SageMaker Model Registry).

Model packages themselves, group policies and Search arrive with the registry
issue; this module is the foundation's vertical slice.
"""

from __future__ import annotations

import time

from .. import arns
from ..errors import ConflictException, ValidationException
from ..store import resources as store
from . import Call, operation
from .listing import list_operation

TYPE = "model-package-group"


def group_arn(region: str, account: str, params: dict) -> str:
    name = arns.name_or_arn(params["ModelPackageGroupName"], TYPE)
    return arns.sagemaker_arn(region, account, TYPE, name)


def get_group(call: Call, name_or_arn: str, *, for_update: bool = False) -> store.Resource:
    arn = call.arn(TYPE, arns.name_or_arn(name_or_arn, TYPE))
    group = store.get(call.conn, arn, for_update=for_update)
    if group is None:
        # DescribeModelPackageGroup models no errors: AWS answers ValidationException.
        raise ValidationException(f"ModelPackageGroup {arn} does not exist.")
    return group


@operation("CreateModelPackageGroup", resource=group_arn)
def create_model_package_group(call: Call, params: dict) -> dict:
    name = params["ModelPackageGroupName"]
    arn = call.arn(TYPE, name)
    now = time.time()
    document = {
        "ModelPackageGroupName": name,
        "ModelPackageGroupArn": arn,
        "ModelPackageGroupDescription": params.get("ModelPackageGroupDescription"),
        "CreationTime": now,
        "CreatedBy": call.user_context(TYPE),
        "ModelPackageGroupStatus": "Completed",
        "ManagedConfiguration": params.get("ManagedConfiguration"),
    }
    document = {k: v for k, v in document.items() if v is not None}
    try:
        call.create_resource(
            arn=arn,
            resource_type=TYPE,
            name=name,
            status="Completed",
            created_at=now,
            document=document,
            tags_=params.get("Tags", ()),
        )
    except store.AlreadyExists:
        raise ValidationException(f"Model Package Group already exists: {arn}") from None
    return {"ModelPackageGroupArn": arn}


@operation("DescribeModelPackageGroup", resource=group_arn, writes=False)
def describe_model_package_group(call: Call, params: dict) -> dict:
    return get_group(call, params["ModelPackageGroupName"]).document


def _summary(group: store.Resource) -> dict:
    doc = group.document
    return {
        key: doc.get(key)
        for key in (
            "ModelPackageGroupName",
            "ModelPackageGroupArn",
            "ModelPackageGroupDescription",
            "CreationTime",
            "ModelPackageGroupStatus",
        )
    }


list_operation(
    "ListModelPackageGroups",
    resource_type=TYPE,
    result_key="ModelPackageGroupSummaryList",
    summary=_summary,
    default_sort="CreationTime",
    default_order="Ascending",
)


@operation("DeleteModelPackageGroup", resource=group_arn)
def delete_model_package_group(call: Call, params: dict) -> dict:
    group = get_group(call, params["ModelPackageGroupName"], for_update=True)
    versions = store.count_children(call.conn, group.arn)
    if versions:
        raise ConflictException(
            f"Model Package Group {group.arn} still holds {versions} model package(s); "
            "delete them before deleting the group."
        )
    store.remove(call.conn, group)
    return {}
