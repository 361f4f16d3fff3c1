"""Built-in images are found by name or by the SageMaker image URI they stand in for."""

from __future__ import annotations

import pytest

from charter import builtins


@pytest.mark.parametrize("uri, name", [
    ("522234722520.dkr.ecr.us-east-1.amazonaws.com/forecasting-deepar:1", "forecasting-deepar"),
    ("495149712605.dkr.ecr.eu-west-1.amazonaws.com/forecasting-deepar:latest", "forecasting-deepar"),
    ("205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0", "clarify"),
    ("156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer", "model-monitor"),
    ("390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/forecasting-deepar@sha256:00ff", "forecasting-deepar"),
    ("clarify", "clarify"),
])
def test_sagemaker_image_uris_resolve_to_built_ins(uri, name):
    assert builtins.resolve(uri).name == name


@pytest.mark.parametrize("uri", [
    "522234722520.dkr.ecr.us-east-1.amazonaws.com/object2vec:1",  # a SageMaker image Charter does not build in
    "docker.io/library/forecasting-deepar:1",                   # not ECR
    "forecasting",
])
def test_other_images_name_what_is_built_in(uri):
    with pytest.raises(builtins.UnknownImage, match="forecasting-deepar"):
        builtins.resolve(uri)


def test_every_built_in_lists_its_commands():
    commands = {image.name: image.commands() for image in builtins.images()}
    assert commands["forecasting-deepar"] == ["train", "serve"]
    assert commands["clarify"] == ["process"] and commands["model-monitor"] == ["process"]
