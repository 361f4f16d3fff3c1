"""Face.invoke: the console's way into the services, answered as the API answers a signed call."""

from __future__ import annotations

import pytest

from charter.api.access import Access, start_event
from charter.api.gateway import Gateway
from charter.errors import AwsError
from charter.instance import Instance
from charter.services.iam_admin import create_principal_with_persona
from charter.store import audit


@pytest.fixture(scope="module")
def setup(tmp_path_factory, database_url_factory):
    instance = Instance.from_env(home=str(tmp_path_factory.mktemp("invoke")), database_url=database_url_factory())
    access = Access(instance)
    gateway = Gateway(instance, access)
    with instance.transaction() as conn:
        engineer = create_principal_with_persona(conn, account=instance.settings.account_id, kind="user",
                                                 name="engineer", persona="mlops-engineer")
        analyst = create_principal_with_persona(conn, account=instance.settings.account_id, kind="user",
                                                name="analyst", persona="auditor")
    yield instance, access, gateway, engineer, analyst
    access.close()
    instance.close()


def event(operation: str = "(console)"):
    found = start_event(operation, "127.0.0.1", "test", source="console")
    return found


def rows(instance, operation):
    with instance.transaction(write=False) as conn:
        return [e for e in audit.events(conn, source="console", operation=operation, limit=1000)]


def test_a_write_is_handled_and_audited_in_its_transaction(setup):
    instance, _access, gateway, engineer, _ = setup
    done = gateway.invoke(engineer, "CreateModelPackageGroup", {"ModelPackageGroupName": "churn"}, event())
    assert done["ModelPackageGroupArn"].endswith(":model-package-group/churn")
    described = gateway.invoke(engineer, "DescribeModelPackageGroup", {"ModelPackageGroupName": "churn"}, event())
    assert described["ModelPackageGroupName"] == "churn"
    (row,) = rows(instance, "CreateModelPackageGroup")
    assert (row.user_name, row.outcome, row.source, row.resource_arn) == (
        "engineer", "Success", "console", done["ModelPackageGroupArn"])
    assert rows(instance, "DescribeModelPackageGroup") == []  # reads are the page view's row, not their own


def test_input_is_validated_as_the_api_validates(setup):
    _instance, _access, gateway, engineer, _ = setup
    with pytest.raises(AwsError) as raised:
        gateway.invoke(engineer, "CreateModelPackageGroup", {"ModelPackageGroupName": "no spaces allowed"}, event())
    assert raised.value.code == "ValidationException"
    assert "modelPackageGroupName" in raised.value.message  # AWS names the member in camel case


def test_a_refusal_is_the_api_refusal_and_is_recorded(setup):
    instance, access, gateway, engineer, analyst = setup
    gateway.invoke(engineer, "CreateModelPackageGroup", {"ModelPackageGroupName": "fraud"}, event())
    with pytest.raises(AwsError) as raised:
        gateway.invoke(analyst, "DeleteModelPackageGroup", {"ModelPackageGroupName": "fraud"}, event())
    assert raised.value.code == "AccessDeniedException"
    assert "sagemaker:DeleteModelPackageGroup" in raised.value.message
    access.audit_buffer.flush()
    (row,) = rows(instance, "DeleteModelPackageGroup")
    assert (row.user_name, row.outcome) == ("analyst", "Denied")


def test_an_unknown_operation_is_refused(setup):
    _instance, _access, gateway, engineer, _ = setup
    with pytest.raises(AwsError) as raised:
        gateway.invoke(engineer, "MakeCoffee", {}, event())
    assert "MakeCoffee" in raised.value.message
