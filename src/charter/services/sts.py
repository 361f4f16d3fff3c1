"""AWS STS: who the caller is, and temporary credentials of a role (AssumeRole).

``GetCallerIdentity`` needs no permission (AWS answers it whatever the
policies say).  ``AssumeRole`` needs two yeses, as the IAM User
Guide's "Granting a user permissions to switch roles" describes: the caller's
own policies must allow ``sts:AssumeRole`` on the role, and the role's trust
policy (its ``AssumeRolePolicyDocument``) must allow the caller as principal.
A session lasts ``DurationSeconds`` (900 s to the role's MaxSessionDuration,
one hour by default; at most one hour when a session assumes another role,
"role chaining").  Session policies and session tags are refused, not
silently ignored, since Charter's policy evaluation does not model them.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .. import arns
from ..errors import AccessDeniedException, ValidationException
from ..iam import details, identities, policy, sessions
from . import Call, operation

_CHAINED_LIMIT = 3600
_UNSUPPORTED = {
    "Policy": "session policies (Policy)",
    "PolicyArns": "session policies (PolicyArns)",
    "Tags": "session tags (Tags)",
    "TransitiveTagKeys": "session tags (TransitiveTagKeys)",
    "SerialNumber": "MFA (SerialNumber, TokenCode)",
    "TokenCode": "MFA (SerialNumber, TokenCode)",
    "ProvidedContexts": "trusted context assertions (ProvidedContexts)",
}


@operation("GetCallerIdentity", service="sts", action="", writes=False)
def get_caller_identity(call: Call, params: dict) -> dict:
    return {"UserId": call.principal_id, "Account": call.account, "Arn": call.principal_arn}


def _role_arn(region: str, account: str, params: dict) -> str:
    return params.get("RoleArn", "*")


@operation("AssumeRole", service="sts", action="sts:AssumeRole", resource=_role_arn)
def assume_role(call: Call, params: dict) -> dict:
    unsupported = sorted({label for member, label in _UNSUPPORTED.items() if params.get(member)})
    if unsupported:
        raise ValidationException(
            f"Charter does not support {' or '.join(unsupported)} in AssumeRole: "
            "attach the permissions to the role itself and call again without them."
        )
    role_arn = params["RoleArn"]
    session_name = params["RoleSessionName"]
    denied = AccessDeniedException(
        f"User: {call.principal_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    role = _role(call, role_arn)
    if role is None:
        raise denied  # AWS does not tell a caller whether a role it may not assume exists
    facts = details.get(call.conn, role.arn)
    if not facts.trust_policy or not _trusted(call, role, facts.trust_policy, params):
        raise denied
    chained = ":assumed-role/" in call.principal_arn
    duration = params.get("DurationSeconds", 3600)
    if chained and duration > _CHAINED_LIMIT:
        raise ValidationException(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        )
    if duration > facts.max_session_duration:
        raise ValidationException("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    credentials = sessions.create(
        call.conn,
        call.instance.keyring,
        role,
        session_name=session_name,
        duration_seconds=duration,
        assumed_by=call.principal_arn,
        source_identity=params.get("SourceIdentity"),
    )
    result = {
        "Credentials": {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": datetime.fromtimestamp(credentials.expiration, timezone.utc),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": f"{role.unique_id}:{session_name}",
            "Arn": sessions.assumed_role_arn(role, session_name),
        },
    }
    if params.get("SourceIdentity"):
        result["SourceIdentity"] = params["SourceIdentity"]
    return result


def _role(call: Call, role_arn: str) -> identities.Principal | None:
    try:
        parsed = arns.parse(role_arn)
    except ValidationException:
        raise ValidationException(f"{role_arn} is invalid: a role ARN is arn:aws:iam::<account>:role/<name>.") from None
    if parsed.service != "iam" or parsed.resource_type != "role":
        raise ValidationException(f"{role_arn} is invalid: a role ARN is arn:aws:iam::<account>:role/<name>.")
    role = identities.get_principal(call.conn, role_arn)
    return role if role is not None and role.kind == "role" else None


def _trusted(call: Call, role: identities.Principal, trust_policy: str, params: dict) -> bool:
    context = {
        # For a session assuming another role, aws:PrincipalArn is its role's ARN, not the session's.
        "aws:PrincipalArn": sessions.role_arn_of(call.conn, call.principal_arn),
        "aws:PrincipalAccount": call.account,
        "aws:userid": call.principal_id,
        "sts:RoleSessionName": params["RoleSessionName"],
    }
    if params.get("ExternalId") is not None:
        context["sts:ExternalId"] = params["ExternalId"]
    if params.get("SourceIdentity") is not None:
        context["sts:SourceIdentity"] = params["SourceIdentity"]
    request = policy.Request(action="sts:AssumeRole", resource=role.arn, principal=call.principal_arn, context=context)
    return policy.evaluate([], request, [trust_policy]) is policy.Decision.ALLOW
