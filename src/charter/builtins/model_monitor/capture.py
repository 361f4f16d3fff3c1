"""Reading SageMaker endpoint data capture files (``sagemakerCaptureJson``).

An endpoint with data capture writes JSON Lines files, one inference a line (Developer Guide,
"Capture data from real-time endpoint" / "View captured data")::

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                                        "data": "...", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2019-12-01T15:24:00Z", "inferenceId": "..."},
     "eventVersion": "0"}

``encoding`` is ``CSV``, ``JSON`` or ``BASE64`` (the payload bytes base64-encoded; the content
type then says how to read them).  A payload may hold several records (CSV lines, JSON Lines, or a
JSON array of rows).  The analysed record is the requested capture indexes joined in the order
``captureIndexNames`` lists them -- output columns first when the list is
``["endpointOutput", "endpointInput"]``, which matches Model Monitor's convention that the
prediction is the dataset's first column.

Values are kept as text (numbers rendered as JSON renders them) so the profiler infers types from
the text, as Model Monitor's Deequ-based analyzer does.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import ClientError

__all__ = ["CaptureError", "parse_time", "iter_capture_rows"]

CAPTURE_INDEXES = ("endpointInput", "endpointOutput")


class CaptureError(ClientError):
    """A data capture file cannot be read; the message names the file and line."""


def parse_time(text: str, variable: str) -> datetime:
    """An ISO-8601 time (``2019-12-01T15:20:00Z``; spaces, as in the guide's sample, tolerated)."""
    cleaned = text.strip().replace(" ", "")
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ClientError(f"{variable} {text!r} is not an ISO-8601 time such as 2019-12-01T15:20:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _records(payload: dict[str, Any], where: str) -> list[tuple[list[str], list[str | None]]]:
    """The records of one captured payload, each as (column names, values)."""
    data = payload.get("data")
    if data is None:
        return []
    encoding = str(payload.get("encoding", "")).upper()
    content_type = str(payload.get("observedContentType", "")).lower()
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as error:
            raise CaptureError(f"{where}: data is not valid base64-encoded UTF-8 ({error})") from None
        is_json = "json" in content_type
    else:
        is_json = encoding == "JSON" or (encoding != "CSV" and "json" in content_type)
    if not is_json:
        rows = [row for row in csv.reader(io.StringIO(str(data))) if row]
        return [([], [v if v != "" else None for v in row]) for row in rows]
    text = str(data)
    try:
        values = [json.loads(text)]
    except json.JSONDecodeError:
        try:
            values = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as error:
            raise CaptureError(f"{where}: JSON payload cannot be parsed ({error})") from None
    # A JSON array of rows (objects or arrays) is several records; anything else is one.
    if len(values) == 1 and isinstance(values[0], list) and values[0] and all(
        isinstance(v, (dict, list)) for v in values[0]
    ):
        values = values[0]
    out = []
    for value in values:
        if isinstance(value, dict):
            out.append((list(map(str, value)), [_text(v) for v in value.values()]))
        elif isinstance(value, list):
            out.append(([], [_text(v) for v in value]))
        else:
            out.append(([], [_text(value)]))
    return out


def iter_capture_rows(
    paths: Sequence[Path],
    indexes: Sequence[str],
    start: datetime | None = None,
    end: datetime | None = None,
) -> Iterator[tuple[list[str], list[str | None]]]:
    """Yield (names, values) per analysed record of the capture files, in file order.

    Events whose ``eventMetadata.inferenceTime`` falls outside ``[start, end)`` are skipped:
    the guide warns that the platform may download more data than the monitoring period.
    Names are empty for positional payloads (CSV, JSON arrays); the caller names them.
    """
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                try:
                    event = json.loads(line)
                except json.JSONDecodeError as error:
                    raise CaptureError(f"{where} is not a JSON data capture record ({error})") from None
                capture = event.get("captureData") if isinstance(event, dict) else None
                if not isinstance(capture, dict):
                    raise CaptureError(f"{where} has no captureData object; is dataset_format right?")
                if start is not None or end is not None:
                    stamp = (event.get("eventMetadata") or {}).get("inferenceTime")
                    if stamp:
                        when = parse_time(str(stamp), f"{where} inferenceTime")
                        if (start is not None and when < start) or (end is not None and when >= end):
                            continue
                parts = [_records(capture.get(index) or {}, f"{where} {index}") for index in indexes]
                parts = [p for p in parts if p]
                if not parts:
                    continue
                count = len(parts[0])
                if any(len(p) != count for p in parts):
                    raise CaptureError(
                        f"{where}: the capture indexes hold different numbers of records "
                        f"({', '.join(str(len(p)) for p in parts)}); they cannot be joined row by row"
                    )
                for i in range(count):
                    names: list[str] = []
                    values: list[str | None] = []
                    positional = False
                    for part in parts:
                        n, v = part[i]
                        positional = positional or not n
                        names.extend(n)
                        values.extend(v)
                    yield ([] if positional else names), values
