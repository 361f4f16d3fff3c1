"""The audit log and the artifact store in Chromium, as an auditor uses them.

An auditor filters the audit log down to what one data scientist was refused,
exports it as CSV (a real download), then browses the artifact store from the
navigation to an evaluation report and a CSV and reads their previews.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from charter.iam.personas import build_policy

from browser_support import assert_accessible, shot, sign_in

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def evidence(console):
    """A bucket with a report and a dataset, a data scientist refused once, and an auditor."""
    bucket = f"evidence-{uuid.uuid4().hex[:6]}"
    s3 = console.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="reports/credit risk/evaluation.json", ContentType="application/json",
                  Body=json.dumps({"auc": 0.8125, "accuracy": 0.79, "threshold": 0.5}).encode())
    rows = "".join(f"{i},{30 + i % 40},{1000 + 37 * i},{'bad' if i % 3 == 0 else 'good'}\n" for i in range(80))
    s3.put_object(Bucket=bucket, Key="data/train.csv", ContentType="text/csv",
                  Body=("id,age,amount,label\n" + rows).encode())
    # Users made through IAM (no CLI process): the auditor with the auditor persona's policy.
    scientist = console.make_user(None, {"Effect": "Allow", "Action": "sagemaker:List*", "Resource": "*"})
    key = console.client("iam").create_access_key(UserName=scientist)["AccessKey"]
    as_scientist = console.server.client(key["AccessKeyId"], key["SecretAccessKey"], service="iam")
    with pytest.raises(ClientError):
        as_scientist.list_users()  # refused: this user administers no one
    auditor = console.make_user(None, *build_policy("auditor", account=ACCOUNT)["Statement"])
    return {"bucket": bucket, "scientist": scientist, "auditor": auditor}


def test_filter_the_audit_log_and_export_it(page, console, evidence):
    sign_in(page, console, evidence["auditor"])
    page.get_by_role("link", name="Audit log").first.click()
    page.wait_for_url("**/console/audit-log")
    assert page.get_by_role("heading", name="Audit log", level=1).is_visible()

    page.get_by_label("User").fill(evidence["scientist"])
    page.get_by_label("Outcome").select_option("Denied")
    deadline = time.monotonic() + 10
    while True:  # the refusal reaches the log within a second
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**/audit-log?*outcome=Denied*")
        if page.locator("table.audit tbody tr").count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 1
    assert "ListUsers" in rows.first.inner_text() and "AccessDenied" in rows.first.inner_text()
    assert rows.first.locator(".badge").inner_text() == "Denied"
    assert_accessible(page)
    shot(page, "audit-log-filtered")

    with page.expect_download() as caught:
        page.get_by_role("link", name="Export CSV").click()
    download = caught.value
    assert download.suggested_filename.startswith("charter-audit-log-") and download.suggested_filename.endswith(".csv")
    table = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8"), newline="")))
    assert table[0][0] == "time" and len(table) == 2
    assert table[1][table[0].index("operation")] == "ListUsers"

    # Nothing matches: an empty state that says so, not an empty table.
    page.get_by_label("Operation").fill("NoSuchOperation")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**operation=NoSuchOperation*")
    assert page.get_by_role("heading", name="No events match").is_visible()
    assert not page.problems, page.problems


def test_browse_to_an_object_and_preview_it(page, console, evidence):
    bucket = evidence["bucket"]
    sign_in(page, console, evidence["auditor"])
    page.get_by_role("link", name="Artifacts").first.click()
    page.wait_for_url("**/console/artifacts")
    assert_accessible(page)
    page.get_by_role("link", name=bucket).click()
    page.wait_for_url(f"**/console/artifacts/{bucket}")
    page.get_by_role("link", name="reports/").click()
    page.get_by_role("link", name="credit risk/").click()
    page.wait_for_url("**/reports/credit%20risk/")
    assert_accessible(page)  # a folder
    shot(page, "artifacts-folder")
    page.get_by_role("link", name="evaluation.json", exact=True).click()
    page.wait_for_url("**/evaluation.json")
    preview = page.locator("pre.artifact-text")
    assert '"auc": 0.8125' in preview.inner_text()
    assert page.get_by_text(f"s3://{bucket}/reports/credit risk/evaluation.json").is_visible()
    assert_accessible(page)
    shot(page, "artifacts-json-preview")

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download", exact=True).click()
    assert json.loads(caught.value.path().read_bytes())["auc"] == 0.8125

    page.get_by_role("link", name=bucket).click()  # the breadcrumb
    page.get_by_role("link", name="data/").click()
    page.get_by_role("link", name="train.csv", exact=True).click()
    page.wait_for_url("**/data/train.csv")
    table = page.locator(".artifact-csv table")
    assert table.locator("thead th").all_inner_texts() == ["id", "age", "amount", "label"]
    assert table.locator("tbody tr").count() == 50
    assert_accessible(page)
    shot(page, "artifacts-csv-preview")
    assert not page.problems, page.problems


def test_narrow_screen(browser, console, evidence):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    narrow = context.new_page()
    try:
        sign_in(narrow, console, evidence["auditor"])
        for path, name in ((f"/artifacts/{evidence['bucket']}/data/train.csv", "artifacts-390px-dark"),
                           (f"/artifacts/{evidence['bucket']}/data/", "artifacts-folder-390px-dark"),
                           ("/audit-log", "audit-log-390px-dark")):
            narrow.goto(console.url + path)
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways at 390 px ({width} px wide)"
            shot(narrow, name)  # the same pages as above, whose accessibility is checked there
    finally:
        context.close()
