"""One parser and serializer per AWS protocol, driven by botocore's service models.

A :class:`Protocol` knows how one of botocore's wire protocols addresses an
operation, carries its input and writes its output and errors; it knows no
particular service or operation (ARCHITECTURE.md rule 1).  A face
(:mod:`charter.api.faces`) pairs a service model with the protocols its
clients speak (CloudWatch's clients speak three) and its handlers.

The contract every protocol keeps:

* :meth:`Protocol.recognizes` says from the method, path and headers alone
  whether a request is written in this protocol;
* :meth:`Protocol.operation` names the operation it addresses, or raises
  :class:`~charter.errors.UnknownOperationException`;
* :meth:`Protocol.parse` turns the request into the input document, checked
  by :func:`charter.api.shapes.parse_input` (so every protocol reports
  constraint violations in the same AWS wording); a streaming blob payload
  (S3's ``Body``) is not read but handed over as the request's
  :class:`~charter.api.wire.BodyStream`;
* :meth:`Protocol.respond` writes a handler's output (``datetime`` objects,
  ``bytes``, and for a streaming payload an iterator of chunks or a file
  object) through the output shape;
* :meth:`Protocol.error` writes an :class:`~charter.errors.AwsError` the way
  this protocol's botocore parser reads errors, so the client raises the
  modelled exception.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import botocore.model

from ...errors import AwsError
from ..wire import WireRequest, WireResponse


class Protocol(ABC):
    #: botocore's name for the protocol (``json``, ``query``, ``rest-xml``, ...).
    name: str

    def __init__(self, model: botocore.model.ServiceModel):
        self.model = model

    @abstractmethod
    def recognizes(self, request: WireRequest) -> bool:
        """True when ``request`` is written in this protocol."""

    @abstractmethod
    def operation(self, request: WireRequest) -> botocore.model.OperationModel:
        """The operation ``request`` addresses; UnknownOperationException if none."""

    @abstractmethod
    def parse(self, request: WireRequest, operation: botocore.model.OperationModel) -> dict:
        """The validated input document of ``request``."""

    @abstractmethod
    def respond(self, operation: botocore.model.OperationModel, output: dict, request_id: str) -> WireResponse:
        """The successful answer carrying ``output``."""

    @abstractmethod
    def error(self, error: AwsError, request_id: str) -> WireResponse:
        """The answer that makes botocore raise ``error``'s code with its message."""
