"""The form generated from the model card schema, and the posted form merged back into a card's content."""

from __future__ import annotations

import json

import pytest

from charter.console import schema_form as sf
from charter.services.model_cards import content_errors, content_schema

TREE = sf.form_tree(content_schema())
FIELDS = {f.name: f for f in sf.fields(TREE)}

CARD = {
    "model_overview": {"model_description": "Scores loan applications.", "model_version": 2.0,
                       "model_artifact": ["s3://models/a.tar.gz", "s3://models/b.tar.gz"]},
    "intended_uses": {"purpose_of_model": "Triage.", "risk_rating": "High"},
    "training_details": {"objective_function": {"function": {"function": "Maximize", "facet": "AUC"}},
                         "training_job_details": {"hyper_parameters": [{"name": "eta", "value": "0.3"}]}},
    "evaluation_details": [{"name": "Holdout", "metric_groups": [{"name": "g", "metric_data": [
        {"name": "auc", "type": "number", "value": 0.8125}]}]}],
    "additional_information": {"custom_details": {"board": "Credit committee"}},
}


def posted(document: dict) -> dict[str, str]:
    """What a browser posts for the form drawn for ``document``: every field, textareas with CRLF."""
    return {name: text.replace("\n", "\r\n") for name, text in sf.form_values(TREE, document).items()}


def test_the_form_follows_the_schema():
    kinds = {name.removeprefix(sf.PREFIX): f.kind for name, f in FIELDS.items()}
    assert kinds["model_overview.model_name"] == "text"
    assert kinds["model_overview.model_description"] == "textarea"
    assert kinds["model_overview.model_version"] == "number"
    assert kinds["model_overview.model_artifact"] == "lines"  # a $ref to a list of strings
    assert kinds["model_package_details.model_package_arn"] == "text"  # long, but one line
    assert kinds["intended_uses.risk_rating"] == "select"
    assert FIELDS["content.intended_uses.risk_rating"].options == ("High", "Medium", "Low", "Unknown")
    assert kinds["training_details.objective_function.function.function"] == "select"  # nested fieldsets
    assert kinds["training_details.training_job_details.hyper_parameters"] == "json"
    assert kinds["additional_information.custom_details"] == "pairs"
    assert kinds["evaluation_details"] == "json"
    assert "name (required)" in FIELDS["content.evaluation_details"].help
    assert [g.label for g in TREE if not g.leaf][:3] == ["Model overview", "Model package details", "Intended uses"]
    # The console's gate reads at most MAX_FIELDS fields of a posted form; the card form must fit, with room.
    from charter.console.app import MAX_FIELDS

    assert len(FIELDS) <= MAX_FIELDS - 16


def test_a_form_posted_untouched_changes_nothing():
    merged, problems = sf.merge_form(TREE, posted(CARD), CARD)
    assert problems == {} and merged == CARD
    assert isinstance(merged["model_overview"]["model_version"], float)  # 2.0 stays 2.0


def test_changed_fields_are_set_and_cleared_ones_removed_with_the_objects_they_empty():
    form = posted(CARD)
    form["content.intended_uses.risk_rating"] = "Low"
    form["content.training_details.objective_function.function.function"] = ""
    form["content.training_details.objective_function.function.facet"] = ""
    form["content.business_details.line_of_business"] = "  Consumer lending "
    form["content.model_overview.model_artifact"] = "s3://models/c.tar.gz\r\n\r\n"
    form["content.additional_information.custom_details"] = "board: Risk desk\r\nregion : EU"
    merged, problems = sf.merge_form(TREE, form, CARD)
    assert problems == {}
    assert merged["intended_uses"] == {"purpose_of_model": "Triage.", "risk_rating": "Low"}
    assert "objective_function" not in merged["training_details"]  # emptied, so gone
    assert merged["training_details"]["training_job_details"] == CARD["training_details"]["training_job_details"]
    assert merged["business_details"] == {"line_of_business": "Consumer lending"}
    assert merged["model_overview"]["model_artifact"] == ["s3://models/c.tar.gz"]
    assert merged["additional_information"]["custom_details"] == {"board": "Risk desk", "region": "EU"}
    assert merged["evaluation_details"] == CARD["evaluation_details"]
    assert content_errors(merged) == []
    assert CARD["intended_uses"]["risk_rating"] == "High"  # the original is not modified


def test_keys_the_form_does_not_show_are_kept():
    original = {**CARD, "model_overview": {**CARD["model_overview"], "future_field": {"x": 1}}}
    form = {"content.model_overview.model_name": "credit-risk"}  # a form that posts one field only
    merged, _ = sf.merge_form(TREE, form, original)
    assert merged["model_overview"]["future_field"] == {"x": 1}
    assert merged["model_overview"]["model_name"] == "credit-risk"
    assert merged["intended_uses"] == CARD["intended_uses"]


def test_values_are_typed_and_what_cannot_be_read_is_reported():
    form = {"content.model_overview.model_version": "3", "content.evaluation_details": "[{\"name\": ",
            "content.additional_information.custom_details": "no colon here"}
    merged, problems = sf.merge_form(TREE, form, {})
    assert merged == {"model_overview": {"model_version": 3}}
    assert problems["content.evaluation_details"].startswith("This is not valid JSON")
    assert "Line 1 has no key" in problems["content.additional_information.custom_details"]
    # A number that is not one is passed on as typed: the API's schema check names it.
    merged, _ = sf.merge_form(TREE, {"content.model_overview.model_version": "two"}, {})
    assert content_errors(merged) == [("$.model_overview.model_version", "'two' is not of type 'number'")]


@pytest.mark.parametrize("path, field", [
    ("$.model_overview.model_version", "content.model_overview.model_version"),
    ("$.evaluation_details[0].metric_groups[0]", "content.evaluation_details"),
    ('$.additional_information.custom_details["bad key"]', "content.additional_information.custom_details"),
    ("$", None),
])
def test_an_error_path_finds_its_field(path, field):
    assert sf.field_of_path(TREE, path) == field


def test_the_api_message_is_split_by_field():
    message = ("Model card content is invalid at $.model_overview.model_version: 0 is less than the minimum of 1; "
               "at $.intended_uses.risk_rating: 'Severe' is not one of ['High', 'Medium', 'Low', 'Unknown']. "
               "Content must follow the SageMaker model card JSON schema.")
    assert sf.api_problems(TREE, message) == {
        "content.model_overview.model_version": "0 is less than the minimum of 1",
        "content.intended_uses.risk_rating": "'Severe' is not one of ['High', 'Medium', 'Low', 'Unknown']",
    }


def test_every_demo_card_round_trips_through_the_form():
    """The demo's real cards (every section, metrics and a matrix) survive the form untouched."""
    from charter.demo import cards

    class Workspace:
        results = {"packages": {(g, n): f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{g}/{n}"
                                for g in ("credit-risk", "customer-churn") for n in (1, 2, 3)}}

        @staticmethod
        def uri(*parts):
            return "s3://charter-demo/" + "/".join(parts)

    for _card, group, number, _ in cards.CARDS:
        document = json.loads(json.dumps(cards.content(Workspace, group, number)))
        merged, problems = sf.merge_form(TREE, posted(document), document)
        assert problems == {} and merged == document
