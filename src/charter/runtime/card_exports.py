"""Model card export jobs, run: render the card version to PDF and store it in "S3".

``CreateModelCardExportJob`` (``services/model_card_exports.py``) only records the
job, ``InProgress``.  This worker, started with the server, finds such jobs in
the database, renders the model card version the job names
(``render.model_card.render_pdf``), writes the PDF through the artifact
store to ``<S3OutputPath>/<ModelCardName>/<ModelCardExportJobName>.pdf`` (the
layout SageMaker uses) and marks the job ``Completed`` with ``ExportArtifacts``,
or ``Failed`` with a ``FailureReason`` that says what to fix.

The job engine (:mod:`charter.runtime.engine`) claims each job with a lease
(``Settings.card_export_lease_seconds``, default 120), renders it with no
transaction open and records the outcome; a crash leaves the lease to run out
and the job runs again, at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from ..errors import AwsError
from ..store import artifacts
from ..store import resources as store
from . import background, engine
from .engine import Engine, JobProblem, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.card_exports")

JOB_TYPE = "model-card-export-job"
CARD_TYPE = "model-card"
MAX_ATTEMPTS = 3
POLL_SECONDS = 1.0


# --- where things are -------------------------------------------------------------


def version_arn(card_arn: str, version: int) -> str:
    """The ARN of one stored version of a model card (the model card service's layout)."""
    return f"{card_arn}/version/{version}"


def artifact_uri(job_document: dict) -> str:
    """Where the PDF goes: ``<S3OutputPath>/<ModelCardName>/<ModelCardExportJobName>.pdf``."""
    return artifacts.join(
        job_document["OutputConfig"]["S3OutputPath"],
        job_document["ModelCardName"],
        f"{job_document['ModelCardExportJobName']}.pdf",
    )


class CardVersionMissing(Exception):
    """The model card, or the version of it to export, is not stored (any more)."""


def find_card_version(conn: Connection, card_arn: str, version: int | None) -> dict:
    """The DescribeModelCard document of ``version`` of the card (the latest when None).

    Raises :class:`CardVersionMissing` with a message fit for a FailureReason or an
    error answer.
    """
    card = store.get(conn, card_arn)
    if card is None or card.resource_type != CARD_TYPE:
        raise CardVersionMissing(f"Model card {card_arn} does not exist.")
    latest = card.document.get("ModelCardVersion")
    if version is None or version == latest:
        return card.document
    stored = store.get(conn, version_arn(card_arn, version))
    if stored is None:
        raise CardVersionMissing(
            f"Model card {card.name} has no version {version}"
            + (f"; its latest version is {latest}." if latest is not None else ".")
        )
    return stored.document


# --- waking workers early -----------------------------------------------------------


def notify() -> None:
    """Wake this process's export workers now rather than at their next poll."""
    engine.notify(JOB_TYPE)


# --- the runner ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Export:
    uri: str
    card_document: dict


class CardExports:
    """Runs one export: render the card version to PDF and write it to the output path."""

    resource_type = JOB_TYPE
    name = "card-exports"
    interrupted = (
        f"The export was interrupted {MAX_ATTEMPTS} times (the server stopped while rendering); "
        "create a new export job to try again."
    )

    def __init__(self, instance: "Instance"):
        self.instance = instance

    def prepare(self, conn: Connection, job: store.Resource) -> _Export:
        try:
            uri = artifact_uri(job.document)
            card = find_card_version(conn, job.parent, job.document.get("ModelCardVersion"))
        except CardVersionMissing as missing:
            raise JobProblem(f"{missing} It was deleted after the export job was created.") from None
        except AwsError as bad:  # a stored OutputConfig that no longer parses
            raise JobProblem(bad.message) from None
        return _Export(uri, card)

    def run(self, job_arn: str, export: _Export) -> Outcome:
        from ..render.model_card import render_pdf  # WeasyPrint and matplotlib load on first use

        try:
            pdf = render_pdf(export.card_document)
        except Exception as exc:  # a rendering bug must fail the job, not kill the worker
            log.exception("card exports: rendering %s failed", job_arn)
            return Outcome("Failed", f"Rendering the model card to PDF failed: {type(exc).__name__}: {exc}")
        try:
            artifacts.write_bytes(self.instance, export.uri, pdf)
        except artifacts.ArtifactError as exc:
            return Outcome("Failed", f"Could not write the PDF to the output path. {exc}")
        except AwsError as exc:
            return Outcome("Failed", f"Could not write the PDF to the output path. {exc.message}")
        return Outcome("Completed", document={"ExportArtifacts": {"S3ExportArtifacts": export.uri}})


@background("card-exports")
def CardExportWorker(instance: "Instance", *, lease: float | None = None, poll: float = POLL_SECONDS) -> Engine:
    """The engine running model card exports, one at a time, in a thread of the server."""
    return Engine(
        instance, CardExports(instance),
        lease=lease if lease is not None else instance.settings.card_export_lease_seconds,
        poll=poll, max_attempts=MAX_ATTEMPTS,
    )
