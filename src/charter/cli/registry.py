"""``charter registry``: model package groups, versions and approvals, through the API.

Unlike ``charter iam``, these commands do not open the database: they call the
running server with boto3, signed with the caller's own AWS credentials, so an
approval from the command line is authorized by the caller's policies and
audited like any other API call.

Where the server is: ``--endpoint-url``, else ``AWS_ENDPOINT_URL_SAGEMAKER`` /
``AWS_ENDPOINT_URL`` (boto3 reads them itself), else
``http://$CHARTER_HOST:$CHARTER_PORT`` (default ``http://127.0.0.1:8642``).
Who is calling: ``--profile``, else the AWS environment (``AWS_ACCESS_KEY_ID``
... or ``AWS_PROFILE``), else profile ``charter`` of ``AWS_SHARED_CREDENTIALS_FILE``,
which defaults to ``$CHARTER_HOME/credentials`` when that file exists (the
admin keys the server wrote on first start).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .client import EndpointOption, ProfileOption, RegionOption
from .client import connect as client
from .client import request as _call

app = typer.Typer(help="The model registry: groups, versions and approvals (calls the API as you).", no_args_is_help=True)

out = Console(width=None if sys.stdout.isatty() else 240)

_STATUS_STYLE = {"Approved": "green", "Rejected": "red", "PendingManualApproval": "yellow"}

JsonOption = typer.Option(False, "--json", help="Print the API's answer as JSON instead of a table.")


def _when(value) -> str:
    if not isinstance(value, dt.datetime):
        return "-"
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _print_json(document) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")


def _paginate(sm, operation: str, key: str, **kwargs) -> list[dict]:
    items: list[dict] = []
    for page in _call(lambda **kw: list(sm.get_paginator(operation).paginate(**kw)), **kwargs):
        items.extend(page.get(key, []))
    return items


# --- commands ----------------------------------------------------------------


@app.command("groups")
def groups(
    name_contains: Optional[str] = typer.Option(None, "--name-contains", help="Only groups whose name contains this."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
    as_json: bool = JsonOption,
) -> None:
    """Model package groups, oldest first."""
    sm = client(endpoint_url, profile, region)
    kwargs = {"SortBy": "CreationTime", "SortOrder": "Ascending"}
    if name_contains:
        kwargs["NameContains"] = name_contains
    found = _paginate(sm, "list_model_package_groups", "ModelPackageGroupSummaryList", **kwargs)
    if as_json:
        _print_json(found)
        return
    table = Table(title="Model package groups")
    for column in ("Name", "Status", "Created (UTC)", "Description", "ARN"):
        table.add_column(column)
    for group in found:
        table.add_row(
            group["ModelPackageGroupName"],
            group.get("ModelPackageGroupStatus", "-"),
            _when(group.get("CreationTime")),
            group.get("ModelPackageGroupDescription", ""),
            group["ModelPackageGroupArn"],
        )
    out.print(table)


@app.command("packages")
def packages(
    group: str = typer.Argument(..., help="The model package group (name or ARN)."),
    status: Optional[str] = typer.Option(
        None, "--status", help="Only versions with this approval status: Approved, Rejected or PendingManualApproval."
    ),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
    as_json: bool = JsonOption,
) -> None:
    """The versions of a group, with their approval status, newest last."""
    sm = client(endpoint_url, profile, region)
    _call(sm.describe_model_package_group, ModelPackageGroupName=group)  # a clear error for a missing group
    kwargs = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Ascending"}
    if status:
        kwargs["ModelApprovalStatus"] = status
    found = _paginate(sm, "list_model_packages", "ModelPackageSummaryList", **kwargs)
    if as_json:
        _print_json(found)
        return
    table = Table(title=f"Versions of {group}" + (f" ({status})" if status else ""))
    for column in ("Version", "Approval", "Status", "Stage", "Created (UTC)", "Description", "ARN"):
        table.add_column(column)
    for package in found:
        approval = package.get("ModelApprovalStatus", "-")
        stage = package.get("ModelLifeCycle") or {}
        table.add_row(
            str(package.get("ModelPackageVersion", "-")),
            f"[{_STATUS_STYLE.get(approval, '')}]{approval}[/]" if approval in _STATUS_STYLE else approval,
            package.get("ModelPackageStatus", "-"),
            f"{stage['Stage']}/{stage['StageStatus']}" if stage else "-",
            _when(package.get("CreationTime")),
            package.get("ModelPackageDescription", ""),
            package["ModelPackageArn"],
        )
    out.print(table)


def _set_approval(
    group: str, version: int, status: str, description: Optional[str], endpoint_url, profile, region, as_json: bool
) -> None:
    sm = client(endpoint_url, profile, region)
    group_arn = _call(sm.describe_model_package_group, ModelPackageGroupName=group)["ModelPackageGroupArn"]
    arn = group_arn.replace(":model-package-group/", ":model-package/", 1) + f"/{version}"
    kwargs = {"ModelPackageArn": arn, "ModelApprovalStatus": status}
    if description is not None:
        kwargs["ApprovalDescription"] = description
    _call(sm.update_model_package, **kwargs)
    described = _call(sm.describe_model_package, ModelPackageName=arn)
    if as_json:
        described.pop("ResponseMetadata", None)
        _print_json(described)
        return
    changed_by = described.get("LastModifiedBy") or {}
    by = changed_by.get("UserProfileName") or (changed_by.get("IamIdentity") or {}).get("Arn", "-").rsplit("/", 1)[-1]
    table = Table(title=f"{described['ModelPackageGroupName']} version {described['ModelPackageVersion']}")
    table.add_column("Field")
    table.add_column("Value")
    approval = described.get("ModelApprovalStatus", "-")
    table.add_row("Approval", f"[{_STATUS_STYLE.get(approval, '')}]{approval}[/]")
    table.add_row("Description", described.get("ApprovalDescription", ""))
    table.add_row("Changed by", by)
    table.add_row("Changed at (UTC)", _when(described.get("LastModifiedTime")))
    table.add_row("ARN", described["ModelPackageArn"])
    out.print(table)


@app.command("approve")
def approve(
    group: str = typer.Argument(..., help="The model package group (name or ARN)."),
    version: int = typer.Argument(..., min=1, help="The version to approve."),
    description: Optional[str] = typer.Option(None, "--description", help="Why (kept as ApprovalDescription)."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
    as_json: bool = JsonOption,
) -> None:
    """Approve a version for deployment (UpdateModelPackage ModelApprovalStatus=Approved)."""
    _set_approval(group, version, "Approved", description, endpoint_url, profile, region, as_json)


@app.command("reject")
def reject(
    group: str = typer.Argument(..., help="The model package group (name or ARN)."),
    version: int = typer.Argument(..., min=1, help="The version to reject."),
    description: Optional[str] = typer.Option(None, "--description", help="Why (kept as ApprovalDescription)."),
    endpoint_url: Optional[str] = EndpointOption,
    profile: Optional[str] = ProfileOption,
    region: Optional[str] = RegionOption,
    as_json: bool = JsonOption,
) -> None:
    """Reject a version (UpdateModelPackage ModelApprovalStatus=Rejected)."""
    _set_approval(group, version, "Rejected", description, endpoint_url, profile, region, as_json)
