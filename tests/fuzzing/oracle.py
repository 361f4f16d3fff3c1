"""Sends generated requests to a running server and judges what comes back.

An answer is right when it came within the time bound and is what its case
allows (:attr:`fuzzing.requests.Case.expect`): never a 5xx; a 2xx or 4xx that
botocore's parser for the face's protocol reads, an error code the face
models (the operation's and service's exceptions, Charter's generic errors as
the face spells them); a 4xx where the request was wrong; for a body cut
short, a 4xx or no answer.  After a run, :func:`audit_gaps` and
:func:`unreadable_resources` say whether the server is still consistent: a
row in the audit log for every answered request, and every resource a List
shows readable by its Describe.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import boto3
import cbor2
from botocore.awsrequest import HeadersDict
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import create_parser

from .requests import ANSWERED, HTTP_REFUSED, REFUSED, REFUSED_OR_DROPPED, REGION, Case, Target

#: Seconds within which every request must be answered (or, cut short, dropped).
TIME_BOUND = 5.0


@dataclass
class Answer:
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    transport: str | None = None  # "closed", "timeout", ... when no answer came

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amzn-requestid") or self.headers.get("x-amz-request-id")

    @property
    def from_face(self) -> bool:
        """Whether a face wrote the answer (else the HTTP server refused the bytes itself)."""
        return self.request_id is not None

    def describe(self, limit: int = 400) -> str:
        if self.status is None:
            return f"no answer ({self.transport}) after {self.seconds:.2f} s"
        text = self.body[:limit].decode("utf-8", "backslashreplace")
        return f"{self.status} after {self.seconds:.2f} s, headers {self.headers}, body {text}"


def send(case: Case, endpoint: str, timeout: float = TIME_BOUND) -> Answer:
    """``case`` sent over a fresh connection, byte for byte; the answer as it came."""
    parts = urlsplit(endpoint)
    started = time.monotonic()
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    try:
        try:
            sock.sendall(case.wire(parts.netloc))
            if case.send is not None:
                sock.shutdown(socket.SHUT_WR)  # the client hangs up before the body is complete
        except OSError:
            pass  # the server may refuse before reading it all: its answer is still there to read
        response = http.client.HTTPResponse(sock, method=case.method)
        try:
            response.begin()
            body = response.read()
        except (TimeoutError, socket.timeout):
            return Answer(None, seconds=time.monotonic() - started, transport="timeout")
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            return Answer(None, seconds=time.monotonic() - started, transport=f"closed ({type(exc).__name__})")
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Answer(response.status, headers, body, time.monotonic() - started)
    finally:
        sock.close()


#: Kinds of request a face other than the target's, or another of the face's protocols, may answer:
#: unsigned (no credential scope names the service), signed for another service, or with the
#: Content-Type or X-Amz-Target by which the protocol is recognized changed.
FLEXIBLE = frozenset({"unsigned", "other-service", "content-type", "no-target", "garbage-target"})


def judge(case: Case, answer: Answer, codes: frozenset[str] | None = None, bound: float = TIME_BOUND) -> str | None:
    """What is wrong with ``answer`` to ``case``, or None when it is right.

    ``codes``: every error code any face may answer, for the :data:`FLEXIBLE` kinds.
    """
    if answer.seconds > bound:
        return f"answered after {answer.seconds:.1f} s, over the {bound:.0f} s bound"
    if answer.status is None:
        if case.expect in (REFUSED_OR_DROPPED, HTTP_REFUSED) and answer.transport != "timeout":
            return None
        return f"no answer: {answer.transport}"
    status = answer.status
    if status >= 500:
        return f"a {status} answer"
    if not answer.from_face:
        if case.expect in (HTTP_REFUSED, ANSWERED, REFUSED_OR_DROPPED) and 400 <= status < 500:
            return None  # the HTTP server refused bytes that are not a well-formed request
        if not case.signed and case.method in ("GET", "HEAD") and case.path.split("?")[0] == "/" and status == 200:
            return None  # an unsigned GET / is a person at the landing page, whatever the query says
        return f"an answer no face wrote (no request id): {status}"
    protocol = case.target.protocol
    allowed = case.target.codes
    if status >= 300:
        spoken = _protocol_of(answer, protocol)
        if spoken != protocol:
            if case.kind not in FLEXIBLE:
                return f"an error answered in {spoken}, not in the face's {protocol}"
            protocol, allowed = spoken, codes or allowed
    parsed, problem = _parse(case, answer, protocol)
    if problem:
        return problem
    if status < 300:
        if case.expect in (REFUSED, REFUSED_OR_DROPPED, HTTP_REFUSED):
            return f"accepted ({status}) a request that must be refused"
        return None
    if status == 304:
        return None
    code = parsed.get("Error", {}).get("Code")
    if not code:
        return "an error answer without an error code"
    if code not in allowed and not (case.method == "HEAD" and code.isdigit()):
        return f"error code {code!r} is not one this face models"
    return None


def _protocol_of(answer: Answer, expected: str) -> str:
    """The protocol an error answer is written in, from its Content-Type."""
    content_type = answer.headers.get("content-type", "")
    if "cbor" in content_type:
        return "smithy-rpc-v2-cbor"
    if "json" in content_type:
        return "rest-json" if expected.startswith("rest") or "x-amz-json" not in content_type else "json"
    if "xml" in content_type:  # a query service wraps its error in <ErrorResponse>, S3 does not
        return "query" if b"<ErrorResponse" in answer.body[:200] else "rest-xml"
    return expected


def _parse(case: Case, answer: Answer, protocol: str) -> tuple[dict, str | None]:
    target: Target = case.target
    body = answer.body
    if protocol in ("json", "rest-json") and body.strip() and (answer.status >= 300 or protocol == "json"):
        # botocore's JSON parsers read an unreadable body as a message; a face must write JSON.
        try:
            document = json.loads(body)
        except ValueError:
            return {}, "the body is not JSON"
        if not isinstance(document, dict):
            return {}, "the body is not a JSON object"
    if protocol == "smithy-rpc-v2-cbor" and body:
        try:
            cbor2.loads(body)
        except Exception:
            return {}, "the body is not CBOR"
    shape = None
    if case.operation is not None and answer.status < 300:
        shape = target.model.operation_model(case.operation).output_shape
    response = {"status_code": answer.status, "headers": HeadersDict(answer.headers), "body": body, "context": {}}
    try:
        return create_parser(protocol).parse(response, shape), None
    except Exception as exc:
        return {}, f"botocore's {protocol} parser cannot read the answer: {type(exc).__name__}: {str(exc)[:300]}"


def all_codes(targets: list[Target]) -> frozenset[str]:
    return frozenset().union(*(t.codes for t in targets)) if targets else frozenset()


# ------------------------------------------------------------------ consistency after a run


def audit_gaps(database_url: str, answers: list[tuple[Case, Answer]], wait: float = 3.0) -> list[str]:
    """Answered requests that have no audit row.

    An accepted write's row commits before its answer, so it must be there at
    the first look; any other row (a read, a refusal) may come in a batch
    within a second, so those are looked for until ``wait`` runs out.  The
    unknown-path answer to an unsigned request is nobody's call and has none.
    """
    from sqlalchemy import create_engine, select

    from charter.store.schema import audit_events

    wanted, writes = {}, set()
    for case, answer in answers:
        if not answer.from_face or answer.headers.get("x-amzn-errortype", "").startswith("MissingAuthenticationToken"):
            continue
        wanted[answer.request_id] = case
        if answer.status < 300 and case.operation in case.target.writes and case.kind not in FLEXIBLE:
            writes.add(answer.request_id)
    engine = create_engine(database_url)

    def missing_rows() -> set[str]:
        missing = set(wanted)
        ids = list(missing)
        with engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                found = conn.execute(select(audit_events.c.request_id).where(audit_events.c.request_id.in_(chunk)))
                missing -= {row[0] for row in found}
        return missing

    def listed(ids, why):
        return [f"{request_id} ({why}): {wanted[request_id].describe(200)}" for request_id in sorted(ids)]

    try:
        missing = missing_rows()
        problems = listed(missing & writes, "an accepted write without its audit row at once")
        deadline = time.monotonic() + wait
        while missing and time.monotonic() < deadline:
            time.sleep(0.25)
            missing = missing_rows()
        return problems + listed(missing - writes, f"no audit row after {wait:.0f} s")
    finally:
        engine.dispose()


def unreadable_resources(endpoint: str, access_key: str, secret: str, targets: list[Target], limit: int = 200) -> list[str]:
    """Every resource a List operation shows whose Describe (or Get, or Head) does not answer 2xx."""
    problems = []
    seen = set()
    for target in targets:
        if target.service in seen:
            continue
        seen.add(target.service)
        client = boto3.client(target.service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=access_key,
                              aws_secret_access_key=secret,
                              config=Config(retries={"max_attempts": 1}, parameter_validation=False))
        for operation in target.operations:
            input_shape = target.model.operation_model(operation).input_shape
            if not operation.startswith("List") or (input_shape is not None and input_shape.required_members):
                continue
            reader = _reader(target, operation)
            if reader is None:
                continue
            for item in _listed(client, target, operation, limit):
                params = _reader_params(target, reader, item)
                if params is None:
                    continue
                try:
                    getattr(client, _snake(reader))(**params)
                except ClientError as exc:
                    error = exc.response["Error"]
                    problems.append(f"{operation} shows {params} but {reader} answers {error.get('Code')}: {error.get('Message')}")
    return problems


def _reader(target: Target, list_operation: str) -> str | None:
    noun = list_operation[len("List"):]
    singular = noun[:-3] + "y" if noun.endswith("ies") else noun[:-1] if noun.endswith("s") else noun
    for verb in ("Describe", "Get", "Head"):
        if f"{verb}{singular}" in target.operations:
            return f"{verb}{singular}"
    return None


def _listed(client, target: Target, operation: str, limit: int) -> list[dict]:
    name = _snake(operation)
    if client.can_paginate(name):
        items = []
        paginator = client.get_paginator(name)
        for page in paginator.paginate(PaginationConfig={"MaxItems": limit}):
            for key in paginator.result_keys:
                items += [i for i in key.search(page) or [] if isinstance(i, dict)]
        return items[:limit]
    page = getattr(client, name)()
    output = target.model.operation_model(operation).output_shape
    items = []
    for member, shape in (output.members.items() if output is not None else []):
        if shape.type_name == "list" and shape.member.type_name == "structure":
            items += page.get(member, [])
    return items[:limit]


def _reader_params(target: Target, reader: str, item: dict) -> dict | None:
    shape = target.model.operation_model(reader).input_shape
    params = {}
    for required in shape.required_members if shape is not None else []:
        stem = required[:-4] if required.endswith("Name") else required
        value = item.get(required) or item.get(f"{stem}Arn") or item.get("Name")
        if value is None:
            return None
        params[required] = value
    return params


def _snake(name: str) -> str:
    from botocore import xform_name

    return xform_name(name)
