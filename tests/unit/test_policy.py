"""Tests of charter.iam.policy, mostly AWS's documented examples.

Sources (IAM User Guide):
  reference_policies_evaluation-logic.html
  reference_policies_multi-value-conditions.html           (multiple keys / values)
  reference_policies_condition-single-vs-multi-valued-context-keys.html
  reference_policies_condition_examples-multi-valued-context-keys.html
  reference_policies_elements_condition_operators.html     (operators, IfExists, Null)
  reference_policies_elements_resource.html                (ARN wildcards)
  reference_policies_elements_notaction.html / _notresource.html
  reference_policies_variables.html                        (policy variables)
"""

from __future__ import annotations

import json

import pytest

from charter.errors import AccessDeniedException, ValidationException
from charter.iam.policy import Decision, Request, access_denied, evaluate, explain, validate_policy

ACCOUNT = "123456789012"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
GROUP_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/churn"
MODEL_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/churn-v1"

ALLOW = Decision.ALLOW
EXPLICIT = Decision.EXPLICIT_DENY
IMPLICIT = Decision.IMPLICIT_DENY


def policy(*statements: dict, version: str = "2012-10-17") -> dict:
    return {"Version": version, "Statement": list(statements)}


def allow(action="*", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def req(action="sagemaker:CreateModelPackageGroup", resource=GROUP_ARN, principal=BOB, **context) -> Request:
    return Request(action=action, resource=resource, principal=principal, context=context)


def ctx_req(context: dict, action="sagemaker:CreateModelPackageGroup", resource=GROUP_ARN, principal=BOB) -> Request:
    """A request whose context keys contain characters that cannot be keyword arguments."""
    return Request(action=action, resource=resource, principal=principal, context=context)


# --- evaluation logic ------------------------------------------------------------


class TestEvaluationLogic:
    def test_no_policies_is_implicit_deny(self):
        assert evaluate([], req()) is IMPLICIT

    def test_allow(self):
        assert evaluate([policy(allow("sagemaker:CreateModelPackageGroup", GROUP_ARN))], req()) is ALLOW

    def test_allow_for_other_action_is_implicit_deny(self):
        assert evaluate([policy(allow("sagemaker:DescribeModelPackageGroup"))], req()) is IMPLICIT

    def test_explicit_deny_in_another_policy_overrides_allow(self):
        # "An explicit deny in any policy overrides any allows."
        identity = [policy(allow("sagemaker:*")), policy(deny("sagemaker:CreateModelPackageGroup"))]
        assert evaluate(identity, req()) is EXPLICIT

    def test_explicit_deny_in_same_policy_overrides_allow(self):
        assert evaluate([policy(allow(), deny("sagemaker:Create*"))], req()) is EXPLICIT
        assert evaluate([policy(allow(), deny("sagemaker:Create*"))], req("sagemaker:ListModels", "*")) is ALLOW

    def test_statement_as_single_object(self):
        document = {"Version": "2012-10-17", "Statement": allow("sagemaker:CreateModelPackageGroup")}
        assert evaluate([document], req()) is ALLOW

    def test_policy_given_as_json_text(self):
        assert evaluate([json.dumps(policy(allow("sagemaker:*")))], req()) is ALLOW

    def test_malformed_policy_raises(self):
        with pytest.raises(ValidationException):
            evaluate([{"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}], req())


class TestActions:
    def test_action_match_is_case_insensitive(self):
        assert evaluate([policy(allow("SageMaker:createmodelpackagegroup"))], req()) is ALLOW

    @pytest.mark.parametrize(
        "pattern,expected",
        [
            ("sagemaker:*", ALLOW),
            ("*", ALLOW),
            ("sagemaker:Create*", ALLOW),
            ("sagemaker:*PackageGroup", ALLOW),
            ("sagemaker:CreateModelPackageGrou?", ALLOW),
            ("sagemaker:CreateModelPackage?", IMPLICIT),
            ("sagemaker:CreateModelPackage", IMPLICIT),
            ("s3:*", IMPLICIT),
            ("sagemaker:Describe*", IMPLICIT),
        ],
    )
    def test_action_wildcards(self, pattern, expected):
        assert evaluate([policy(allow(pattern))], req()) is expected

    def test_action_list(self):
        document = policy(allow(["sagemaker:DescribeModel", "sagemaker:CreateModelPackageGroup"]))
        assert evaluate([document], req()) is ALLOW

    def test_not_action_with_allow(self):
        # Documented: allow everything except IAM ("NotAction": "iam:*" with Allow).
        document = policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        assert evaluate([document], req()) is ALLOW
        assert evaluate([document], req("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/r")) is IMPLICIT

    def test_not_action_with_deny(self):
        # Documented: deny everything except IAM, whatever other policies allow.
        document = policy(
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"},
        )
        assert evaluate([document], req()) is EXPLICIT
        assert evaluate([document], req("iam:GetUser", BOB)) is ALLOW


class TestResources:
    def test_resource_match_is_case_sensitive(self):
        document = policy(allow("sagemaker:*", GROUP_ARN.replace("churn", "Churn")))
        assert evaluate([document], req()) is IMPLICIT

    @pytest.mark.parametrize(
        "pattern,expected",
        [
            (f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/*", ALLOW),
            (f"arn:aws:sagemaker:*:{ACCOUNT}:model-package-group/*", ALLOW),
            (f"arn:aws:sagemaker:us-east-?:{ACCOUNT}:model-package-group/ch?rn", ALLOW),
            (f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:*", ALLOW),
            ("arn:aws:sagemaker:us-east-1:999999999999:model-package-group/*", IMPLICIT),
            (f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:model-package-group/*", IMPLICIT),
            (f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/*", IMPLICIT),
            ("*", ALLOW),
        ],
    )
    def test_resource_wildcards(self, pattern, expected):
        assert evaluate([policy(allow("sagemaker:*", pattern))], req()) is expected

    def test_wildcard_inside_a_segment_does_not_cross_colons(self):
        # "If the * wildcard is the last character of a resource ARN segment, it can
        # expand to match beyond the colon boundaries" -- and otherwise it cannot.
        resource = "arn:aws:s3:::bucket/x:y"
        assert evaluate([policy(allow("s3:GetObject", "arn:aws:s3:::bucket/x*"))], req("s3:GetObject", resource)) is ALLOW
        assert evaluate([policy(allow("s3:GetObject", "arn:aws:s3:::bucket/x*y"))], req("s3:GetObject", resource)) is IMPLICIT
        assert evaluate([policy(allow("s3:GetObject", "arn:aws:s3:::*"))], req("s3:GetObject", resource)) is ALLOW

    def test_star_request_resource_needs_star_in_policy(self):
        # List operations carry no resource ARN: only Resource "*" covers them.
        assert evaluate([policy(allow("sagemaker:List*", f"arn:aws:sagemaker:*:{ACCOUNT}:*"))], req("sagemaker:ListModels", "*")) is IMPLICIT
        assert evaluate([policy(allow("sagemaker:List*", "*"))], req("sagemaker:ListModels", "*")) is ALLOW

    def test_not_resource(self):
        # Allow everything in SageMaker except the production model package groups.
        document = policy(
            {"Effect": "Allow", "Action": "sagemaker:*", "NotResource": f"arn:aws:sagemaker:*:{ACCOUNT}:model-package-group/prod-*"}
        )
        assert evaluate([document], req()) is ALLOW
        prod = GROUP_ARN.replace("churn", "prod-churn")
        assert evaluate([document], req(resource=prod)) is IMPLICIT

    def test_not_resource_with_deny(self):
        # Documented pattern: deny everything outside one bucket.
        document = policy(
            allow("s3:*"),
            {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::hr-bucket", "arn:aws:s3:::hr-bucket/*"]},
        )
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::hr-bucket/payroll.csv")) is ALLOW
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::other/payroll.csv")) is EXPLICIT


# --- policy variables -------------------------------------------------------------


class TestPolicyVariables:
    def test_username_in_resource(self):
        # Documented: "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*".
        document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/*"))
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/home/bob/a.csv")) is ALLOW
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/home/alice/a.csv")) is IMPLICIT

    def test_username_derived_from_user_arn(self):
        document = policy(allow("sagemaker:*", "*", Condition={"StringEquals": {"aws:username": "bob"}}))
        assert evaluate([document], req()) is ALLOW
        assert evaluate([document], req(principal=ALICE)) is IMPLICIT

    def test_no_substitution_in_version_2008(self):
        document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/*"), version="2008-10-17")
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/home/bob/a.csv")) is IMPLICIT
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/home/${aws:username}/a.csv")) is ALLOW

    def test_missing_version_means_2008(self):
        document = {"Statement": [allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}")]}
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/bob")) is IMPLICIT

    def test_escapes(self):
        # ${*} ${?} ${$} stand for the literal characters.
        document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/a${*}b${?}c${$}d"))
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/a*b?c$d")) is ALLOW
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/aXXbYc$d")) is IMPLICIT

    def test_substituted_value_is_literal(self):
        document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/prefix}"))
        context = {"aws:PrincipalTag/prefix": "*"}
        assert evaluate([document], ctx_req(context, "s3:GetObject", "arn:aws:s3:::bucket/anything")) is IMPLICIT
        assert evaluate([document], ctx_req(context, "s3:GetObject", "arn:aws:s3:::bucket/*")) is ALLOW

    def test_unresolved_variable_matches_nothing(self):
        document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"))
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/x")) is IMPLICIT
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket//x")) is IMPLICIT

    def test_default_value(self):
        # Documented: ${aws:PrincipalTag/team, 'company-wide'}.
        document = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"))
        assert evaluate([document], req("s3:GetObject", "arn:aws:s3:::bucket/company-wide/x")) is ALLOW
        tagged = ctx_req({"aws:PrincipalTag/team": "ml"}, "s3:GetObject", "arn:aws:s3:::bucket/ml/x")
        assert evaluate([document], tagged) is ALLOW

    def test_variable_in_condition_value(self):
        # Documented tag example: Allow sagemaker:* where the resource's team tag is the caller's name.
        document = policy(allow("sagemaker:*", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:username}"}}))
        assert evaluate([document], ctx_req({"aws:ResourceTag/team": "bob"})) is ALLOW
        assert evaluate([document], ctx_req({"aws:ResourceTag/team": "alice"})) is IMPLICIT
        assert evaluate([document], req()) is IMPLICIT  # untagged resource

    def test_principal_tag_variable(self):
        document = policy(
            allow("sagemaker:*", "*", Condition={"StringEquals": {"sagemaker:ResourceTag/team": "${aws:PrincipalTag/team}"}})
        )
        context = {"aws:PrincipalTag/team": "risk", "sagemaker:ResourceTag/team": "risk"}
        assert evaluate([document], ctx_req(context)) is ALLOW
        assert evaluate([document], ctx_req({"sagemaker:ResourceTag/team": "risk"})) is IMPLICIT

    def test_malformed_variable_rejected(self):
        with pytest.raises(ValidationException, match=r"Statement\[0\]\.Resource"):
            validate_policy(policy(allow("s3:*", "arn:aws:s3:::bucket/${aws:username")))


# --- conditions ------------------------------------------------------------------


class TestConditionLogic:
    # The documented example of multiple operators, keys and values
    # (reference_policies_multi-value-conditions.html): the caller needs one of
    # the listed departments AND one of the listed roles AND one of the listed ARNs.
    CONDITION = {
        "StringEquals": {
            "aws:PrincipalTag/department": ["finance", "hr", "legal"],
            "aws:PrincipalTag/role": ["audit", "security"],
        },
        "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:user/Ana", "arn:aws:iam::222222222222:user/Mary"]},
    }
    ANA = "arn:aws:iam::222222222222:user/Ana"

    def ask(self, statement_effect: str, condition: dict, principal: str, **tags) -> Decision:
        statement = {"Effect": statement_effect, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bucket", "Condition": condition}
        statements = [statement] if statement_effect == "Allow" else [allow("s3:*"), statement]
        context = {f"aws:PrincipalTag/{k}": v for k, v in tags.items()}
        return evaluate([policy(*statements)], ctx_req(context, "s3:ListBucket", "arn:aws:s3:::bucket", principal))

    def test_values_are_ored_keys_and_operators_anded(self):
        assert self.ask("Allow", self.CONDITION, self.ANA, department="hr", role="audit") is ALLOW
        assert self.ask("Allow", self.CONDITION, self.ANA, department="legal", role="security") is ALLOW
        assert self.ask("Allow", self.CONDITION, self.ANA, department="hr", role="developer") is IMPLICIT
        assert self.ask("Allow", self.CONDITION, self.ANA, role="audit") is IMPLICIT  # department missing
        assert self.ask("Allow", self.CONDITION, "arn:aws:iam::222222222222:user/Bob", department="hr", role="audit") is IMPLICIT

    def test_negated_operator_values_are_nored(self):
        # The documented negated example: Deny unless department is one of the list,
        # role one of the list, and the ARN one of the list.
        condition = {
            "StringNotEquals": {
                "aws:PrincipalTag/department": ["finance", "hr", "legal"],
                "aws:PrincipalTag/role": ["audit", "security"],
            },
            "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:user/Ana", "arn:aws:iam::222222222222:user/Mary"]},
        }
        # Deny only when all three blocks hold: dept not in list AND role not in list AND ARN not in list.
        assert self.ask("Deny", condition, "arn:aws:iam::222222222222:user/Bob", department="it", role="dev") is EXPLICIT
        assert self.ask("Deny", condition, "arn:aws:iam::222222222222:user/Bob", department="hr", role="dev") is ALLOW
        assert self.ask("Deny", condition, self.ANA, department="it", role="dev") is ALLOW
        # Missing keys make the negated operators true.
        assert self.ask("Deny", condition, "arn:aws:iam::222222222222:user/Bob") is EXPLICIT

    def test_condition_key_names_are_case_insensitive(self):
        document = policy(allow("sagemaker:*", "*", Condition={"StringEquals": {"AWS:RequestTag/Team": "a"}}))
        assert evaluate([document], ctx_req({"aws:requesttag/team": "a"})) is ALLOW

    def test_operator_values_are_case_sensitive_unless_ignorecase(self):
        exact = policy(allow("sagemaker:*", "*", Condition={"StringEquals": {"aws:RequestTag/team": "Risk"}}))
        loose = policy(allow("sagemaker:*", "*", Condition={"StringEqualsIgnoreCase": {"aws:RequestTag/team": "Risk"}}))
        context = {"aws:RequestTag/team": "risk"}
        assert evaluate([exact], ctx_req(context)) is IMPLICIT
        assert evaluate([loose], ctx_req(context)) is ALLOW


class TestMissingKeys:
    """'If the key that you specify in a policy condition is not present in the request
    context, the values do not match and the condition is false. If the policy condition
    requires that the key is not matched, such as StringNotLike or ArnNotLike, and the
    right key is not present, the condition is true.'"""

    @pytest.mark.parametrize(
        "operator,expected",
        [
            ("StringEquals", IMPLICIT),
            ("StringLike", IMPLICIT),
            ("StringEqualsIgnoreCase", IMPLICIT),
            ("ArnLike", IMPLICIT),
            ("ArnEquals", IMPLICIT),
            ("NumericEquals", IMPLICIT),
            ("DateEquals", IMPLICIT),
            ("Bool", IMPLICIT),
            ("IpAddress", IMPLICIT),
            ("StringNotEquals", ALLOW),
            ("StringNotLike", ALLOW),
            ("StringNotEqualsIgnoreCase", ALLOW),
            ("ArnNotLike", ALLOW),
            ("ArnNotEquals", ALLOW),
            ("NumericNotEquals", ALLOW),
            ("DateNotEquals", ALLOW),
            ("NotIpAddress", ALLOW),
            ("StringEqualsIfExists", ALLOW),
            ("ArnLikeIfExists", ALLOW),
            ("NumericLessThanIfExists", ALLOW),
            ("BoolIfExists", ALLOW),
        ],
    )
    def test_missing_key(self, operator, expected):
        value = {
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/*",
            "Num": "1",
            "Dat": "2024-01-01T00:00:00Z",
            "Boo": "true",
            "IpA": "10.0.0.0/8",
            "Not": "10.0.0.0/8",
        }.get(operator[:3], "x")
        document = policy(allow("sagemaker:*", "*", Condition={operator: {"test:Missing": value}}))
        assert evaluate([document], req()) is expected

    def test_if_exists_checks_a_present_key(self):
        document = policy(allow("sagemaker:*", "*", Condition={"StringEqualsIfExists": {"aws:RequestTag/env": "dev"}}))
        assert evaluate([document], ctx_req({"aws:RequestTag/env": "dev"})) is ALLOW
        assert evaluate([document], ctx_req({"aws:RequestTag/env": "prod"})) is IMPLICIT
        assert evaluate([document], req()) is ALLOW

    def test_null_denies_create_without_request_tag(self):
        # Documented pattern: require a tag on create -- Deny when aws:RequestTag/env is null.
        document = policy(
            allow("sagemaker:*"),
            deny("sagemaker:CreateModelPackageGroup", Condition={"Null": {"aws:RequestTag/env": "true"}}),
        )
        assert evaluate([document], req()) is EXPLICIT
        assert evaluate([document], ctx_req({"aws:RequestTag/env": "dev"})) is ALLOW

    def test_null_false_requires_presence(self):
        document = policy(allow("sagemaker:*", "*", Condition={"Null": {"aws:TagKeys": "false"}}))
        assert evaluate([document], ctx_req({"aws:TagKeys": ["env"]})) is ALLOW
        assert evaluate([document], req()) is IMPLICIT
        assert evaluate([document], ctx_req({"aws:TagKeys": []})) is IMPLICIT  # empty counts as absent

    def test_null_accepts_json_booleans(self):
        document = policy(allow("sagemaker:*", "*", Condition={"Null": {"aws:RequestTag/env": True}}))
        assert evaluate([document], req()) is ALLOW


class TestSetOperators:
    """reference_policies_condition-single-vs-multi-valued-context-keys.html and the
    multivalued context key examples."""

    FOR_ALL = policy(allow("sagemaker:*", "*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}))
    FOR_ANY = policy(allow("sagemaker:*", "*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}))

    @pytest.mark.parametrize(
        "tag_keys,expected",
        [(["a"], ALLOW), (["a", "b"], ALLOW), (["b", "a"], ALLOW), (["a", "c"], IMPLICIT), (["c"], IMPLICIT), ([], ALLOW), (None, ALLOW)],
    )
    def test_for_all_values(self, tag_keys, expected):
        # "The ForAllValues set operator also returns true if there are no context keys in the request."
        context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
        assert evaluate([self.FOR_ALL], ctx_req(context)) is expected

    @pytest.mark.parametrize(
        "tag_keys,expected",
        [(["a"], ALLOW), (["c", "b"], ALLOW), (["c"], IMPLICIT), ([], IMPLICIT), (None, IMPLICIT)],
    )
    def test_for_any_value(self, tag_keys, expected):
        context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
        assert evaluate([self.FOR_ANY], ctx_req(context)) is expected

    def test_for_all_values_deny_with_null_guard(self):
        # Documented: deny tagging with keys outside an allowed prefix set, and use a
        # Null check so that a request without tags is not silently let through.
        document = policy(
            allow("sagemaker:*"),
            deny("sagemaker:AddTags", Condition={"ForAnyValue:StringNotLike": {"aws:TagKeys": ["team*", "env"]}}),
            deny("sagemaker:AddTags", Condition={"Null": {"aws:TagKeys": "true"}}),
        )
        add_tags = "sagemaker:AddTags"
        assert evaluate([document], ctx_req({"aws:TagKeys": ["team-a", "env"]}, add_tags)) is ALLOW
        assert evaluate([document], ctx_req({"aws:TagKeys": ["team-a", "owner"]}, add_tags)) is EXPLICIT
        assert evaluate([document], ctx_req({}, add_tags)) is EXPLICIT

    def test_for_all_values_string_like(self):
        # The documented ForAllValues:StringLike example with "Created*".
        document = policy(allow("sagemaker:*", "*", Condition={"ForAllValues:StringLike": {"aws:TagKeys": "Created*"}}))
        assert evaluate([document], ctx_req({"aws:TagKeys": ["CreatedBy", "CreatedAt"]})) is ALLOW
        assert evaluate([document], ctx_req({"aws:TagKeys": ["CreatedBy", "Owner"]})) is IMPLICIT

    def test_for_all_values_negated(self):
        document = policy(allow("sagemaker:*", "*", Condition={"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}))
        assert evaluate([document], ctx_req({"aws:TagKeys": ["a", "b"]})) is ALLOW
        assert evaluate([document], ctx_req({"aws:TagKeys": ["a", "secret"]})) is IMPLICIT

    def test_for_any_value_if_exists_on_missing_key(self):
        document = policy(allow("sagemaker:*", "*", Condition={"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "a"}}))
        assert evaluate([document], req()) is ALLOW


class TestOperators:
    def check(self, condition: dict, context: dict) -> Decision:
        return evaluate([policy(allow("sagemaker:*", "*", Condition=condition))], ctx_req(context))

    def test_string_like(self):
        condition = {"StringLike": {"aws:RequestTag/project": ["ml-*", "exp-??"]}}
        assert self.check(condition, {"aws:RequestTag/project": "ml-churn"}) is ALLOW
        assert self.check(condition, {"aws:RequestTag/project": "exp-01"}) is ALLOW
        assert self.check(condition, {"aws:RequestTag/project": "exp-001"}) is IMPLICIT
        assert self.check(condition, {"aws:RequestTag/project": "ML-churn"}) is IMPLICIT

    def test_string_not_like(self):
        condition = {"StringNotLike": {"aws:RequestTag/project": "prod-*"}}
        assert self.check(condition, {"aws:RequestTag/project": "dev-1"}) is ALLOW
        assert self.check(condition, {"aws:RequestTag/project": "prod-1"}) is IMPLICIT

    def test_string_equals_treats_star_literally(self):
        condition = {"StringEquals": {"aws:RequestTag/project": "ml-*"}}
        assert self.check(condition, {"aws:RequestTag/project": "ml-churn"}) is IMPLICIT
        assert self.check(condition, {"aws:RequestTag/project": "ml-*"}) is ALLOW

    def test_arn_like(self):
        condition = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ml-*"}}
        assert self.check(condition, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ml-trainer"}) is ALLOW
        assert self.check(condition, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/ml-bob"}) is IMPLICIT
        assert self.check(condition, {"aws:PrincipalArn": "not-an-arn"}) is IMPLICIT

    def test_arn_not_equals(self):
        condition = {"ArnNotEquals": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/p1"}}
        assert self.check(condition, {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/p2"}) is ALLOW
        assert self.check(condition, {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/p1"}) is IMPLICIT

    def test_bool_secure_transport(self):
        # Documented: deny requests not sent over TLS.
        document = policy(allow("sagemaker:*"), deny("*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
        assert evaluate([document], ctx_req({"aws:SecureTransport": False})) is EXPLICIT
        assert evaluate([document], ctx_req({"aws:SecureTransport": True})) is ALLOW
        assert evaluate([document], ctx_req({"aws:SecureTransport": "true"})) is ALLOW
        assert evaluate([document], req()) is ALLOW  # Bool on a missing key is false: no deny

    @pytest.mark.parametrize(
        "operator,value,expected",
        [
            ("NumericLessThanEquals", 10, ALLOW),
            ("NumericLessThanEquals", 11, IMPLICIT),
            ("NumericLessThan", 10, IMPLICIT),
            ("NumericLessThan", 9.5, ALLOW),
            ("NumericEquals", "10", ALLOW),
            ("NumericNotEquals", 10, IMPLICIT),
            ("NumericGreaterThan", 11, ALLOW),
            ("NumericGreaterThanEquals", 10, ALLOW),
            ("NumericGreaterThanEquals", "not-a-number", IMPLICIT),
        ],
    )
    def test_numeric(self, operator, value, expected):
        # Documented: s3:max-keys NumericLessThanEquals 10.
        assert self.check({operator: {"s3:max-keys": "10"}}, {"s3:max-keys": value}) is expected

    @pytest.mark.parametrize(
        "operator,value,expected",
        [
            ("DateLessThan", "2019-06-30T00:00:00Z", ALLOW),
            ("DateLessThan", "2019-07-01T00:00:00Z", IMPLICIT),
            ("DateLessThanEquals", "2019-07-01T00:00:00Z", ALLOW),
            ("DateGreaterThan", "2019-07-01T00:00:01Z", ALLOW),
            ("DateEquals", "2019-07-01T02:00:00+02:00", ALLOW),
            ("DateEquals", 1561939200, ALLOW),  # epoch seconds
            ("DateEquals", "1561939200", ALLOW),
            ("DateNotEquals", "2019-07-01T00:00:00Z", IMPLICIT),
            ("DateGreaterThanEquals", "garbage", IMPLICIT),
        ],
    )
    def test_date(self, operator, value, expected):
        assert self.check({operator: {"aws:TokenIssueTime": "2019-07-01T00:00:00Z"}}, {"aws:TokenIssueTime": value}) is expected

    def test_current_time_is_always_present(self):
        assert self.check({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {}) is ALLOW
        assert self.check({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, {}) is IMPLICIT
        assert self.check({"DateLessThan": {"aws:EpochTime": 1577836800}}, {}) is IMPLICIT

    def test_ip_address(self):
        # Documented: aws:SourceIp 203.0.113.0/24.
        condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
        assert self.check(condition, {"aws:SourceIp": "203.0.113.9"}) is ALLOW
        assert self.check(condition, {"aws:SourceIp": "2001:db8:1234:5678::1"}) is ALLOW
        assert self.check(condition, {"aws:SourceIp": "198.51.100.1"}) is IMPLICIT
        assert self.check({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}) is ALLOW

    def test_binary_equals(self):
        condition = {"BinaryEquals": {"test:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}
        assert self.check(condition, {"test:blob": b"BinaryValueInBase64"}) is ALLOW
        assert self.check(condition, {"test:blob": b"other"}) is IMPLICIT

    def test_pass_role_to_service(self):
        document = policy(
            allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/*", Condition={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
        )
        role = f"arn:aws:iam::{ACCOUNT}:role/exec"
        assert evaluate([document], ctx_req({"iam:PassedToService": "sagemaker.amazonaws.com"}, "iam:PassRole", role)) is ALLOW
        assert evaluate([document], ctx_req({"iam:PassedToService": "ec2.amazonaws.com"}, "iam:PassRole", role)) is IMPLICIT


# --- resource-based policies ---------------------------------------------------------


class TestResourcePolicies:
    def resource_policy(self, principal, effect="Allow", key="Principal") -> dict:
        return policy({"Effect": effect, key: principal, "Action": "sagemaker:DescribeModelPackageGroup", "Resource": GROUP_ARN})

    def ask(self, resource_policy: dict, principal=BOB, identity=()) -> Decision:
        return evaluate(list(identity), req("sagemaker:DescribeModelPackageGroup", GROUP_ARN, principal), [resource_policy])

    @pytest.mark.parametrize(
        "principal,expected",
        [
            ("*", ALLOW),
            ({"AWS": "*"}, ALLOW),
            ({"AWS": BOB}, ALLOW),
            ({"AWS": [ALICE, BOB]}, ALLOW),
            ({"AWS": ACCOUNT}, ALLOW),
            ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ALLOW),
            ({"AWS": ALICE}, IMPLICIT),
            ({"AWS": "999999999999"}, IMPLICIT),
            ({"Service": "sagemaker.amazonaws.com"}, IMPLICIT),
        ],
    )
    def test_principal(self, principal, expected):
        assert self.ask(self.resource_policy(principal)) is expected

    def test_resource_policy_allow_suffices_without_identity_allow(self):
        assert self.ask(self.resource_policy({"AWS": BOB})) is ALLOW

    def test_resource_policy_deny_overrides_identity_allow(self):
        assert self.ask(self.resource_policy({"AWS": BOB}, "Deny"), identity=[policy(allow())]) is EXPLICIT

    def test_not_principal(self):
        document = self.resource_policy({"AWS": ALICE}, "Deny", "NotPrincipal")
        assert self.ask(document, BOB, identity=[policy(allow())]) is EXPLICIT
        assert self.ask(document, ALICE, identity=[policy(allow())]) is ALLOW

    def test_assumed_role_session_matches_its_role(self):
        document = self.resource_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:role/path/Trainer"})
        assert self.ask(document, f"arn:aws:sts::{ACCOUNT}:assumed-role/Trainer/session-1") is ALLOW
        assert self.ask(document, f"arn:aws:sts::{ACCOUNT}:assumed-role/Other/session-1") is IMPLICIT

    def test_service_principal(self):
        assert self.ask(self.resource_policy({"Service": "sagemaker.amazonaws.com"}), "sagemaker.amazonaws.com") is ALLOW

    def test_resource_policy_needs_principal(self):
        with pytest.raises(ValidationException, match="Principal"):
            self.ask(policy(allow("sagemaker:*")))

    def test_identity_policy_must_not_have_principal(self):
        with pytest.raises(ValidationException, match=r"Statement\[0\]\.Principal is not allowed"):
            evaluate([self.resource_policy("*")], req())


# --- explain and access_denied ---------------------------------------------------


class TestExplain:
    def test_labels(self):
        identity = [
            policy({"Sid": "AllowAll", **allow()}, allow("sagemaker:Create*")),
            policy({"Sid": "NoCreate", **deny("sagemaker:CreateModelPackageGroup")}, allow("s3:*")),
        ]
        decision, labels = explain(identity, req())
        assert decision is EXPLICIT
        assert labels == ["identity[1].NoCreate"]

        decision, labels = explain(identity[:1], req())
        assert decision is ALLOW
        assert labels == ["identity[0].AllowAll", "identity[0].Statement[1]"]

        assert explain(identity[:1], req("iam:PassRole", "*"))[0] is ALLOW
        assert explain([], req()) == (IMPLICIT, [])

    def test_resource_labels(self):
        resource = policy({"Sid": "Share", "Effect": "Allow", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"})
        assert explain([], req(), [resource]) == (ALLOW, ["resource[0].Share"])


class TestAccessDenied:
    def test_implicit(self):
        exc = access_denied(BOB, "sagemaker:CreateModel", MODEL_ARN, IMPLICIT)
        assert isinstance(exc, AccessDeniedException)
        assert exc.code == "AccessDeniedException"
        assert exc.status == 400
        assert exc.message == (
            f"User: {BOB} is not authorized to perform: sagemaker:CreateModel on resource: {MODEL_ARN} "
            "because no identity-based policy allows the sagemaker:CreateModel action"
        )

    def test_explicit(self):
        exc = access_denied(BOB, "sagemaker:CreateModel", MODEL_ARN, EXPLICIT)
        assert exc.message == (
            f"User: {BOB} is not authorized to perform: sagemaker:CreateModel on resource: {MODEL_ARN} "
            "with an explicit deny in an identity-based policy"
        )
        assert access_denied(BOB, "a:b", "*", EXPLICIT, policy_type="resource-based").message.endswith(
            "with an explicit deny in a resource-based policy"
        )

    def test_allow_is_not_a_denial(self):
        with pytest.raises(ValueError):
            access_denied(BOB, "sagemaker:CreateModel", MODEL_ARN, ALLOW)


# --- validation --------------------------------------------------------------------


class TestValidation:
    def test_returns_document(self):
        document = policy(allow("sagemaker:*"))
        assert validate_policy(document) == document
        assert validate_policy(json.dumps(document)) == document

    @pytest.mark.parametrize(
        "document,message",
        [
            ("{not json", r"Syntax errors in policy"),
            ("[]", r"must be a JSON object"),
            ({"Version": "2012-10-17"}, r"Statement is required"),
            ({"Version": "2012-10-17", "Statement": []}, r"Statement must be"),
            ({"Version": "2020-01-01", "Statement": [allow()]}, r"Version must be 2012-10-17 or 2008-10-17"),
            ({"Version": "2012-10-17", "Statement": [allow()], "Extra": 1}, r"unknown element 'Extra'"),
            (policy(allow(), {"Effect": "Permit", "Action": "*", "Resource": "*"}), r"Statement\[1\]\.Effect must be Allow or Deny"),
            (policy({"Action": "*", "Resource": "*"}), r"Statement\[0\]\.Effect is required"),
            (policy({"Effect": "Allow", "Resource": "*"}), r"Statement\[0\] must contain exactly one of Action or NotAction"),
            (policy({"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}), r"exactly one of Action or NotAction"),
            (policy({"Effect": "Allow", "Action": "*"}), r"Statement\[0\] must contain Resource or NotResource"),
            (policy({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}), r"both Resource and NotResource"),
            (policy(allow(["sagemaker:*", "CreateModel"])), r"Statement\[0\]\.Action\[1\] 'CreateModel' must be"),
            (policy(allow("sagemaker:*", "my-bucket")), r"Statement\[0\]\.Resource 'my-bucket' must be"),
            (policy(allow(Condition={"StringEqualz": {"a:b": "c"}})), r"unknown condition operator 'StringEqualz'"),
            (policy(allow(Condition={"ForSomeValues:StringEquals": {"a:b": "c"}})), r"unknown condition set operator"),
            (policy(allow(Condition={"NullIfExists": {"a:b": "true"}})), r"Null takes neither"),
            (policy(allow(Condition={"NumericLessThan": {"a:b": "ten"}})), r"'ten' is not a number"),
            (policy(allow(Condition={"DateLessThan": {"a:b": "tomorrow"}})), r"'tomorrow' is not an ISO 8601 date"),
            (policy(allow(Condition={"Bool": {"a:b": "yes"}})), r"must be true or false"),
            (policy(allow(Condition={"IpAddress": {"a:b": "10.0.0.300"}})), r"not an IP address"),
            (policy(allow(Condition={"StringEquals": {"a:b": []}})), r"at least one value"),
            (policy(allow(Condition={"StringEquals": {}})), r"non-empty object of condition keys"),
            (policy(allow(Condition=[])), r"Condition must be a non-empty object"),
            (policy({"Sid": "A", **allow()}, {"Sid": "A", **allow()}), r"Statement\[1\]\.Sid 'A' is not unique"),
            (policy(allow(Unknown=1)), r"Statement\[0\] has unknown element 'Unknown'"),
            (policy(allow(Principal={"AWS": "bob"})), r"Principal\.AWS 'bob' must be"),
            (policy(allow(Principal={"Users": "x"})), r"unknown principal type 'Users'"),
            (policy(allow(Principal="*", NotPrincipal="*")), r"both Principal and NotPrincipal"),
        ],
    )
    def test_errors_name_the_element(self, document, message):
        with pytest.raises(ValidationException, match=message) as info:
            validate_policy(document)
        assert info.value.code == "ValidationException"
        assert info.value.message.startswith("MalformedPolicyDocument: ")

    def test_resource_policy_flag(self):
        resource = policy({"Effect": "Allow", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"})
        assert validate_policy(resource, resource_policy=True)
        with pytest.raises(ValidationException, match="not allowed in an identity-based policy"):
            validate_policy(resource, resource_policy=False)
        with pytest.raises(ValidationException, match="must contain Principal or NotPrincipal"):
            validate_policy(policy(allow()), resource_policy=True)

    def test_trust_policy_without_resource(self):
        trust = policy({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"})
        assert validate_policy(trust)

    def test_accepts_both_versions_and_operators_with_qualifiers(self):
        for version in ("2012-10-17", "2008-10-17"):
            validate_policy(
                policy(
                    allow(
                        Condition={
                            "ForAllValues:StringLikeIfExists": {"aws:TagKeys": ["a*"]},
                            "foranyvalue:stringequals": {"aws:TagKeys": "b"},
                            "DateGreaterThan": {"aws:CurrentTime": "2024-01-01"},
                        }
                    ),
                    version=version,
                )
            )
