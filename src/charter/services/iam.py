"""AWS IAM over Charter's own identities: users, roles, their policies, access keys, console passwords.

The users and roles are the principals of :mod:`charter.iam.identities` (the
same ones ``charter iam create-user`` makes and Role Manager's personas
govern), so what the IAM API shows is what authorization uses:

* a persona is a managed policy, ``arn:aws:iam::<account>:policy/
  charter-persona-<kind>-<name>``, listed by ListAttachedUserPolicies /
  ListAttachedRolePolicies and readable with GetPolicy / GetPolicyVersion;
* an inline policy (PutRolePolicy) is stored and attached like a managed one
  under an ARN of its own, and listed only by ListRolePolicies;
* policy documents are answered URL-encoded, as IAM does (botocore decodes
  them back into dicts);
* lists are ordered by name and paged with ``Marker`` / ``MaxItems`` (100 by
  default), ``IsTruncated`` saying whether more follow.

IAM is global: every ARN here has no region.  Errors are IAM's own codes
(``NoSuchEntity`` 404, ``EntityAlreadyExists`` / ``DeleteConflict`` 409,
``MalformedPolicyDocument`` / ``PasswordPolicyViolation`` 400).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from urllib.parse import quote

from sqlalchemy import delete, func, insert, select

from .. import arns
from ..errors import ClientError, ValidationException
from ..iam import details, identities, passwords, policy, sessions
from ..store.schema import policies, policy_attachments
from ..store.sessions_schema import login_profiles
from . import Call, operation

_DEFAULT_MAX_ITEMS = 100


class NoSuchEntity(ClientError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(ClientError):
    code = "EntityAlreadyExists"
    status = 409


class DeleteConflict(ClientError):
    code = "DeleteConflict"
    status = 409


class MalformedPolicyDocument(ClientError):
    code = "MalformedPolicyDocument"


class PasswordPolicyViolation(ClientError):
    code = "PasswordPolicyViolation"


def _arn_of(kind: str, member: str):
    def resource(region: str, account: str, params: dict) -> str:
        name = params.get(member)
        return arns.iam_arn(account, kind, name) if name else "*"

    return resource


def _caller_user(region: str, account: str, params: dict) -> str:
    return arns.iam_arn(account, "user", params["UserName"]) if params.get("UserName") else "*"


# --- shared pieces ---------------------------------------------------------------------


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def _created_at(call: Call, arn: str) -> float:
    from ..store.schema import principals

    return call.conn.execute(select(principals.c.created_at).where(principals.c.arn == arn)).scalar_one()


def _require(call: Call, kind: str, name: str) -> identities.Principal:
    found = identities.find_principal(call.conn, call.account, kind, name, any_path=True)
    if found is None:
        raise NoSuchEntity(f"The {kind} with name {name} cannot be found.")
    return found


def _page(call: Call, items: list, key, params: dict) -> tuple[list, dict]:
    """``items`` (sorted by ``key``) from the request's Marker, at most MaxItems; the paging members."""
    marker = params.get("Marker")
    if marker:
        try:
            after = call.codec.decode(marker)["after"]
        except (ValidationException, KeyError, TypeError):
            raise ValidationException("Invalid Marker: it was not issued by this server for this listing.") from None
        items = [item for item in items if key(item) > after]
    limit = params.get("MaxItems", _DEFAULT_MAX_ITEMS)
    page = items[:limit]
    if len(items) > limit:
        return page, {"IsTruncated": True, "Marker": call.codec.encode({"after": key(page[-1])})}
    return page, {"IsTruncated": False}


def _encoded(document: str | dict) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    return quote(text, safe="")


def _policy_document(text: str, *, trust: bool) -> str:
    """``text`` if it is a valid policy (a trust policy names principals); MalformedPolicyDocument if not."""
    try:
        policy.validate_policy(text, resource_policy=True if trust else None)
    except ValidationException as exc:
        raise MalformedPolicyDocument(exc.message) from None
    if not trust:
        parsed = json.loads(text)
        if any("Principal" in s or "NotPrincipal" in s for s in _statements(parsed)):
            raise MalformedPolicyDocument("Policy document should not specify a principal.")
    return text


def _statements(document: dict) -> list[dict]:
    statements = document.get("Statement", [])
    return [s for s in (statements if isinstance(statements, list) else [statements]) if isinstance(s, dict)]


def _tags(params: dict) -> list[dict]:
    tags = params.get("Tags") or []
    keys = [tag["Key"] for tag in tags]
    if len(set(keys)) != len(keys):
        raise ClientError("Duplicate tag keys found. Please note that Tag keys are case insensitive.", code="InvalidInput")
    return [{"Key": tag["Key"], "Value": tag.get("Value", "")} for tag in tags]


def _check_refused(params: dict, *members: str) -> None:
    named = [member for member in members if params.get(member)]
    if named:
        raise ValidationException(
            f"Charter does not support {', '.join(named)}: Charter's policy evaluation has no permissions boundaries "
            "or sign-in session limits; call again without it."
        )


# --- roles ---------------------------------------------------------------------------


def _role_document(call: Call, role: identities.Principal, facts: details.Details | None = None) -> dict:
    facts = facts or details.get(call.conn, role.arn)
    document = {
        "Path": facts.path,
        "RoleName": role.name,
        "RoleId": role.unique_id,
        "Arn": role.arn,
        "CreateDate": _when(_created_at(call, role.arn)),
        "MaxSessionDuration": facts.max_session_duration,
    }
    if facts.trust_policy:
        document["AssumeRolePolicyDocument"] = _encoded(facts.trust_policy)
    if facts.description is not None:
        document["Description"] = facts.description
    if facts.tags:
        document["Tags"] = facts.tags
    return document


@operation("CreateRole", service="iam", resource=_arn_of("role", "RoleName"))
def create_role(call: Call, params: dict) -> dict:
    _check_refused(params, "PermissionsBoundary", "MaxSigninSessionDuration")
    name = params["RoleName"]
    if identities.find_principal(call.conn, call.account, "role", name, any_path=True) is not None:
        raise EntityAlreadyExists(f"Role with name {name} already exists.")
    trust = _policy_document(params["AssumeRolePolicyDocument"], trust=True)
    facts = details.Details(
        path=params.get("Path", "/"),
        description=params.get("Description"),
        trust_policy=trust,
        max_session_duration=params.get("MaxSessionDuration", details.DEFAULT_MAX_SESSION_DURATION),
        tags=_tags(params),
    )
    role = identities.create_principal(call.conn, account=call.account, kind="role", name=name, path=facts.path)
    details.put(call.conn, role.arn, facts)
    return {"Role": _role_document(call, role, facts)}


@operation("GetRole", service="iam", resource=_arn_of("role", "RoleName"), writes=False)
def get_role(call: Call, params: dict) -> dict:
    return {"Role": _role_document(call, _require(call, "role", params["RoleName"]))}


@operation("ListRoles", service="iam", writes=False)
def list_roles(call: Call, params: dict) -> dict:
    roles = identities.list_principals(call.conn, call.account, "role")
    facts = details.all_of(call.conn, [role.arn for role in roles])
    prefix = params.get("PathPrefix", "/")
    chosen = sorted((r for r in roles if facts[r.arn].path.startswith(prefix)), key=lambda r: r.name)
    page, paging = _page(call, chosen, lambda r: r.name, params)
    return {"Roles": [_role_document(call, role, facts[role.arn]) for role in page], **paging}


@operation("DeleteRole", service="iam", resource=_arn_of("role", "RoleName"))
def delete_role(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    attached = call.conn.execute(
        select(func.count()).select_from(policy_attachments).where(policy_attachments.c.principal_arn == role.arn)
    ).scalar_one()
    if attached:
        raise DeleteConflict("Cannot delete entity, must detach all policies first.")
    identities.delete_principal(call.conn, role)  # its sessions and details go with it
    return {}


def _managed_policy(call: Call, policy_arn: str) -> str:
    """The stored managed policy ``policy_arn`` (its ARN), or NoSuchEntity."""
    if sessions.is_inline_policy_arn(policy_arn):
        raise NoSuchEntity(f"Policy {policy_arn} does not exist or is not attachable.")
    found = call.conn.execute(select(policies.c.arn).where(policies.c.arn == policy_arn)).first()
    if found is None:
        raise NoSuchEntity(f"Policy {policy_arn} does not exist or is not attachable.")
    return found.arn


@operation("AttachRolePolicy", service="iam", resource=_arn_of("role", "RoleName"))
def attach_role_policy(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    identities.attach_policy(call.conn, role, _managed_policy(call, params["PolicyArn"]))
    return {}


@operation("DetachRolePolicy", service="iam", resource=_arn_of("role", "RoleName"))
def detach_role_policy(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    if sessions.is_inline_policy_arn(params["PolicyArn"]):
        raise NoSuchEntity(f"Policy {params['PolicyArn']} was not found.")
    removed = call.conn.execute(
        delete(policy_attachments).where(
            policy_attachments.c.principal_arn == role.arn, policy_attachments.c.policy_arn == params["PolicyArn"]
        )
    ).rowcount
    if not removed:
        raise NoSuchEntity(f"Policy {params['PolicyArn']} was not found.")
    return {}


def _attached(call: Call, principal: identities.Principal, params: dict) -> dict:
    prefix = params.get("PathPrefix", "/")
    found = []
    for policy_arn, _ in identities.attached_policies(call.conn, principal.arn):
        if sessions.is_inline_policy_arn(policy_arn):
            continue
        path_and_name = policy_arn.split(":policy", 1)[1]  # "/[path/]name"
        path, _, name = path_and_name.rpartition("/")
        if (path + "/").startswith(prefix):
            found.append({"PolicyName": name, "PolicyArn": policy_arn})
    found.sort(key=lambda p: p["PolicyName"])
    page, paging = _page(call, found, lambda p: p["PolicyName"], params)
    return {"AttachedPolicies": page, **paging}


@operation("ListAttachedRolePolicies", service="iam", resource=_arn_of("role", "RoleName"), writes=False)
def list_attached_role_policies(call: Call, params: dict) -> dict:
    return _attached(call, _require(call, "role", params["RoleName"]), params)


@operation("ListAttachedUserPolicies", service="iam", resource=_arn_of("user", "UserName"), writes=False)
def list_attached_user_policies(call: Call, params: dict) -> dict:
    return _attached(call, _require(call, "user", params["UserName"]), params)


@operation("PutRolePolicy", service="iam", resource=_arn_of("role", "RoleName"))
def put_role_policy(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    document = _policy_document(params["PolicyDocument"], trust=False)
    policy_arn = sessions.inline_policy_arn(role, params["PolicyName"])
    identities.put_policy(call.conn, arn=policy_arn, name=params["PolicyName"], document=json.loads(document))
    identities.attach_policy(call.conn, role, policy_arn)
    return {}


def _inline(call: Call, role: identities.Principal) -> dict[str, str]:
    """The role's inline policies: name -> document text."""
    prefix = sessions.inline_policy_arn(role, "")
    rows = call.conn.execute(
        select(policies.c.name, policies.c.document)
        .join(policy_attachments, policy_attachments.c.policy_arn == policies.c.arn)
        .where(policy_attachments.c.principal_arn == role.arn, policies.c.arn.startswith(prefix, autoescape=True))
    )
    return {name: document for name, document in rows}


@operation("ListRolePolicies", service="iam", resource=_arn_of("role", "RoleName"), writes=False)
def list_role_policies(call: Call, params: dict) -> dict:
    names = sorted(_inline(call, _require(call, "role", params["RoleName"])))
    page, paging = _page(call, names, lambda n: n, params)
    return {"PolicyNames": page, **paging}


@operation("GetRolePolicy", service="iam", resource=_arn_of("role", "RoleName"), writes=False)
def get_role_policy(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    document = _inline(call, role).get(params["PolicyName"])
    if document is None:
        raise NoSuchEntity(f"The role policy with name {params['PolicyName']} cannot be found.")
    return {"RoleName": role.name, "PolicyName": params["PolicyName"], "PolicyDocument": _encoded(document)}


@operation("DeleteRolePolicy", service="iam", resource=_arn_of("role", "RoleName"))
def delete_role_policy(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    if params["PolicyName"] not in _inline(call, role):
        raise NoSuchEntity(f"The role policy with name {params['PolicyName']} cannot be found.")
    call.conn.execute(delete(policies).where(policies.c.arn == sessions.inline_policy_arn(role, params["PolicyName"])))
    return {}


# --- managed policies ------------------------------------------------------------------


def _policy_id(policy_arn: str) -> str:
    """A stable IAM-shaped policy id (``ANPA`` and 17 characters) derived from the ARN."""
    digest = hashlib.sha256(policy_arn.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "ANPA" + "".join(alphabet[b % len(alphabet)] for b in digest[:17])


def _stored_policy(call: Call, policy_arn: str):
    row = None
    if not sessions.is_inline_policy_arn(policy_arn):
        row = call.conn.execute(select(policies).where(policies.c.arn == policy_arn)).first()
    if row is None:
        raise NoSuchEntity(f"Policy {policy_arn} was not found.")
    return row


@operation("CreatePolicy", service="iam", resource=lambda region, account, params: arns.iam_arn(
    account, "policy", params.get("Path", "/").lstrip("/") + params.get("PolicyName", "")))
def create_policy(call: Call, params: dict) -> dict:
    path = params.get("Path", "/")
    policy_arn = arns.iam_arn(call.account, "policy", path.lstrip("/") + params["PolicyName"])
    if call.conn.execute(select(policies.c.arn).where(policies.c.arn == policy_arn)).first() is not None:
        raise EntityAlreadyExists(f"A policy called {params['PolicyName']} already exists. Duplicate names are not allowed.")
    document = _policy_document(params["PolicyDocument"], trust=False)
    identities.put_policy(call.conn, arn=policy_arn, name=params["PolicyName"], document=json.loads(document))
    return {"Policy": _policy_summary(call, _stored_policy(call, policy_arn))}


def _policy_summary(call: Call, row) -> dict:
    count = call.conn.execute(
        select(func.count()).select_from(policy_attachments).where(policy_attachments.c.policy_arn == row.arn)
    ).scalar_one()
    path = row.arn.split(":policy", 1)[1].rpartition("/")[0] + "/"
    return {
        "PolicyName": row.name,
        "PolicyId": _policy_id(row.arn),
        "Arn": row.arn,
        "Path": path,
        "DefaultVersionId": "v1",
        "AttachmentCount": count,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": _when(row.created_at),
        "UpdateDate": _when(row.created_at),
    }


@operation("GetPolicy", service="iam", resource=lambda region, account, params: params["PolicyArn"], writes=False)
def get_policy(call: Call, params: dict) -> dict:
    return {"Policy": _policy_summary(call, _stored_policy(call, params["PolicyArn"]))}


@operation("GetPolicyVersion", service="iam", resource=lambda region, account, params: params["PolicyArn"], writes=False)
def get_policy_version(call: Call, params: dict) -> dict:
    row = _stored_policy(call, params["PolicyArn"])
    if params["VersionId"] != "v1":
        raise NoSuchEntity(f"Policy {params['PolicyArn']} version {params['VersionId']} does not exist or is not attachable.")
    return {
        "PolicyVersion": {
            "Document": _encoded(row.document),
            "VersionId": "v1",
            "IsDefaultVersion": True,
            "CreateDate": _when(row.created_at),
        }
    }


# --- users ---------------------------------------------------------------------------


def _user_document(call: Call, user: identities.Principal, facts: details.Details | None = None) -> dict:
    facts = facts or details.get(call.conn, user.arn)
    document = {
        "Path": facts.path,
        "UserName": user.name,
        "UserId": user.unique_id,
        "Arn": user.arn,
        "CreateDate": _when(_created_at(call, user.arn)),
    }
    if facts.tags:
        document["Tags"] = facts.tags
    return document


@operation("GetUser", service="iam", resource=_caller_user, writes=False)
def get_user(call: Call, params: dict) -> dict:
    name = params.get("UserName")
    if name is None:
        caller = identities.get_principal(call.conn, call.principal_arn)
        if caller is None or caller.kind != "user":
            raise ValidationException("Must specify userName when calling with non-User credentials")
        return {"User": _user_document(call, caller)}
    return {"User": _user_document(call, _require(call, "user", name))}


@operation("CreateUser", service="iam", resource=_arn_of("user", "UserName"))
def create_user(call: Call, params: dict) -> dict:
    _check_refused(params, "PermissionsBoundary")
    name = params["UserName"]
    if identities.find_principal(call.conn, call.account, "user", name, any_path=True) is not None:
        raise EntityAlreadyExists(f"User with name {name} already exists.")
    facts = details.Details(path=params.get("Path", "/"), tags=_tags(params))
    user = identities.create_principal(call.conn, account=call.account, kind="user", name=name, path=facts.path)
    details.put(call.conn, user.arn, facts)
    return {"User": _user_document(call, user, facts)}


@operation("ListUsers", service="iam", writes=False)
def list_users(call: Call, params: dict) -> dict:
    users = identities.list_principals(call.conn, call.account, "user")
    facts = details.all_of(call.conn, [user.arn for user in users])
    prefix = params.get("PathPrefix", "/")
    chosen = sorted((u for u in users if facts[u.arn].path.startswith(prefix)), key=lambda u: u.name)
    page, paging = _page(call, chosen, lambda u: u.name, params)
    return {"Users": [_user_document(call, user, facts[user.arn]) for user in page], **paging}


def _user_or_caller(call: Call, params: dict) -> identities.Principal:
    if params.get("UserName"):
        return _require(call, "user", params["UserName"])
    caller = identities.get_principal(call.conn, call.principal_arn)
    if caller is None or caller.kind != "user":
        raise ValidationException("Must specify userName when calling with non-User credentials")
    return caller


@operation("CreateAccessKey", service="iam", resource=_caller_user)
def create_access_key(call: Call, params: dict) -> dict:
    user = _user_or_caller(call, params)
    key = identities.create_access_key(call.conn, call.instance.keyring, user)
    return {
        "AccessKey": {
            "UserName": user.name,
            "AccessKeyId": key.access_key_id,
            "Status": "Active",
            "SecretAccessKey": key.secret_access_key,
            "CreateDate": _when(time.time()),
        }
    }


def check_password_policy(password: str, user_name: str) -> None:
    """IAM's default password policy: 8 characters or more, three of the four kinds, not the user's name."""
    kinds = sum(
        any(test(ch) for ch in password)
        for test in (str.isupper, str.islower, str.isdigit, lambda ch: not ch.isalnum())
    )
    if len(password) < 8 or kinds < 3 or password.lower() == user_name.lower():
        raise PasswordPolicyViolation(
            "Password does not conform to the account password policy: use at least 8 characters, with at least "
            "three of upper-case letters, lower-case letters, digits and symbols, and not the user name."
        )


@operation("CreateLoginProfile", service="iam", resource=_caller_user)
def create_login_profile(call: Call, params: dict) -> dict:
    _check_refused(params, "MaxSigninSessionDuration")
    user = _user_or_caller(call, params)
    if call.conn.execute(select(login_profiles.c.principal_arn).where(login_profiles.c.principal_arn == user.arn)).first():
        raise EntityAlreadyExists(f"Login Profile for user {user.name} already exists.")
    if params.get("Password") is None:
        raise ValidationException("Charter needs a Password for CreateLoginProfile: it has no other way to sign users in.")
    check_password_policy(params["Password"], user.name)
    now = time.time()
    reset = bool(params.get("PasswordResetRequired", False))
    call.conn.execute(
        insert(login_profiles).values(
            principal_arn=user.arn,
            password_hash=passwords.hash_password(params["Password"]),
            password_reset_required=reset,
            created_at=now,
            password_changed_at=now,
        )
    )
    return {"LoginProfile": {"UserName": user.name, "CreateDate": _when(now), "PasswordResetRequired": reset}}


@operation("AttachUserPolicy", service="iam", resource=_arn_of("user", "UserName"))
def attach_user_policy(call: Call, params: dict) -> dict:
    user = _require(call, "user", params["UserName"])
    identities.attach_policy(call.conn, user, _managed_policy(call, params["PolicyArn"]))
    return {}


@operation("UpdateAssumeRolePolicy", service="iam", resource=_arn_of("role", "RoleName"))
def update_assume_role_policy(call: Call, params: dict) -> dict:
    role = _require(call, "role", params["RoleName"])
    facts = details.get(call.conn, role.arn)
    facts.trust_policy = _policy_document(params["PolicyDocument"], trust=True)
    details.replace(call.conn, role.arn, facts)
    return {}
