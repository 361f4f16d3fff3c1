"""Role Manager: users and roles with their personas, a wizard that makes one, and any identity's permissions explained.

* ``/console/role-manager``: the account's users (or roles) from IAM ListUsers
  / ListRoles, each with the persona and ML activities it was made from
  (:func:`charter.services.personas_admin.recorded_personas`).
* ``/console/role-manager/new``: the wizard, as SageMaker Role Manager's:
  (1) a persona, (2) its ML activities, added or removed, (3) the buckets and
  prefixes its artifact access reaches, (4) the policy it makes, previewed,
  and a user (optionally a console password and an access key) or a role that
  SageMaker may assume.  Each step is a POST that draws the next; what was
  chosen travels in hidden fields, so Back loses nothing and nothing is kept
  on the server until Create.
* Create (the last step's button): as the signed-in administrator,
  with the IAM API's own operations (CreateUser or CreateRole with the persona
  as tags, CreatePolicy, AttachUserPolicy or AttachRolePolicy,
  CreateLoginProfile, CreateAccessKey): each authorized by the administrator's
  policies and audited on its own.  A new access key's secret is on the answer
  to that POST only (``no-store``, as every console page): never again.
* ``/console/role-manager/{user|role}/{name}``: the identity, its policies, and
  its effective permissions explained (:mod:`charter.iam.explain`): for each
  ML activity and each common action, allowed or not and by which statement of
  which policy; and any action a person asks about.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field

from ...errors import AwsError, ValidationException
from ...iam import explain, personas
from ...services import personas_admin
from ...services.iam import check_password_policy
from . import view

PAGE = "role-manager"
BASE = "/console/role-manager"
STEPS = ("Persona", "ML activities", "Artifact access", "Review and create")
#: A role the wizard makes is one SageMaker assumes: a job's or an endpoint's execution role.
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": personas.SAGEMAKER_SERVICE_PRINCIPAL},
                   "Action": "sts:AssumeRole"}],
}
KINDS = {"user": "User", "role": "Role"}
_LIST_PAGE = 50
_ACTION_RE = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$|^\*$")


# --- the wizard's state, carried in its forms ---------------------------------------------------


@dataclass
class Draft:
    """What the wizard has been told so far."""

    persona: str = ""
    activities: list[str] = field(default_factory=list)
    #: The persona ``activities`` were chosen for: a different persona starts from its own defaults.
    activities_for: str = ""
    scopes: str = ""  # one bucket or bucket/prefix a line, as typed
    kind: str = "user"
    name: str = ""
    password: str = ""
    reset_password: bool = False
    access_key: bool = True

    @classmethod
    def of(cls, form: dict[str, str]) -> Draft:
        draft = cls(
            persona=form.get("persona", "") if form.get("persona", "") in personas.PERSONAS else "",
            activities=[name for name in personas.ACTIVITIES if form.get(f"activity-{name}")],
            activities_for=form.get("activities_for", ""),
            scopes=form.get("scopes", "")[:4000],
            kind=form.get("kind", "user") if form.get("kind") in KINDS else "user",
            name=form.get("name", "").strip()[:64],
            password=form.get("password", ""),
            reset_password=bool(form.get("reset_password")),
            access_key=bool(form.get("access_key")) if "shown_access_key" in form else True,
        )
        if draft.persona and draft.activities_for != draft.persona:
            draft.activities = list(personas.PERSONAS[draft.persona].activities)
            draft.activities_for = draft.persona
        return draft

    def scope_list(self) -> list[personas_admin.Scope]:
        return personas_admin.parse_scopes(self.scopes)


def _problem(draft: Draft, step: int) -> str | None:
    """Why ``draft`` cannot leave ``step`` for the next, in words; None when it can."""
    if step == 1 and not draft.persona:
        return "Pick a persona to start from (Custom starts with no activities)."
    if step == 2 and not draft.activities:
        return "Pick at least one ML activity: an identity with none may do nothing."
    if step == 3:
        try:
            scopes = draft.scope_list()
        except ValidationException as error:
            return error.message
        if "artifact-access" in draft.activities and not scopes:
            return ("The Amazon S3 bucket access activity grants nothing without a bucket: name at least one "
                    "bucket, or go back and remove the activity.")
        if scopes and "artifact-access" not in draft.activities:
            return ("Buckets are reached through the Amazon S3 bucket access activity (artifact-access), which is "
                    "not picked: go back and add it, or clear the buckets.")
    return None


def _first_problem(draft: Draft, upto: int) -> tuple[int, str] | None:
    for step in range(1, upto):
        problem = _problem(draft, step)
        if problem:
            return step, problem
    return None


def _policy(visit, draft: Draft) -> dict:
    return personas_admin.wizard_policy(draft.persona, draft.activities, draft.scope_list(),
                                        account=visit.console.account, name=draft.name or "new")


def _allowed_kinds(visit) -> dict[str, bool]:
    account = visit.console.account
    return {
        "user": visit.can("iam:CreateUser", f"arn:aws:iam::{account}:user/*"),
        "role": visit.can("iam:CreateRole", f"arn:aws:iam::{account}:role/*"),
    }


def _wizard(visit, draft: Draft, step: int, *, error: str | None = None, status: int = 200):
    context: dict = {}
    if step == 4:
        context["policy_json"] = json.dumps(_policy(visit, draft), indent=2)
        context["trust_json"] = json.dumps(TRUST_POLICY, indent=2)
        context["kinds_allowed"] = _allowed_kinds(visit)
    return visit.render(
        "role_manager_wizard.html", status, title=f"Create a user or role: {STEPS[step - 1]}", draft=draft, step=step,
        steps=STEPS, error=error, personas=personas.PERSONAS, activities=personas.ACTIVITIES, kinds=KINDS,
        **context,
    )


@view("/role-manager/new", page=PAGE, operation="ViewRoleManagerWizard")
def wizard_start(visit):
    persona = visit.query.get("persona", "")
    return _wizard(visit, Draft.of({"persona": persona}), 1)


@view("/role-manager/new", page=PAGE, method="POST")
def wizard_step(visit):
    if visit.form.get("go") == "create":
        return create(visit)
    draft = Draft.of(visit.form)
    try:
        wanted = min(max(int(visit.form.get("go", "1")), 1), len(STEPS))
    except ValueError:
        wanted = 1
    problem = _first_problem(draft, wanted)
    if problem:
        return _wizard(visit, draft, problem[0], error=problem[1], status=400)
    return _wizard(visit, draft, wanted)


# --- creating the identity ----------------------------------------------------------------------


@dataclass
class Made:
    """What Create did, step by step (for the page that says so)."""

    steps: list[str] = field(default_factory=list)
    key: dict | None = None


def _absent(visit, service_call: tuple[str, dict], what: str) -> str | None:
    """A message when ``what`` already exists (so nothing is created half-way); None when it does not."""
    operation, params = service_call
    try:
        visit.call("iam", operation, params)
    except AwsError as error:
        if error.code == "NoSuchEntity" or error.status == 404 or _denied(error):
            return None  # absent, or not ours to look at: CreateUser / CreatePolicy will say
        raise
    return f"{what} already exists. Pick another name."


def _create(visit, draft: Draft, document: dict, made: Made) -> None:
    name, kind = draft.name, draft.kind
    tags = personas_admin.persona_tags(draft.persona, draft.activities)
    if kind == "user":
        visit.call("iam", "CreateUser", {"UserName": name, "Tags": tags})
    else:
        visit.call("iam", "CreateRole", {
            "RoleName": name, "AssumeRolePolicyDocument": json.dumps(TRUST_POLICY), "Tags": tags,
            "Description": f"Made with Role Manager from the {draft.persona} persona.",
        })
    made.steps.append(f"Created the {kind} {name}, tagged with its persona ({draft.persona}).")
    policy_name = personas_admin.persona_policy_name(kind, name)
    created = visit.call("iam", "CreatePolicy", {"PolicyName": policy_name, "PolicyDocument": json.dumps(document)})
    policy_arn = created["Policy"]["Arn"]
    made.steps.append(f"Created the policy {policy_name}.")
    if kind == "user":
        visit.call("iam", "AttachUserPolicy", {"UserName": name, "PolicyArn": policy_arn})
    else:
        visit.call("iam", "AttachRolePolicy", {"RoleName": name, "PolicyArn": policy_arn})
    made.steps.append(f"Attached {policy_name} to the {kind}.")
    if kind == "user" and draft.password:
        visit.call("iam", "CreateLoginProfile", {"UserName": name, "Password": draft.password,
                                                 "PasswordResetRequired": draft.reset_password})
        made.steps.append("Set its console password" + (" (to be changed at first sign-in)." if draft.reset_password
                                                         else "."))
    if kind == "user" and draft.access_key:
        made.key = visit.call("iam", "CreateAccessKey", {"UserName": name})["AccessKey"]
        made.steps.append("Created an access key (shown below, once).")


def _denied(error: AwsError) -> bool:
    return error.status == 403 or "AccessDenied" in error.code


def _status(error: AwsError) -> int:
    """The HTTP status of a page that shows ``error`` inline (403 for a refusal, whatever the face spells)."""
    return 403 if _denied(error) else error.status if 400 <= error.status < 500 else 400


def create(visit):
    """Step 4's Create: the identity, its policy, password and key, each with the IAM API as the administrator."""
    draft = Draft.of(visit.form)
    problem = _first_problem(draft, 4)
    if problem:
        return _wizard(visit, draft, problem[0], error=problem[1], status=400)
    if not draft.name:
        return _wizard(visit, draft, 4, error=f"Give the {draft.kind} a name.", status=400)
    try:
        document = _policy(visit, draft)
        if draft.kind == "user" and draft.password:
            check_password_policy(draft.password, draft.name)
    except AwsError as error:
        return _wizard(visit, draft, 4, error=error.message, status=400)
    kind_name = "UserName" if draft.kind == "user" else "RoleName"
    taken = _absent(visit, ("GetUser" if draft.kind == "user" else "GetRole", {kind_name: draft.name}),
                    f"A {draft.kind} named {draft.name}") or _absent(
        visit, ("GetPolicy", {"PolicyArn": f"arn:aws:iam::{visit.console.account}:policy/"
                                            f"{personas_admin.persona_policy_name(draft.kind, draft.name)}"}),
        f"The policy {personas_admin.persona_policy_name(draft.kind, draft.name)}")
    if taken:
        return _wizard(visit, draft, 4, error=taken, status=409)
    made = Made()
    try:
        _create(visit, draft, document, made)
    except AwsError as error:
        if not made.steps:  # refused before anything was made: the same step, with the reason
            return _wizard(visit, draft, 4, error=error.message, status=_status(error))
        return visit.render("role_manager_created.html", _status(error), title="Created in part", draft=draft,
                            made=made, error=error, identity_url=_identity_url(draft.kind, draft.name))
    return visit.render("role_manager_created.html", title=f"Created {draft.kind} {draft.name}", draft=draft,
                        made=made, error=None, identity_url=_identity_url(draft.kind, draft.name))


# --- the list -----------------------------------------------------------------------------------


def _identity_url(kind: str, name: str) -> str:
    return f"{BASE}/{kind}/{urllib.parse.quote(name, safe='')}"


@view("/role-manager", page=PAGE)
def identities_list(visit):
    show = "roles" if visit.query.get("show") == "roles" else "users"
    operation, key, name_key = ("ListRoles", "Roles", "RoleName") if show == "roles" else ("ListUsers", "Users",
                                                                                          "UserName")
    params: dict = {"MaxItems": _LIST_PAGE}
    marker = visit.query.get("marker")
    if marker:
        params["Marker"] = marker
    refused = None
    answer: dict = {key: [], "IsTruncated": False}
    try:
        answer = visit.call("iam", operation, params)
    except AwsError as error:
        if not _denied(error):
            raise
        refused = error.message
    records = visit.read(personas_admin.recorded_personas, visit.console.account)
    kind = "role" if show == "roles" else "user"
    rows = [
        {"name": item[name_key], "arn": item["Arn"], "created": item.get("CreateDate"),
         "record": records.get(item["Arn"]), "url": _identity_url(kind, item[name_key]),
         "description": item.get("Description")}
        for item in answer.get(key, [])
    ]
    next_url = (f"{BASE}?{urllib.parse.urlencode({'show': show, 'marker': answer['Marker']})}"
                if answer.get("IsTruncated") else None)
    prev_url = f"{BASE}?show={show}" if marker else None
    kinds_allowed = _allowed_kinds(visit)
    return visit.render(
        "role_manager.html", title="Role Manager", show=show, rows=rows, refused=refused, next_url=next_url,
        prev_url=prev_url, may_create=any(kinds_allowed.values()), kind=kind, activities=personas.ACTIVITIES,
        personas=personas.PERSONAS,
    )


# --- one identity, explained --------------------------------------------------------------------


def _decoded(document) -> dict:
    """A policy document as IAM answers it (URL-encoded JSON text) or already parsed."""
    if isinstance(document, dict):
        return document
    return json.loads(urllib.parse.unquote(document))


def _every(visit, operation: str, params: dict, key: str) -> list:
    """Every item of a Marker-paged IAM listing."""
    items, marker = [], None
    while True:
        answer = visit.call("iam", operation, {**params, **({"Marker": marker} if marker else {})})
        items.extend(answer.get(key, []))
        if not answer.get("IsTruncated"):
            return items
        marker = answer["Marker"]


def _policies(visit, kind: str, name: str) -> list[dict]:
    """The identity's policies, as the IAM API shows them: [{name, arn, inline, document}]."""
    out = []
    operation, member = ("ListAttachedUserPolicies", "UserName") if kind == "user" else ("ListAttachedRolePolicies",
                                                                                        "RoleName")
    for attached in _every(visit, operation, {member: name}, "AttachedPolicies"):
        summary = visit.call("iam", "GetPolicy", {"PolicyArn": attached["PolicyArn"]})["Policy"]
        version = visit.call("iam", "GetPolicyVersion", {"PolicyArn": attached["PolicyArn"],
                                                         "VersionId": summary["DefaultVersionId"]})
        out.append({"name": attached["PolicyName"], "arn": attached["PolicyArn"], "inline": False,
                    "document": _decoded(version["PolicyVersion"]["Document"])})
    if kind == "role":
        for policy_name in _every(visit, "ListRolePolicies", {"RoleName": name}, "PolicyNames"):
            inline = visit.call("iam", "GetRolePolicy", {"RoleName": name, "PolicyName": policy_name})
            out.append({"name": policy_name, "arn": f"inline policy {policy_name}", "inline": True,
                        "document": _decoded(inline["PolicyDocument"])})
    return out


def _asked(visit, account: str) -> tuple[explain.Check | None, str | None]:
    """The check a person asked for (``?action=...&resource=...``), or why it cannot be asked."""
    action = visit.query.get("action", "").strip()
    if not action:
        return None, None
    resource = visit.query.get("resource", "").strip() or "*"
    if not _ACTION_RE.match(action) or len(action) > 128:
        return None, (f"{action!r} is not an IAM action: write it as service:Action, for example "
                      "sagemaker:CreateTrainingJob.")
    if resource != "*" and not resource.startswith("arn:"):
        return None, f"{resource!r} is not a resource: write an ARN (arn:aws:...) or * for every resource."
    context = {"iam:PassedToService": personas.SAGEMAKER_SERVICE_PRINCIPAL} if action.lower() == "iam:passrole" else {}
    return explain.Check(action, resource[:2048], f"{action} on {resource}", context), None


@view("/role-manager/{kind}/{name}", page=PAGE, operation="ViewRoleManagerIdentity")
def identity(visit):
    kind, name = visit.params["kind"], visit.params["name"]
    if kind not in KINDS:
        raise ValidationException(f"There is no {kind!r} in Role Manager: it shows users and roles.")
    if kind == "user":
        facts = visit.call("iam", "GetUser", {"UserName": name})["User"]
    else:
        facts = visit.call("iam", "GetRole", {"RoleName": name})["Role"]
    visit.event.resource_arn = facts["Arn"]
    account, region = visit.console.account, visit.console.region
    record = visit.read(personas_admin.recorded_personas, account).get(facts["Arn"])
    refused = None
    policies: list[dict] = []
    try:
        policies = _policies(visit, kind, name)
    except AwsError as error:
        if not _denied(error):
            raise
        refused = error.message
    pairs = [(p["arn"], p["document"]) for p in policies]
    location = explain.data_location(pairs)
    common = explain.explain_checks(pairs, facts["Arn"], explain.common_checks(account, region, *(location or ())))
    coverage = explain.activity_coverage(pairs, facts["Arn"], account=account, region=region,
                                         buckets=[location[0]] if location else [])
    check, check_error = _asked(visit, account)
    asked = explain.explain_checks(pairs, facts["Arn"], [check])[0] if check else None
    trust = facts.get("AssumeRolePolicyDocument")
    return visit.render(
        "role_manager_identity.html", title=f"{KINDS[kind]} {name}", kind=kind, name=name, facts=facts,
        record=record, policies=[{**p, "json": json.dumps(p["document"], indent=2)} for p in policies],
        refused=refused, common=common, coverage=coverage, asked=asked, check_error=check_error,
        asked_action=visit.query.get("action", ""), asked_resource=visit.query.get("resource", ""),
        trust_json=json.dumps(_decoded(trust), indent=2) if trust else None, tags=facts.get("Tags") or [],
        activities=personas.ACTIVITIES, location=location, identity_url=_identity_url(kind, name),
    )
