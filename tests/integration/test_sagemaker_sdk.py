"""The SageMaker Python SDK (v2), unmodified, against Charter: what a data scientist writes.

The SDK builds its boto3 clients from a ``boto3.Session``; here that session carries the
test admin's keys and the clients Charter's endpoint, as ``AWS_ENDPOINT_URL`` would.
"""

from __future__ import annotations

import uuid

import boto3
import pytest

from conftest import ADMIN_KEY, ADMIN_SECRET, REGION

sagemaker = pytest.importorskip("sagemaker", reason="the SageMaker Python SDK is in the test extras: make install")
from sagemaker.model_card import ModelCard, ModelCardStatusEnum, ModelPackage  # noqa: E402


@pytest.fixture
def session(charter, sm):
    boto_session = boto3.Session(aws_access_key_id=ADMIN_KEY, aws_secret_access_key=ADMIN_SECRET, region_name=REGION)
    return sagemaker.Session(boto_session=boto_session, sagemaker_client=sm)


def _register(sm, group: str) -> str:
    sm.create_model_package_group(ModelPackageGroupName=group, ModelPackageGroupDescription="SDK card test")
    return sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription="gradient-boosted churn model",
        InferenceSpecification={
            "Containers": [{
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                "ModelDataUrl": f"s3://charter-test/{group}/model.tar.gz",
            }],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


def test_a_model_card_from_a_registered_package(sm, session):
    """``ModelCard(model_package_details=...)`` looks the training job up with Search(Resource="TrainingJob").

    Charter stores no training jobs yet, so the SDK finds none and the card carries the
    package's details without training details; before, that Search was refused and the
    SDK's constructor raised.
    """
    group = f"sdk-card-{uuid.uuid4().hex[:8]}"
    arn = _register(sm, group)

    package = ModelPackage.from_model_package_arn(arn, sagemaker_session=session)
    assert package.model_package_group_name == group
    card = ModelCard(
        name=f"{group}-card",
        status=ModelCardStatusEnum.DRAFT,
        model_package_details=package,
        sagemaker_session=session,
    )
    assert card.training_details is None or card.training_details.training_job_details is None
    card.create()

    loaded = ModelCard.load(name=f"{group}-card", sagemaker_session=session)
    assert loaded.status == ModelCardStatusEnum.DRAFT
    assert loaded.model_package_details.model_package_arn == arn
    assert loaded.model_package_details.model_package_group_name == group
    described = sm.describe_model_card(ModelCardName=f"{group}-card")
    assert described["ModelCardStatus"] == "Draft"


def test_the_sdk_raises_charter_s_error_for_a_missing_card(session):
    with pytest.raises(Exception) as caught:
        ModelCard.load(name=f"no-such-card-{uuid.uuid4().hex[:8]}", sagemaker_session=session)
    assert "ResourceNotFound" in str(caught.value) or "does not exist" in str(caught.value)
