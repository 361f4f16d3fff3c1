"""AddTags, ListTags, DeleteTags for every stored resource."""

from __future__ import annotations

from ..errors import ValidationException
from ..store import resources as store
from . import Call, operation

MAX_TAGS = 50


def _resource_arn(region: str, account: str, params: dict) -> str:
    return params["ResourceArn"]


def _get(call: Call, arn: str) -> store.Resource:
    resource = store.get(call.conn, arn)
    if resource is None:
        # An ARN of a lower-cased type may arrive in the case the user typed.
        resource = store.get(call.conn, arn.lower())
    if resource is None:
        raise ValidationException(f"Resource {arn} does not exist, or is not a resource you can tag.")
    return resource


@operation("AddTags", resource=_resource_arn)
def add_tags(call: Call, params: dict) -> dict:
    resource = _get(call, params["ResourceArn"])
    new_tags = params["Tags"]
    for tag in new_tags:
        if tag["Key"].lower().startswith("aws:"):
            raise ValidationException(f"Tag key '{tag['Key']}' is not allowed: the aws: prefix is reserved for AWS use.")
    store.put_tags(call.conn, resource.id, new_tags)
    total = store.count_tags(call.conn, resource.id)
    if total > MAX_TAGS:
        # Raising rolls the whole call back: no tag of this request is kept.
        raise ValidationException(f"A resource can have at most {MAX_TAGS} tags; this request would give it {total}.")
    return {"Tags": new_tags}


@operation("ListTags", resource=_resource_arn, writes=False)
def list_tags(call: Call, params: dict) -> dict:
    resource = _get(call, params["ResourceArn"])
    all_tags = store.get_tags(call.conn, resource.id)
    start = 0
    if params.get("NextToken"):
        position = call.codec.decode(params["NextToken"])
        if position.get("arn") != resource.arn:
            raise ValidationException("The NextToken was issued for another resource.")
        start = position["offset"]
    limit = params.get("MaxResults") or MAX_TAGS
    out: dict = {"Tags": all_tags[start : start + limit]}
    if start + limit < len(all_tags):
        out["NextToken"] = call.codec.encode({"arn": resource.arn, "offset": start + limit})
    return out


@operation("DeleteTags", resource=_resource_arn)
def delete_tags(call: Call, params: dict) -> dict:
    resource = _get(call, params["ResourceArn"])
    store.delete_tags(call.conn, resource.id, params["TagKeys"])
    return {}
