"""Typed columns the store reads from a resource's own document (migration 0010).

Most typed columns of ``resources`` are given by the service that writes the
row (name, parent, version, status).  These few are facts that sit inside the
document but are looked up, filtered or sorted across many rows (the Model
Dashboard joins every model package group to its newest version and its model
card), so reading them from each JSON document at query time would cost a
parse per row.  :func:`columns` computes them from the document on every
:func:`~charter.store.resources.create` and :func:`~charter.store.resources.save`,
so they never disagree with the document, whichever service wrote it:

* ``approval``: a model package's ``ModelApprovalStatus``.
* ``risk``: a model card's risk rating (``intended_uses.risk_rating`` of its
  content).
* ``subject`` and ``subject_version``: what a model card documents, as an ARN.
  A card whose content has ``model_package_details`` (a
  ``model_package_group_name``, or a ``model_package_arn``
  ``.../model-package/<group>/<version>``, which the model card service fills
  from the registry) documents that model package group, and
  ``subject_version`` is the version it names.  Otherwise a card whose
  ``model_overview.model_id`` is set documents that SageMaker model: the
  schema calls model_id "A SageMaker model ARN or an identifier of a model
  outside SageMaker", so an ARN is taken as it is and any other value as a
  model's name in the card's own account and region (it then matches no
  model if it names one outside SageMaker).

Other resource types get nothing here: their columns stay NULL.
"""

from __future__ import annotations

import json
from typing import Any

from .. import arns
from ..errors import ValidationException

PACKAGE = "model-package"
CARD = "model-card"
GROUP = "model-package-group"
MODEL = "model"

#: The columns this module fills, all NULL for types it does not know.
COLUMNS = ("approval", "risk", "subject", "subject_version")


def columns(resource_type: str, arn: str, document: dict) -> dict[str, Any]:
    """The derived columns of a row of ``resource_type`` (empty for types that have none)."""
    if resource_type == PACKAGE:
        approval = document.get("ModelApprovalStatus")
        return {"approval": approval if isinstance(approval, str) else None}
    if resource_type == CARD:
        return card_columns(arn, document)
    return {}


def _section(content: dict, name: str) -> dict:
    value = content.get(name)
    return value if isinstance(value, dict) else {}


def card_columns(arn: str, document: dict) -> dict[str, Any]:
    """``risk``, ``subject`` and ``subject_version`` of a model card's DescribeModelCard document."""
    try:
        content = json.loads(document.get("Content") or "{}")
    except (TypeError, ValueError):
        content = {}
    if not isinstance(content, dict):
        content = {}
    risk = _section(content, "intended_uses").get("risk_rating")
    out: dict[str, Any] = {"risk": risk if isinstance(risk, str) else None, "subject": None, "subject_version": None}
    try:
        scope = arns.parse(arn)
    except ValidationException:
        return out
    details = _section(content, "model_package_details")
    group, version = details.get("model_package_group_name"), details.get("model_package_version")
    package = details.get("model_package_arn")
    if isinstance(package, str) and package.startswith("arn:"):
        try:
            parsed = arns.parse(package)
        except ValidationException:
            parsed = None
        if parsed is not None and parsed.resource_type == PACKAGE and "/" in parsed.resource_id:
            group_of, _, number = parsed.resource_id.rpartition("/")
            group = group if isinstance(group, str) and group else group_of
            version = version if isinstance(version, int) else (int(number) if number.isdigit() else None)
    if isinstance(group, str) and group:
        if group.startswith("arn:"):
            try:
                group = arns.name_or_arn(group, GROUP)
            except ValidationException:
                return out
        out["subject"] = arns.sagemaker_arn(scope.region, scope.account, GROUP, group)
        out["subject_version"] = version if isinstance(version, int) and not isinstance(version, bool) else 0
        return out
    model = _section(content, "model_overview").get("model_id")
    if isinstance(model, str) and model:
        if model.startswith("arn:"):
            try:
                parsed = arns.parse(model)
            except ValidationException:
                return out
            if parsed.service == "sagemaker" and parsed.resource_type == MODEL:
                out["subject"] = arns.sagemaker_arn(parsed.region, parsed.account, MODEL, parsed.resource_id)
        else:
            out["subject"] = arns.sagemaker_arn(scope.region, scope.account, MODEL, model)
    return out
