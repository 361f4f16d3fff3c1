"""Role Manager's side of personas: the policy its wizard builds, and the persona each identity was given.

The console's Role Manager wizard (:mod:`charter.console.views.role_manager`)
creates a user or role with the IAM API's own operations (CreateUser or
CreateRole, CreatePolicy, AttachUserPolicy or AttachRolePolicy, ...), so every
step is authorized and audited as the administrator who takes it.  What that
leaves to this module:

* :func:`wizard_policy`: the policy document of a persona, with ML activities
  added or removed and artifact access scoped to buckets *and prefixes*.
  :func:`charter.iam.personas.build_policy` scopes ``artifact-access`` to whole
  buckets; a prefix scope (``bucket/datasets/``) narrows its object statement
  to ``arn:aws:s3:::bucket/datasets/*`` and lets ``s3:ListBucket`` list only
  under that prefix (an ``s3:prefix`` condition, as AWS's own examples of
  folder-scoped access write it).
* the persona record: the wizard tags the identity ``charter:persona`` and
  ``charter:activities`` (CreateUser's and CreateRole's ``Tags``, stored by
  the IAM face), and :func:`recorded_personas` reads them back, together with
  the persona ``charter iam create-user --persona`` writes on the principal
  itself.  The record is a label: what an identity may do is always decided
  by the policies attached to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from ..errors import ValidationException
from ..iam import details, identities, personas, policy

PERSONA_TAG = "charter:persona"
ACTIVITIES_TAG = "charter:activities"

#: The artifact-access statements of :mod:`charter.iam.personas` that a prefix scope narrows.
_BUCKET_SID, _OBJECT_SID = "ArtifactAccessBuckets", "ArtifactAccessObjects"

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: A prefix's characters: S3's safe key characters; no * ? or $ (they would be wildcards or variables in a policy).
_PREFIX_RE = re.compile(r"^[A-Za-z0-9!\-_.'()/=+@,:;&]+$")


@dataclass(frozen=True)
class Scope:
    """Artifact access to one bucket, or to one prefix (a folder, ending in ``/``) in it."""

    bucket: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket


def parse_scopes(text: str) -> list[Scope]:
    """The scopes of ``text``: one a line, ``bucket``, ``bucket/prefix`` or ``s3://bucket/prefix/``.

    Raises ValidationException naming the line that is not one.
    """
    scopes: list[Scope] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        bare = line.removeprefix("s3://")
        bucket, _, prefix = bare.partition("/")
        if not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise ValidationException(
                f"Line {number} ({line}): {bucket!r} is not an S3 bucket name. Use 3-63 lower-case letters, digits, "
                "dots and hyphens, beginning and ending with a letter or digit."
            )
        prefix = prefix.strip("/")
        if prefix and (not _PREFIX_RE.match(prefix) or "//" in prefix):
            raise ValidationException(
                f"Line {number} ({line}): the prefix {prefix!r} may hold letters, digits, / and the characters "
                "!-_.'()=+@,:;& only (no * ? or $, which a policy would read as wildcards or variables)."
            )
        scope = Scope(bucket, f"{prefix}/" if prefix else "")
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def _base(persona: str, activities: Sequence[str]) -> tuple[str, list[str]]:
    """The persona build_policy starts from, and the activities it adds: the persona's own when
    ``activities`` keep all of its defaults, else ``custom`` with exactly ``activities``."""
    defaults = personas.PERSONAS[persona].activities
    if set(defaults) <= set(activities):
        return persona, [a for a in activities if a not in defaults]
    return "custom", list(activities)


def wizard_policy(persona: str, activities: Sequence[str], scopes: Sequence[Scope], *, account: str,
                  name: str, region: str = "*") -> dict:
    """The policy document of ``persona`` with exactly ``activities``, its S3 access scoped to ``scopes``.

    Raises ValidationException (the persona or an activity unknown, nothing granted).
    """
    if persona not in personas.PERSONAS:
        raise ValidationException(f"Unknown persona {persona!r}; pick one of {', '.join(personas.PERSONAS)}.")
    if not activities:
        raise ValidationException("Pick at least one ML activity: an identity with none may do nothing.")
    base, extra = _base(persona, activities)
    buckets = list(dict.fromkeys(scope.bucket for scope in scopes))
    try:
        document = personas.build_policy(base, extra, account=account, region=region, buckets=buckets, username=name)
    except ValueError as exc:
        raise ValidationException(str(exc)) from None
    document["Id"] = f"charter-persona-{persona}-{name}"
    return policy.validate_policy(scope_prefixes(document, scopes), resource_policy=False)


def scope_prefixes(document: dict, scopes: Sequence[Scope]) -> dict:
    """``document`` with the artifact-access statements narrowed to the prefixes of ``scopes``.

    A bucket with a whole-bucket scope keeps its access to the whole bucket;
    one named only with prefixes gets objects under those prefixes, and
    ``s3:ListBucket`` only with an ``s3:prefix`` under them.
    """
    whole = {scope.bucket for scope in scopes if not scope.prefix}
    narrowed: dict[str, list[str]] = {}
    for scope in scopes:
        if scope.prefix and scope.bucket not in whole:
            narrowed.setdefault(scope.bucket, []).append(scope.prefix)
    if not narrowed:
        return document
    statements = list(document["Statement"])
    by_sid = {statement.get("Sid"): statement for statement in statements}
    if _BUCKET_SID not in by_sid or _OBJECT_SID not in by_sid:
        # Prefix scopes without the artifact-access statements (the activity was not picked) grant nothing.
        return document
    bucket_statement, object_statement = by_sid[_BUCKET_SID], by_sid[_OBJECT_SID]

    def arn(bucket: str) -> str:
        return f"arn:aws:s3:::{bucket}"

    object_resources = [arn(b) + "/*" for b in whole] + [
        f"{arn(b)}/{prefix}*" for b, prefixes in narrowed.items() for prefix in prefixes
    ]
    scoped = [{**object_statement, "Resource": object_resources}]
    bucket_actions = [a for a in bucket_statement["Action"] if a != "s3:ListBucket"]
    if whole:
        scoped.append({**bucket_statement, "Resource": [arn(b) for b in whole]})
    scoped.append({"Sid": "ArtifactAccessBucketsScoped", "Effect": "Allow", "Action": bucket_actions,
                   "Resource": [arn(b) for b in narrowed]})
    for i, (bucket, prefixes) in enumerate(narrowed.items(), start=1):
        scoped.append({
            "Sid": f"ArtifactAccessListPrefixes{i}", "Effect": "Allow", "Action": ["s3:ListBucket"],
            "Resource": [arn(bucket)],
            "Condition": {"StringLike": {"s3:prefix": [form for p in prefixes for form in (p, f"{p}*")]}},
        })
    at = statements.index(bucket_statement)
    rest = [s for s in statements if s is not bucket_statement and s is not object_statement]
    return {**document, "Statement": rest[:at] + scoped + rest[at:]}


def persona_tags(persona: str, activities: Sequence[str]) -> list[dict]:
    """The IAM tags that record the persona an identity was made from (values of at most 256 characters)."""
    return [{"Key": PERSONA_TAG, "Value": persona}, {"Key": ACTIVITIES_TAG, "Value": " ".join(activities)[:256]}]


def persona_policy_name(kind: str, name: str) -> str:
    """The managed policy's name, the one ``charter iam create-user`` gives (so deleting removes it too)."""
    return f"charter-persona-{kind}-{name}"


@dataclass(frozen=True)
class PersonaRecord:
    persona: str
    activities: tuple[str, ...]  # every activity, the persona's defaults included

    @property
    def customised(self) -> bool:
        known = personas.PERSONAS.get(self.persona)
        return known is None or set(known.activities) != set(self.activities)


def _record(principal: identities.Principal, facts: details.Details) -> PersonaRecord | None:
    if principal.persona:
        known = personas.PERSONAS.get(principal.persona)
        defaults = known.activities if known else ()
        return PersonaRecord(principal.persona, tuple(dict.fromkeys([*defaults, *principal.activities])))
    tags = {tag["Key"]: tag.get("Value", "") for tag in facts.tags}
    if PERSONA_TAG not in tags:
        return None
    return PersonaRecord(tags[PERSONA_TAG], tuple(tags.get(ACTIVITIES_TAG, "").split()))


def recorded_personas(conn: Connection, account: str) -> dict[str, PersonaRecord]:
    """The persona of each user and role of ``account`` that has one, by ARN."""
    principals = identities.list_principals(conn, account)
    facts = details.all_of(conn, [p.arn for p in principals])
    found = {p.arn: _record(p, facts[p.arn]) for p in principals}
    return {arn: record for arn, record in found.items() if record is not None}
