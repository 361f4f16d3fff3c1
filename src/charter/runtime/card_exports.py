"""Model card export jobs, run: render the card version to PDF and store it in "S3".

``CreateModelCardExportJob`` (``services/model_card_exports.py``) only records the
job, ``InProgress``.  This worker, started with the server, finds such jobs in
the database, renders the model card version the job names
(``render.model_card.render_pdf``), writes the PDF through the artifact
store to ``<S3OutputPath>/<ModelCardName>/<ModelCardExportJobName>.pdf`` (the
layout SageMaker uses) and marks the job ``Completed`` with ``ExportArtifacts``,
or ``Failed`` with a ``FailureReason`` that says what to fix.

Nothing is lost (ARCHITECTURE.md rule 6).  A job is *claimed* in a short write
transaction that puts a lease on it (owner, expiry, attempt count, kept in the
job document under ``_Lease``; the gateway's output shape never shows it), and it
is rendered with no transaction open.  A server that stops cleanly hands its
leases back so the next start picks the job up at once; one that crashes leaves
the lease to run out (``Settings.card_export_lease_seconds``, default 120) and any
worker then runs the job again.  A job whose attempts keep dying is failed after
``MAX_ATTEMPTS`` rather than retried for ever.  On PostgreSQL the claim uses
``FOR UPDATE SKIP LOCKED``, so several servers on one database share the work.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from ..errors import AwsError
from ..store import artifacts
from ..store import resources as store
from ..store.schema import resources
from . import background

if TYPE_CHECKING:  # pragma: no cover
    from ..instance import Instance

log = logging.getLogger("charter.card_exports")

JOB_TYPE = "model-card-export-job"
CARD_TYPE = "model-card"
LEASE_KEY = "_Lease"
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

_wake_events: "weakref.WeakSet[threading.Event]" = weakref.WeakSet()


def notify() -> None:
    """Wake this process's export workers now rather than at their next poll."""
    for wake in list(_wake_events):
        wake.set()


# --- the worker ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    job_arn: str
    uri: str
    card_document: dict | None
    problem: str | None  # why the job cannot run (reported as its FailureReason)


@background("card-exports")
class CardExportWorker:
    """Runs model card export jobs, one at a time, in a thread of the server."""

    def __init__(self, instance: "Instance", *, lease: float | None = None, poll: float = POLL_SECONDS):
        self.instance = instance
        self.lease = lease if lease is not None else instance.settings.card_export_lease_seconds
        self.poll = poll
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        _wake_events.add(self._wake)
        self._thread = threading.Thread(target=self._run, name="charter-card-exports", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=60)
        _wake_events.discard(self._wake)
        self._thread = None
        try:
            self.release()
        except Exception:  # the lease then runs out instead
            log.exception("card exports: could not hand back leases on stop")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue  # there may be more waiting
                pause = self.poll
            except Exception:  # the database may be briefly away; keep the worker alive
                log.exception("card exports: polling failed; retrying")
                pause = self.poll * 4
            if self._wake.wait(pause):
                # Woken by a create: give its transaction a moment to commit before looking.
                self._stop.wait(0.05)
            self._wake.clear()

    # one job

    def run_once(self) -> bool:
        """Claim one due export job and run it; False when there was none."""
        if not self._anything_due():
            return False
        claimed = self._claim()
        if claimed is None:
            return False
        status, reason = self._render_and_store(claimed)
        self._finish(claimed, status, reason)
        return True

    def _due(self):
        c = resources.c
        return (
            select(c.arn)
            .where(c.resource_type == JOB_TYPE, c.status == "InProgress")
            .order_by(c.created_at, c.id)
        )

    def _anything_due(self) -> bool:
        # A read first, so an idle server does not take SQLite's write lock every poll.
        with self.instance.transaction(write=False) as conn:
            for arn in conn.execute(self._due().limit(50)).scalars():
                job = store.get(conn, arn)
                if job is not None and self._claimable(job.document.get(LEASE_KEY), time.time()):
                    return True
        return False

    def _claimable(self, lease: dict | None, now: float) -> bool:
        return not lease or lease.get("ExpiresAt", 0) <= now or lease.get("Owner") == self.owner

    def _claim(self) -> _Claimed | None:
        now = time.time()
        with self.instance.transaction() as conn:
            arns = conn.execute(self._due().limit(50).with_for_update(skip_locked=True)).scalars().all()
            for arn in arns:
                job = store.get(conn, arn)
                lease = job.document.get(LEASE_KEY) or {}
                if not self._claimable(lease, now):
                    continue
                attempts = int(lease.get("Attempts", 0)) + 1
                if attempts > MAX_ATTEMPTS:
                    # Every earlier attempt was claimed by a process that died before finishing.
                    self._record(
                        conn, job, "Failed",
                        f"The export was interrupted {MAX_ATTEMPTS} times (the server stopped while rendering); "
                        "create a new export job to try again.",
                    )
                    continue
                job.document[LEASE_KEY] = {"Owner": self.owner, "ExpiresAt": now + self.lease, "Attempts": attempts}
                store.save(conn, job)
                try:
                    uri = artifact_uri(job.document)
                    card = find_card_version(conn, job.parent, job.document.get("ModelCardVersion"))
                    return _Claimed(arn, uri, card, None)
                except CardVersionMissing as missing:
                    return _Claimed(arn, "", None, f"{missing} It was deleted after the export job was created.")
                except AwsError as bad:  # a stored OutputConfig that no longer parses
                    return _Claimed(arn, "", None, bad.message)
        return None

    def _render_and_store(self, claimed: _Claimed) -> tuple[str, str | None]:
        """Render and write the PDF, with no transaction open; (status, failure reason)."""
        if claimed.problem:
            return "Failed", claimed.problem
        from ..render.model_card import render_pdf  # WeasyPrint and matplotlib load on first use

        try:
            pdf = render_pdf(claimed.card_document)
        except Exception as exc:  # a rendering bug must fail the job, not kill the worker
            log.exception("card exports: rendering %s failed", claimed.job_arn)
            return "Failed", f"Rendering the model card to PDF failed: {type(exc).__name__}: {exc}"
        try:
            artifacts.write_bytes(self.instance, claimed.uri, pdf)
        except artifacts.ArtifactError as exc:
            return "Failed", f"Could not write the PDF to the output path. {exc}"
        except AwsError as exc:
            return "Failed", f"Could not write the PDF to the output path. {exc.message}"
        return "Completed", None

    def _finish(self, claimed: _Claimed, status: str, reason: str | None) -> None:
        with self.instance.transaction() as conn:
            job = store.get(conn, claimed.job_arn, for_update=True)
            if job is None or job.status != "InProgress":
                return
            if (job.document.get(LEASE_KEY) or {}).get("Owner") != self.owner:
                return  # our lease ran out and another worker took the job over
            if status == "Completed":
                job.document["ExportArtifacts"] = {"S3ExportArtifacts": claimed.uri}
            self._record(conn, job, status, reason)

    @staticmethod
    def _record(conn: Connection, job: store.Resource, status: str, reason: str | None) -> None:
        job.document.pop(LEASE_KEY, None)
        job.document["Status"] = status
        job.document["LastModifiedAt"] = time.time()
        if reason:
            job.document["FailureReason"] = reason[:1024]
        store.save(conn, job, status=status)

    def release(self) -> int:
        """Hand back this worker's unfinished jobs so that the next start runs them at once."""
        released = 0
        with self.instance.transaction() as conn:
            for arn in conn.execute(self._due()).scalars().all():
                job = store.get(conn, arn, for_update=True)
                lease = job.document.get(LEASE_KEY)
                if lease and lease.get("Owner") == self.owner:
                    # A clean stop is not a failed attempt.
                    job.document[LEASE_KEY] = {"Attempts": max(0, int(lease.get("Attempts", 1)) - 1), "ExpiresAt": 0}
                    store.save(conn, job)
                    released += 1
        return released
