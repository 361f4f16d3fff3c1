"""Role Manager in the console: identities with their personas, the wizard, keys shown once, permissions explained.

A browser is an ``httpx.Client`` with cookies (test_console_frame's ``Browser``)
against a real server; what the wizard creates is checked with boto3, as the new
user's own code would use it.
"""

from __future__ import annotations

import json
import re
import uuid

import botocore.exceptions
import pytest
from conftest import start_server, stop_server
from test_console_frame import PASSWORD, Browser, audit_rows, csrf_of, make_user

pytestmark = pytest.mark.once(
    "the page's side; the IAM operations it calls are tested on both databases in test_iam_api.py"
)

ADMIN_POLICY = {"Effect": "Allow", "Action": "*", "Resource": "*"}
NEW_PASSWORD = "Wiz4rd-made!"


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("roles-home"), database_url_factory())
    yield started
    stop_server(started)


@pytest.fixture(scope="module")
def iam(server):
    return server.client(service="iam")


@pytest.fixture(scope="module")
def admin(server, iam):
    """A browser signed in as a user allowed everything."""
    name = make_user(iam, ADMIN_POLICY)
    browser = Browser(server.endpoint)
    assert browser.sign_in(name).status_code == 303
    browser.name = name
    return browser


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def persona_user(server, iam, persona: str) -> str:
    """A user made by ``charter iam create-user --persona``, with a console password."""
    name = unique(persona)
    server.cli("iam", "create-user", name, "--persona", persona)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    return name


@pytest.fixture(scope="module")
def scientist(server, iam):
    """A data scientist made by the CLI (its persona is recorded on the principal, not in tags)."""
    return persona_user(server, iam, "data-scientist")


def step(browser: Browser, token: str, **fields) -> tuple[int, str]:
    answer = browser.client.post("/console/role-manager/new", data={"csrf_token": token, **fields})
    return answer.status_code, answer.text


def test_the_list_shows_users_with_their_personas(admin, scientist):
    user = scientist
    users = admin.get("/console/role-manager")
    assert users.status_code == 200
    row = re.search(rf"<tr>\s*<th scope=\"row\"><a href=\"/console/role-manager/user/{user}\">.*?</tr>", users.text, re.DOTALL)
    assert row, users.text
    assert "data-scientist" in row[0] and "run-jobs" in row[0] and "manage-models" in row[0]
    assert "Create user or role" in users.text
    assert "No roles yet" in admin.get("/console/role-manager?show=roles").text  # an empty list says so


def test_the_wizard_creates_a_user_whose_keys_work_and_are_shown_only_once(server, iam, admin):
    s3 = server.client(service="s3")
    bucket = unique("team-data")
    s3.create_bucket(Bucket=bucket)
    name = unique("dana")

    start = admin.get("/console/role-manager/new")
    assert start.status_code == 200 and 'value="data-scientist"' in start.text
    token = csrf_of(start.text)
    status, page = step(admin, token, persona="data-scientist", go="2")
    assert status == 200 and "Step 2" in page
    assert 'name="activity-run-jobs" id="activity-run-jobs" value="on" checked' in page  # the persona's defaults
    assert 'name="activity-approve-models" id="activity-approve-models" value="on" aria' in page  # not a default

    # Step 2 -> 3 without tagging; 3 -> 4 without a bucket is refused, in words.
    chosen = ["run-jobs", "manage-models", "manage-experiments", "run-pipelines", "search-discover", "artifact-access"]
    state = {"persona": "data-scientist", "activities_for": "data-scientist", **{f"activity-{a}": "on" for a in chosen}}
    status, page = step(admin, token, **state, go="3")
    assert status == 200 and "Step 3" in page
    status, page = step(admin, token, **state, scopes="", go="4")
    assert status == 400 and "grants nothing without a bucket" in page and "Step 3" in page
    status, page = step(admin, token, **state, scopes="Not A Bucket", go="4")
    assert status == 400 and "is not an S3 bucket name" in page

    # Back from 3 to 2 keeps what was ticked.
    status, page = step(admin, token, **state, scopes=f"{bucket}/datasets/", go="2")
    assert 'id="activity-tagging" value="on" aria' in page and 'id="activity-run-jobs" value="on" checked' in page

    status, page = step(admin, token, **state, scopes=f"{bucket}/datasets/", go="4")
    assert status == 200 and "Step 4" in page
    assert f"arn:aws:s3:::{bucket}/datasets/*" in page and "ArtifactAccessListPrefixes1" in page
    assert '"sagemaker:UpdateModelPackage"' not in page and '"sagemaker:AddTags"' not in page  # no approve, no tagging

    status, page = step(admin, token, **state, scopes=f"{bucket}/datasets/", kind="user", name=name,
                        password=NEW_PASSWORD, access_key="on", shown_access_key="1", go="create")
    assert status == 200, text_of(page)
    key_id = re.search(r'id="access-key-id">([A-Z0-9]+)<', page)[1]
    secret = re.search(r'id="secret-access-key">([^<]+)<', page)[1]
    assert "This is the only time the secret access key is shown" in page

    # The user's keys work with boto3, within the persona and the prefix, and nowhere else.
    sm = server.client(key_id, secret)
    assert "TrainingJobSummaries" in sm.list_training_jobs()
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.update_model_package(ModelPackageArn="arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
                                ModelApprovalStatus="Approved")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    own_s3 = server.client(key_id, secret, service="s3")
    own_s3.put_object(Bucket=bucket, Key="datasets/train.csv", Body=b"a,b\n1,2\n")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        own_s3.put_object(Bucket=bucket, Key="elsewhere/x.csv", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # Listing is allowed under the prefix only (s3:ListBucket's s3:prefix condition key).
    listed = own_s3.list_objects_v2(Bucket=bucket, Prefix="datasets/")
    assert [o["Key"] for o in listed["Contents"]] == ["datasets/train.csv"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        own_s3.list_objects_v2(Bucket=bucket, Prefix="elsewhere/")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # The IAM API shows what was made: the persona as tags, the policy attached.
    tags = {t["Key"]: t["Value"] for t in iam.get_user(UserName=name)["User"]["Tags"]}
    assert tags["charter:persona"] == "data-scientist" and set(tags["charter:activities"].split()) == set(chosen)
    attached = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [f"charter-persona-user-{name}"]

    # The secret is never shown again: not on the identity's page, not on a reload of the wizard, not on a re-post.
    assert secret not in admin.get(f"/console/role-manager/user/{name}").text
    assert secret not in admin.get("/console/role-manager/new").text
    status, page = step(admin, token, **state, scopes=f"{bucket}/datasets/", kind="user", name=name,
                        password=NEW_PASSWORD, access_key="on", shown_access_key="1", go="create")
    assert status == 409 and f"A user named {name} already exists" in page and secret not in page

    # The new user signs in with the password the wizard set.
    assert Browser(server.endpoint).sign_in(name, NEW_PASSWORD).status_code == 303

    # Each step was the IAM API's, audited as the administrator from the console.
    operations = {row["operation"] for row in audit_rows(server, admin.name, 1)}
    assert {"CreateUser", "CreatePolicy", "AttachUserPolicy", "CreateLoginProfile", "CreateAccessKey"} <= operations


def test_the_wizard_makes_a_role_that_sagemaker_may_assume(server, iam, admin):
    name = unique("exec-role")
    token = admin.token("/console/role-manager/new")
    state = {"persona": "compute", "activities_for": "compute", "activity-compute-runtime": "on"}
    status, page = step(admin, token, **state, kind="role", name=name, shown_access_key="1", go="create")
    assert status == 200, text_of(page)
    assert "secret-access-key" not in page  # a role has no keys of its own here
    role = iam.get_role(RoleName=name)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]] == [
        f"charter-persona-role-{name}"]
    listed = admin.get("/console/role-manager?show=roles").text
    assert re.search(rf"{name}</a></th>\s*<td><span class=\"rm-persona\">compute</span> <span class=\"tag\">"
                     r"\(activities changed\)", listed)


def test_people_without_iam_permissions_are_refused(server, iam, scientist):
    browser = Browser(server.endpoint)
    assert browser.sign_in(scientist).status_code == 303
    assert browser.get("/console/role-manager").status_code == 403
    token = browser.token("/console/")
    answer = browser.post("/console/role-manager/new", {"persona": "admin", "activities_for": "admin",
                                                          "activity-admin": "on", "kind": "user",
                                                          "name": unique("sneaky"), "go": "create"}, token)
    assert answer.status_code == 403

    # A reader of IAM sees the list but is offered no Create, and is refused if it posts anyway.
    reader = Browser(server.endpoint)
    reader_name = make_user(iam, {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*"], "Resource": "*"})
    assert reader.sign_in(reader_name).status_code == 303
    listed = reader.get("/console/role-manager")
    assert listed.status_code == 200 and "Create user or role" not in listed.text
    wanted = unique("sneaky")
    answer = reader.post("/console/role-manager/new", {"persona": "admin", "activities_for": "admin",
                                                       "activity-admin": "on", "kind": "user", "name": wanted,
                                                       "shown_access_key": "1", "go": "create"},
                         csrf_of(listed.text))
    assert answer.status_code == 403 and "iam:CreateUser" in text_of(answer.text)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName=wanted)


def test_a_post_without_the_csrf_token_creates_nothing(server, iam, admin):
    wanted = unique("forged")
    answer = admin.post("/console/role-manager/new", {"persona": "admin", "activities_for": "admin",
                                                      "activity-admin": "on", "kind": "user", "name": wanted,
                                                      "go": "create"}, token="forged")
    assert answer.status_code == 403 and "This form could not be accepted" in answer.text
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName=wanted)


def test_the_effective_policy_explains_allowed_and_denied_actions(server, iam, admin, scientist):
    user = scientist
    deny = iam.create_policy(PolicyName=f"{user}-no-pipelines", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoPipelines", "Effect": "Deny", "Action": "sagemaker:StartPipelineExecution",
                       "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=deny)
    persona_policy = f"charter-persona-user-{user}"

    page = admin.get(f"/console/role-manager/user/{user}")
    assert page.status_code == 200
    rows = {m[1].strip(): text_of(m[2]) for m in re.finditer(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page.text, re.DOTALL)}
    assert "Allowed" in rows["Start a training job"]
    assert f"Allowed by statement RunJobs of policy {persona_policy}" in rows["Start a training job"]
    assert "Denied: no statement of the attached policies allows it" in rows["Approve or reject a model version"]
    assert f"Denied explicitly by statement NoPipelines of policy {user}-no-pipelines" in rows["Run a pipeline"]
    assert "In full" in text_of(page.text.split('<code>run-jobs</code>', 1)[1].split("</tr>", 1)[0])

    asked = admin.get(f"/console/role-manager/user/{user}", params={
        "action": "sagemaker:UpdateModelPackage",
        "resource": "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3"})
    answer = text_of(re.search(r'<p class="rm-answer".*?</p>', asked.text, re.DOTALL)[0])
    assert "Denied" in answer and "no statement of the attached policies allows it" in answer
    asked = admin.get(f"/console/role-manager/user/{user}", params={"action": "iam:PassRole",
                                                                    "resource": "arn:aws:iam::123456789012:role/x"})
    answer = text_of(re.search(r'<p class="rm-answer".*?</p>', asked.text, re.DOTALL)[0])
    assert "Allowed by statement RunJobsPassRole" in answer
    bad = admin.get(f"/console/role-manager/user/{user}", params={"action": "train please"})
    assert "is not an IAM action" in bad.text

    assert admin.get("/console/role-manager/user/nobody-at-all").status_code == 404

