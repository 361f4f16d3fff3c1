"""The console's pages, in SageMaker console vocabulary, and the IAM action each one needs.

A page is opened as the signed-in user and authorized exactly as the API
authorizes that user's call of the action the page is built on: the Model
Dashboard lists model package groups, so it needs
``sagemaker:ListModelPackageGroups``; a user whose policies do not allow that
gets the 403 page, as ``ListModelPackageGroups`` would get AccessDenied.  List
actions have no resource-level permissions, so each is checked on ``*``.

A page's content is drawn by the views registered for its slug
(:mod:`charter.console.views`); a page none has claimed yet shows a "coming"
empty state with ``hint``, the command that does its job today (still
authorized and audited, so what a user may open does not change when the
content arrives).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    slug: str  # the path under /console/
    title: str
    group: str | None  # the navigation heading it sits under
    action: str  # the IAM action it needs
    summary: str  # what the page is for, in a sentence
    hint: str  # the command that shows the same today, for a page still coming

    @property
    def path(self) -> str:
        return f"/console/{self.slug}"

    @property
    def operation(self) -> str:
        """The audit log's name for opening the page (``ViewModelDashboard``)."""
        return "View" + "".join(word.capitalize() if word.islower() else word for word in self.title.split())


PAGES: tuple[Page, ...] = (
    Page("model-dashboard", "Model Dashboard", "Governance", "sagemaker:ListModelPackageGroups",
         "Every model of the account at a glance: its registered versions, approval status, cards and monitoring.",
         "aws sagemaker list-model-package-groups"),
    Page("model-registry", "Model registry", "Governance", "sagemaker:ListModelPackageGroups",
         "Model package groups and their versions; approve or reject versions.",
         "charter registry groups"),
    Page("model-cards", "Model cards", "Governance", "sagemaker:ListModelCards",
         "Model cards: a model's intended uses, risk rating, training and evaluation details; export them as PDF.",
         "aws sagemaker list-model-cards"),
    Page("role-manager", "Role Manager", "Governance", "iam:ListRoles",
         "Users and roles built from ML personas and activities, and the policies they carry.",
         "charter iam list-users"),
    Page("training-jobs", "Training jobs", "Training", "sagemaker:ListTrainingJobs",
         "Training jobs: their status, metrics, logs and model artifacts.",
         "aws sagemaker list-training-jobs"),
    Page("processing-jobs", "Processing jobs", "Training", "sagemaker:ListProcessingJobs",
         "Processing jobs: data preparation, Clarify and Model Monitor runs, their outputs and logs.",
         "aws sagemaker list-processing-jobs"),
    Page("audit-log", "Audit log", None, "cloudtrail:LookupEvents",
         "Every API call and console action: who, what, on which resource, and the outcome.",
         "charter audit tail"),
    Page("artifacts", "Artifacts", None, "s3:ListAllMyBuckets",
         "The buckets and objects of the artifact store: datasets, model artifacts, reports.",
         "aws s3 ls"),
)

BY_SLUG = {page.slug: page for page in PAGES}


def groups() -> list[tuple[str | None, list[Page]]]:
    """The pages under their navigation headings, in order (ungrouped pages after the groups they follow)."""
    out: list[tuple[str | None, list[Page]]] = []
    for page in PAGES:
        if out and out[-1][0] == page.group:
            out[-1][1].append(page)
        else:
            out.append((page.group, [page]))
    return out
