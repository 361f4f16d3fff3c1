"""The audit log in the console, as an auditor reads it: filters, pages, CSV export, and who may open it.

One server for the module.  A data scientist (the "actor") makes API calls that
succeed, fail and are refused, and signs in to the console; an auditor (the
read-only persona, which may ``cloudtrail:LookupEvents``) reads them back
through ``/console/audit-log`` and ``/console/audit-log.csv``.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import time
import uuid

import httpx
import pytest
from botocore.exceptions import ClientError

from charter.iam.personas import build_policy
from conftest import start_server, stop_server
from test_console_frame import PASSWORD, Browser

ACCOUNT = "123456789012"
LISTS = 12  # the actor's ListModelPackageGroups calls: more than one page of 10


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url_factory):
    started = start_server(tmp_path_factory.mktemp("console-audit"), database_url_factory())
    yield started
    stop_server(started)


def person(server, persona: str):
    """A user of ``persona`` (its Role Manager policy) with a console password; (name, its keys)."""
    name = f"{persona}-{uuid.uuid4().hex[:6]}"
    iam = server.client(service="iam")
    iam.create_user(UserName=name)
    document = build_policy(persona, account=ACCOUNT, username=name)
    arn = iam.create_policy(PolicyName=f"{name}-persona", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    iam.create_login_profile(UserName=name, Password=PASSWORD)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="module")
def story(server):
    """What the actor did, once all of it is in the log; and an auditor's browser, signed in."""
    started = time.time()
    actor, keys = person(server, "data-scientist")
    sm = server.client(*keys)
    group = f"Audited-Group-{uuid.uuid4().hex[:6]}"
    sm.create_model_package_group(ModelPackageGroupName=group)
    with pytest.raises(ClientError):
        sm.describe_model_package_group(ModelPackageGroupName=f"missing-{uuid.uuid4().hex[:6]}")
    iam = server.client(*keys, service="iam")
    with pytest.raises(ClientError):
        iam.list_users()  # a data scientist may not: Denied
    for _ in range(LISTS):
        sm.list_model_package_groups(MaxResults=1)
    # A console sign-in from a browser whose User-Agent a spreadsheet would run as a formula.
    hostile = Browser(server.endpoint)
    hostile.client.headers["User-Agent"] = "=HYPERLINK(\"http://evil.example\",\"x\")"
    assert hostile.sign_in(actor).status_code == 303

    auditor_name, _ = person(server, "auditor")
    auditor = Browser(server.endpoint)
    assert auditor.sign_in(auditor_name).status_code == 303
    want = 3 + LISTS + 1  # create, describe, list-users, the lists, the sign-in
    deadline = time.monotonic() + 15
    while len(all_rows(auditor, user=actor)) < want and time.monotonic() < deadline:
        time.sleep(0.3)
    return {"actor": actor, "group": group, "auditor": auditor, "started": started}


def rows_of(page: str) -> list[dict]:
    """The audit table's rows: time, user, operation, resource, outcome, source and its IP, error, request id."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    if not body:
        return []
    out = []
    for row in re.findall(r"<tr>(.*?)</tr>", body[1], re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()
                 for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out.append({
            "time": " ".join(cells[0]), "user": " ".join(cells[1]), "operation": " ".join(cells[2]),
            "resource": " ".join(cells[3]), "outcome": " ".join(cells[4]), "source": cells[5][0], "ip": cells[5][-1],
            "error": " ".join(cells[6]), "request_id": " ".join(cells[7]),
        })
    return out


def next_of(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(found[1]) if found else None


def all_rows(browser: Browser, **filters) -> list[dict]:
    rows, url = [], "/console/audit-log?" + httpx.QueryParams({**filters, "size": 200}).__str__()
    while url:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        rows += rows_of(page.text)
        url = next_of(page.text)
    return rows


def test_each_filter_narrows_the_rows(story):
    auditor, actor, group = story["auditor"], story["actor"], story["group"]
    everything = auditor.get("/console/audit-log")
    assert everything.status_code == 200
    assert "<h1>Audit log</h1>" in everything.text
    assert {row["user"] for row in rows_of(everything.text)} > {actor}  # the auditor's own rows are there too

    mine = all_rows(auditor, user=actor)
    assert {row["user"] for row in mine} == {actor}
    assert len(mine) == 3 + LISTS + 1
    times = [row["time"] for row in mine]
    assert times == sorted(times, reverse=True)  # newest first

    created = all_rows(auditor, user=actor, operation="CreateModelPackageGroup")
    assert [(r["operation"], r["outcome"], r["source"]) for r in created] == [
        ("CreateModelPackageGroup", "Success", "API")]
    assert created[0]["resource"].endswith(f":model-package-group/{group.lower()}")  # SageMaker's ARNs are lower-case

    by_resource = all_rows(auditor, resource=group[3:].upper())  # part of the ARN, in any case
    assert [r["operation"] for r in by_resource] == ["CreateModelPackageGroup"]

    denied = all_rows(auditor, user=actor, outcome="Denied")
    assert [r["operation"] for r in denied] == ["ListUsers"]
    assert "AccessDenied" in denied[0]["error"] and "iam:ListUsers" in denied[0]["error"]
    failed = all_rows(auditor, user=actor, outcome="Failed")
    assert [r["operation"] for r in failed] == ["DescribeModelPackageGroup"]

    console = all_rows(auditor, user=actor, source="console")
    assert [(r["operation"], r["source"], r["ip"]) for r in console] == [("ConsoleLogin", "Console", "127.0.0.1")]
    assert len(all_rows(auditor, user=actor, source="api")) == 3 + LISTS

    # The time range: from the minute the story began; to a minute before it; from tomorrow.
    minute = dt.datetime.fromtimestamp(story["started"], dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")
    before = dt.datetime.fromtimestamp(story["started"] - 120, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")
    assert len(all_rows(auditor, user=actor, **{"from": minute})) == len(mine)
    assert all_rows(auditor, user=actor, to=before) == []
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    empty = auditor.get("/console/audit-log", params={"user": actor, "from": tomorrow})
    assert empty.status_code == 200 and "No events match" in empty.text

    bad = auditor.get("/console/audit-log", params={"from": "yesterday"})
    assert bad.status_code == 400 and "is not a date and time" in bad.text


def test_pages_follow_one_another_without_gaps(story):
    auditor, actor = story["auditor"], story["actor"]
    query = {"user": actor, "operation": "ListModelPackageGroups", "size": 10}
    first = auditor.get("/console/audit-log", params=query)
    page_one = rows_of(first.text)
    assert len(page_one) == 10 and 'rel="prev"' not in first.text
    second = auditor.get(next_of(first.text))
    page_two = rows_of(second.text)
    assert len(page_two) == LISTS - 10 and next_of(second.text) is None
    ids = [r["request_id"] for r in page_one + page_two]
    assert len(set(ids)) == LISTS  # every call once
    assert page_one[-1]["time"] >= page_two[0]["time"]
    back = re.search(r'<a href="([^"]+)" rel="prev">', second.text)[1]
    assert rows_of(auditor.get(html.unescape(back)).text) == page_one


def test_the_csv_export_has_the_same_rows_and_runs_no_formula(story):
    auditor, actor = story["auditor"], story["actor"]
    page = auditor.get("/console/audit-log", params={"user": actor})
    link = html.unescape(re.search(r'<a class="button" href="([^"]+)"[^>]*>Export CSV</a>', page.text)[1])
    assert link.startswith("/console/audit-log.csv?") and f"user={actor}" in link

    export = auditor.get(link)
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="charter-audit-log-\d{8}T\d{6}Z\.csv"',
                        export.headers["content-disposition"])
    assert export.text.endswith("\r\n") and "\r\n" in export.text.split("\n", 1)[0] + "\n"
    table = list(csv.reader(io.StringIO(export.text, newline="")))
    header, rows = table[0], table[1:]
    assert header[:5] == ["time", "user_name", "principal_arn", "access_key_id", "operation"]
    assert "request_id" in header and "user_agent" in header and "error_message" in header
    column = {name: i for i, name in enumerate(header)}
    assert [r[column["request_id"]] for r in rows] == [r["request_id"] for r in all_rows(auditor, user=actor)]
    assert {r[column["user_name"]] for r in rows} == {actor}

    login = next(r for r in rows if r[column["operation"]] == "ConsoleLogin")
    assert login[column["user_agent"]] == "'=HYPERLINK(\"http://evil.example\",\"x\")"  # shown as text, never run
    assert re.search(r'"\'=HYPERLINK\(""http://evil.example"",""x""\)"', export.text)  # RFC 4180 quoting
    denied = next(r for r in rows if r[column["outcome"]] == "Denied")
    assert "iam:ListUsers" in denied[column["error_message"]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", denied[column["time"]])

    just_denied = list(csv.reader(io.StringIO(auditor.get(
        "/console/audit-log.csv", params={"user": actor, "outcome": "Denied"}).text, newline="")))
    assert len(just_denied) == 2 and just_denied[1][column["operation"]] == "ListUsers"


def test_only_who_may_look_up_events_opens_the_log(server, story):
    scientist, _ = person(server, "data-scientist")
    browser = Browser(server.endpoint)
    assert browser.sign_in(scientist).status_code == 303
    for path in ("/console/audit-log", "/console/audit-log.csv"):
        refused = browser.get(path)
        assert refused.status_code == 403, path
        assert "cloudtrail:LookupEvents" in refused.text and "text/csv" not in refused.headers["content-type"]
    # The auditor persona may: an auditor reads the audit log.
    assert story["auditor"].get("/console/audit-log.csv").status_code == 200
