"""The Model Dashboard page through a real server: rows, search, filters, sort, pages, empty states, access.

The registry is made with boto3 as a team would make it; the dashboard is read
as a person's browser reads it (``Browser`` from the console frame's tests, no
JavaScript: the htmx fragment is asked for with the header htmx sends).
"""

from __future__ import annotations

import html
import json
import re

import pytest

from conftest import start_server, stop_server
from jobs_support import SKLEARN_IMAGE, execution_role
from test_console_frame import Browser, make_user

PAGE = "/console/model-dashboard"
ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
SPEC = {"Containers": [{"Image": SKLEARN_IMAGE}], "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("dashboard-home"), database_url_factory())
    yield started
    stop_server(started)


@pytest.fixture(scope="module")
def admin(server):
    """A browser signed in as a user allowed everything."""
    browser = Browser(server.endpoint)
    assert browser.sign_in(make_user(server.client(service="iam"), ADMIN)).status_code == 303
    return browser


def card(sm, name: str, status: str, risk: str, **content) -> None:
    sm.create_model_card(ModelCardName=name, ModelCardStatus=status,
                         Content=json.dumps({"intended_uses": {"risk_rating": risk}, **content}))


@pytest.fixture(scope="module")
def registry(server, admin):
    """Three groups (versions in every approval state, one with none), a model, and their cards."""
    sm = server.client()
    sm.create_model_package_group(ModelPackageGroupName="credit-risk", ModelPackageGroupDescription="Who repays")
    credit = [sm.create_model_package(ModelPackageGroupName="credit-risk", InferenceSpecification=SPEC,
                                      ModelApprovalStatus=status)["ModelPackageArn"]
              for status in ("Rejected", "Approved", "PendingManualApproval")]
    sm.create_model_package_group(ModelPackageGroupName="Customer-Churn")
    churn = sm.create_model_package(ModelPackageGroupName="Customer-Churn", InferenceSpecification=SPEC,
                                    ModelApprovalStatus="Approved")["ModelPackageArn"]
    sm.create_model_package_group(ModelPackageGroupName="fraud-scores")
    # Cards name the version they document; the group shows the card of its newest documented version.
    card(sm, "credit-risk-v1", "Archived", "Low", model_package_details={"model_package_arn": credit[0]})
    card(sm, "credit-risk-v2", "Approved", "High", model_package_details={"model_package_arn": credit[1]})
    card(sm, "churn-card", "Draft", "Medium", model_package_details={"model_package_arn": churn})
    s3 = server.client(service="s3")
    s3.create_bucket(Bucket="dashboard-models")
    s3.put_object(Bucket="dashboard-models", Key="churn/model.tar.gz", Body=b"weights")
    model = sm.create_model(ModelName="churn-scorer", ExecutionRoleArn=execution_role(server, "DashboardRole"),
                            PrimaryContainer={"Image": SKLEARN_IMAGE,
                                              "ModelDataUrl": "s3://dashboard-models/churn/model.tar.gz"})
    card(sm, "scorer-card", "PendingReview", "Low", model_overview={"model_id": model["ModelArn"]})
    return {"credit": credit, "churn": churn, "sm": sm}


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def rows_of(page: str) -> list[dict]:
    """The dashboard table's rows as {column header: cell text}."""
    table = re.search(r'<table class="data md-table">(.*?)</table>', page, re.S)
    if table is None:
        return []
    headers = [text_of(h).split(" (sort")[0] for h in re.findall(r"<th[^>]*>(.*?)</th>", table[1], re.S)]
    body = re.search(r"<tbody>(.*?)</tbody>", table[1], re.S)[1]
    return [dict(zip(headers, (text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))))
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def names(browser: Browser, query: str = "") -> list[str]:
    answer = browser.get(PAGE + query)
    assert answer.status_code == 200, answer.text
    return [row["Name"].split(" Model")[0] for row in rows_of(answer.text)]


def test_an_empty_account_says_how_to_register_a_model(admin):
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert "<h1>Model Dashboard</h1>" in page.text and "Coming to the console" not in page.text
    empty = text_of(re.search(r'<div class="empty" role="status">(.*?)</div>', page.text, re.S)[1])
    assert "No models yet" in empty and "aws sagemaker create-model-package-group" in empty


def test_every_group_and_model_with_its_newest_version_approval_and_card(admin, registry):
    rows = {row["Name"].split(" Model")[0]: row for row in rows_of(admin.get(PAGE + "?sort=name").text)}
    assert list(rows) == ["churn-scorer", "credit-risk", "Customer-Churn", "fraud-scores"]  # case aside
    credit = rows["credit-risk"]
    assert credit["Name"] == "credit-risk Model group Who repays"
    assert credit["Newest version"] == "3 of 3" and credit["Approval"] == "Pending approval"
    # v1's card is archived; v2 is the newest version that has a card: High, Approved.
    assert credit["Risk"] == "High" and credit["Model card"] == "credit-risk-v2 Approved (version 2)"
    assert rows["Customer-Churn"]["Approval"] == "Approved"
    assert rows["Customer-Churn"]["Model card"] == "churn-card Draft"
    fraud = rows["fraud-scores"]
    assert (fraud["Newest version"], fraud["Approval"], fraud["Risk"], fraud["Model card"]) == (
        "No versions yet", "—", "—", "No model card")
    scorer = rows["churn-scorer"]
    assert scorer["Name"] == "churn-scorer Model" and scorer["Newest version"] == "Not versioned"
    assert (scorer["Risk"], scorer["Model card"]) == ("Low", "scorer-card PendingReview")
    for row in rows.values():  # filled in when endpoints and monitoring arrive
        assert (row["Deployed"], row["Monitors"]) == ("No endpoints yet", "No monitors yet")
    page = admin.get(PAGE).text
    assert 'href="/console/model-registry/credit-risk"' in page and 'href="/console/model-cards/credit-risk-v2"' in page


def test_search_filters_and_sort(admin, registry):
    assert names(admin, "?q=CHURN&sort=name") == ["churn-scorer", "Customer-Churn"]  # case-insensitive
    assert names(admin, "?q=%25") == []  # a LIKE wildcard is a plain character
    assert names(admin, "?approval=Approved") == ["Customer-Churn"]
    assert names(admin, "?approval=PendingManualApproval") == ["credit-risk"]
    assert names(admin, "?approval=none&kind=group") == ["fraud-scores"]
    assert names(admin, "?risk=High") == ["credit-risk"]
    assert names(admin, "?risk=none") == ["fraud-scores"]
    assert names(admin, "?card=PendingReview") == ["churn-scorer"]
    assert names(admin, "?card=Draft&q=churn") == ["Customer-Churn"]
    assert names(admin, "?kind=model") == ["churn-scorer"]
    # Risk, highest first; rows without a card last whichever the direction.
    assert names(admin, "?sort=risk&order=desc") == ["credit-risk", "Customer-Churn", "churn-scorer", "fraud-scores"]
    assert names(admin, "?sort=risk&order=asc") == ["churn-scorer", "Customer-Churn", "credit-risk", "fraud-scores"]
    assert names(admin, "?sort=approval&order=asc&kind=group") == ["Customer-Churn", "credit-risk", "fraud-scores"]
    assert names(admin, "?sort=name&order=desc") == ["fraud-scores", "Customer-Churn", "credit-risk", "churn-scorer"]

    page = admin.get(PAGE + "?sort=name&q=c").text
    assert re.search(r'<th scope="col" aria-sort="ascending">\s*<a href="/console/model-dashboard\?q=c&amp;sort=name'
                     r'&amp;order=desc"', page)  # the current column sorts the other way next, the search kept
    assert '<option value="Approved" selected>' not in page
    assert 'name="q" value="c"' in page

    nothing = admin.get(PAGE + "?q=no-such-model&risk=High").text
    assert "No models match" in nothing and "the search “no-such-model” and the filters chosen" in nothing
    assert "No models yet" not in nothing

    # The fragment htmx asks for: the results region alone, the filters in the URL it pushes.
    fragment = admin.get(PAGE + "?q=churn", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "<form" not in fragment.text
    assert {r["Name"].split(" Model")[0] for r in rows_of(fragment.text)} == {"churn-scorer", "Customer-Churn"}
    assert fragment.headers["vary"] == "HX-Request"

    refused = admin.get(PAGE + "?risk=Severe")
    assert refused.status_code == 400 and "risk rating &#39;Severe&#39;" in refused.text
    assert "High, Medium, Low, Unknown" in refused.text


def test_changes_show_at_once(admin, registry):
    sm = registry["sm"]
    sm.update_model_package(ModelPackageArn=registry["credit"][2], ModelApprovalStatus="Approved")
    assert names(admin, "?approval=Approved&sort=name") == ["credit-risk", "Customer-Churn"]
    sm.update_model_card(ModelCardName="churn-card", Content=json.dumps({
        "intended_uses": {"risk_rating": "High"}, "model_package_details": {"model_package_arn": registry["churn"]}}))
    assert names(admin, "?risk=High&sort=name") == ["credit-risk", "Customer-Churn"]
    assert names(admin)[0] == "credit-risk"  # the newest change first: its version approved just now
    sm.delete_model_card(ModelCardName="churn-card")
    assert names(admin, "?card=none&sort=name") == ["Customer-Churn", "fraud-scores"]


def test_pages_of_25(admin, server, registry):
    sm = server.client()
    for number in range(27):
        sm.create_model_package_group(ModelPackageGroupName=f"paged-{number:02d}")
    first = admin.get(PAGE + "?q=paged-&sort=name").text
    assert [r["Name"].split(" Model")[0] for r in rows_of(first)] == [f"paged-{n:02d}" for n in range(25)]
    assert "Showing 1–25 of 27 models that match." in text_of(first)
    assert 'href="/console/model-dashboard?q=paged-&amp;sort=name&amp;page=2"' in first and 'rel="prev"' not in first
    second = admin.get(PAGE + "?q=paged-&sort=name&page=2").text
    assert [r["Name"].split(" Model")[0] for r in rows_of(second)] == ["paged-25", "paged-26"]
    assert 'href="/console/model-dashboard?q=paged-&amp;sort=name" hx-get' in second and 'rel="next"' not in second
    # A page past the end (rows deleted since) shows the last one.
    assert "Showing 26–27 of 27" in text_of(admin.get(PAGE + "?q=paged-&sort=name&page=9").text)
    assert admin.get(PAGE + "?page=0").status_code == 400


def test_access_decides_the_page_and_its_columns(server, registry):
    iam = server.client(service="iam")
    nobody = Browser(server.endpoint)
    nobody.sign_in(make_user(iam, {"Effect": "Allow", "Action": "sagemaker:ListModelCards", "Resource": "*"}))
    denied = nobody.get(PAGE)
    assert denied.status_code == 403 and "sagemaker:ListModelPackageGroups" in denied.text

    # Groups alone: no models, no versions, no cards, and the page says what would show them.
    narrow = Browser(server.endpoint)
    narrow.sign_in(make_user(iam, {"Effect": "Allow", "Action": "sagemaker:ListModelPackageGroups", "Resource": "*"}))
    page = narrow.get(PAGE + "?sort=name&risk=High&q=r")
    assert page.status_code == 200
    rows = rows_of(page.text)
    assert [r["Name"].split(" Model")[0] for r in rows] == ["credit-risk", "Customer-Churn", "fraud-scores"]
    assert set(rows[0]) == {"Name", "Deployed", "Monitors", "Last modified"}
    hint = text_of(page.text)
    for permission in ("sagemaker:ListModels", "sagemaker:ListModelPackages", "sagemaker:ListModelCards"):
        assert permission in hint


def test_migration_0010_fills_the_columns_of_existing_rows_and_goes_back(database_url_factory):
    """Rows stored before the dashboard's columns existed get them; downgrading keeps every row and tag."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from charter.store import db

    engine = db.make_engine(database_url_factory())

    def migrate(step, revision: str) -> None:
        config = Config()
        config.set_main_option("script_location", str(db.MIGRATIONS))
        with db.transaction(engine) as conn:
            config.attributes["connection"] = conn
            step(config, revision)

    scope = "arn:aws:sagemaker:us-east-1:123456789012"
    content = {"intended_uses": {"risk_rating": "High"},
               "model_package_details": {"model_package_arn": f"{scope}:model-package/credit/2"}}
    migrate(command.upgrade, "0009")
    with db.transaction(engine) as conn:
        insert = sa.text("INSERT INTO resources (arn, account, region, resource_type, name, parent, version, "
                         "created_at, modified_at, document) VALUES (:arn, '123456789012', 'us-east-1', :type, "
                         ":name, :parent, :version, 1, 1, :document)")
        conn.execute(insert, [
            dict(arn=f"{scope}:model-package/credit/2", type="model-package", name="credit", version=2,
                 parent=f"{scope}:model-package-group/credit", document=json.dumps({"ModelApprovalStatus": "Approved"})),
            dict(arn=f"{scope}:model-card/credit-card", type="model-card", name="credit-card", version=None,
                 parent=None, document=json.dumps({"Content": json.dumps(content)})),
            dict(arn=f"{scope}:model-card/scorer-card", type="model-card", name="scorer-card", version=None,
                 parent=None, document=json.dumps({"Content": json.dumps({"model_overview": {"model_id": "Scorer"}})})),
        ])
        conn.execute(sa.text("INSERT INTO tags (resource_id, key, value) SELECT id, 'team', 'risk' FROM resources"))
    migrate(command.upgrade, "head")
    columns = "SELECT name, approval, risk, subject, subject_version FROM resources ORDER BY name"
    filled = [
        ("credit", "Approved", None, None, None),
        ("credit-card", None, "High", f"{scope}:model-package-group/credit", 2),
        ("scorer-card", None, None, f"{scope}:model/scorer", None),
    ]
    with engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(sa.text(columns))] == filled
    migrate(command.downgrade, "0009")
    with engine.connect() as conn:
        assert "approval" not in {c["name"] for c in sa.inspect(conn).get_columns("resources")}
        assert conn.execute(sa.text("SELECT count(*) FROM tags")).scalar_one() == 3  # no cascade emptied it
    migrate(command.upgrade, "head")
    with engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(sa.text(columns))] == filled
    engine.dispose()
