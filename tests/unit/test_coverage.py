"""docs/coverage.md: generated from the handler registry against botocore's models, and kept current."""

from __future__ import annotations

import re

import botocore
import pytest

from charter import coverage
from charter.coverage import Service, families, render, split_operation, words
from charter.coverage import implemented

STALE = f"docs/coverage.md is stale: run `{coverage.COMMAND}` and commit the page"


def _page_version(page: str) -> str:
    found = re.search(r"operation of botocore (\S+)'s service models", page)
    assert found, "docs/coverage.md names no botocore version: regenerate it"
    return found.group(1)


def test_the_checked_in_page_is_current():
    page = coverage.PAGE.read_text()
    if _page_version(page) == botocore.__version__:
        assert page == render(), STALE
        return
    # A newer botocore (a fresh install) adds operations the page cannot know of;
    # what Charter answers must still be exactly what the page marks done.
    marked = set(re.findall(r"^- \[X\] (\w+)$", page, re.MULTILINE))
    registered = set().union(*implemented().values())
    assert marked == registered, f"{STALE} (handlers without a mark: {sorted(registered - marked)}; " \
                                 f"marks without a handler: {sorted(marked - registered)})"


def test_every_operation_appears_once_and_every_handler_is_marked():
    page = render()
    for service in coverage.load_services():
        section = page.split(f"\n## {service.name}\n", 1)[1].split("\n## ", 1)[0]
        listed = re.findall(r"^- \[[X ]\] (\w+)$", section, re.MULTILINE)
        assert sorted(listed) == sorted(service.operations), service.name
    for service, operations in implemented().items():
        section = page.split(f"\n## {service}\n", 1)[1].split("\n## ", 1)[0]
        assert set(re.findall(r"^- \[X\] (\w+)$", section, re.MULTILINE)) == operations, service
    assert "| [Amazon SageMaker Service (`sagemaker`)](#sagemaker) |" in page
    assert "| [AWS Security Token Service (`sts`)](#sts) | " in page


def test_operation_names_split_into_verb_and_noun():
    assert words("CreateSAMLProvider") == ["Create", "SAML", "Provider"]
    assert words("ListObjectsV2") == ["List", "Objects", "V2"]
    assert split_operation("BatchDescribeModelPackage") == ("BatchDescribe", ["Model", "Package"])
    assert split_operation("Search") == ("Search", [])


def test_families_gather_a_resource_its_lists_and_its_sub_resources():
    services = [
        Service("sagemaker", "SageMaker", (
            "BatchDescribeModelPackage", "CreateModel", "CreateModelPackage", "CreateModelPackageGroup",
            "GetModelPackageGroupPolicy", "ListModelPackageGroups", "ListModelPackages", "ListModels",
            "CreateEndpoint", "AddTags", "ListTags", "Search",
        )),
        Service("sagemaker-runtime", "Runtime", ("InvokeEndpoint", "InvokeEndpointAsync")),
        Service("logs", "Logs", ("CreateLogGroup", "DescribeLogGroups", "PutLogEvents", "GetLogEvents")),
    ]
    grouped = families(services)
    assert grouped["sagemaker"] == {
        "Endpoint": ["CreateEndpoint"],
        "Model": ["CreateModel", "ListModels"],
        "ModelPackage": ["BatchDescribeModelPackage", "CreateModelPackage", "ListModelPackages"],
        "ModelPackageGroup": ["CreateModelPackageGroup", "GetModelPackageGroupPolicy", "ListModelPackageGroups"],
        "Search": ["Search"],
        "Tags": ["AddTags", "ListTags"],
    }
    # A resource another service creates names the family (SageMaker's endpoints).
    assert grouped["sagemaker-runtime"] == {"Endpoint": ["InvokeEndpoint", "InvokeEndpointAsync"]}
    # A plural Describe joins its singular Create; operations on no created resource share their noun.
    assert grouped["logs"] == {"LogEvents": ["GetLogEvents", "PutLogEvents"],
                               "LogGroup": ["CreateLogGroup", "DescribeLogGroups"]}


def test_counts_and_percentages_per_service_and_family():
    services = [Service("sagemaker", "SageMaker", ("CreateModelCard", "DeleteModelCard", "DescribeModelCard",
                                                   "CreateModel"))]
    page = render(services, {"sagemaker": {"CreateModelCard", "DescribeModelCard"}})
    assert "| [SageMaker (`sagemaker`)](#sagemaker) | 2 | 4 | 50% |" in page
    assert "SageMaker: 2 of 4 operations (50%) in 2 families, 1 of them begun." in page
    assert "| ModelCard | 2 | 3 | 67% |" in page
    assert "<summary>ModelCard: 2 of 3 (67%)</summary>" in page
    assert "- [X] CreateModelCard\n- [ ] DeleteModelCard\n- [X] DescribeModelCard" in page
    assert "<summary>Model: 0 of 1 (0%)</summary>" in page


def test_a_handler_for_an_operation_botocore_lacks_is_refused():
    services = [Service("sagemaker", "SageMaker", ("CreateModel",))]
    with pytest.raises(SystemExit, match="sagemaker:CreateModle"):
        render(services, {"sagemaker": {"CreateModle"}})


def test_check_reports_a_stale_page_and_passes_a_current_one(tmp_path, capsys):
    target = tmp_path / "coverage.md"
    assert coverage.main(["--check", "--output", str(target)]) == 1  # missing
    target.write_text("# old\n")
    assert coverage.main(["--check", "--output", str(target)]) == 1
    assert f"is stale: run `{coverage.COMMAND}`" in capsys.readouterr().err
    assert coverage.main(["--output", str(target)]) == 0
    assert coverage.main(["--check", "--output", str(target)]) == 0
    assert target.read_text() == render()
