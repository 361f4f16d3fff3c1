"""CloudWatch Logs filter patterns over unstructured messages (FilterLogEvents).

The subset of AWS's "Filter and Pattern Syntax" for plain text that Charter
matches (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

* ``ERROR Exception``: every term must appear (case-sensitive);
* ``"Connection refused"``: a quoted phrase must appear as written; inside the
  quotes ``\\"`` is a quote and ``\\\\`` a backslash;
* ``?ERROR ?WARN``: at least one of the ``?`` terms must appear;
* ``ERROR -DEBUG``: a ``-`` term must not appear;
* an empty pattern, or ``""``, matches every event.

JSON patterns (``{ $.level = "error" }``), space-delimited patterns
(``[ip, user, ...]``) and regular expressions (``%...%``) are answered with an
InvalidParameterException that says so, rather than matched wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..store.logs import InvalidParameter


@dataclass(frozen=True)
class Pattern:
    required: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    source: str = field(default="", compare=False)

    def matches(self, message: str) -> bool:
        if any(term not in message for term in self.required):
            return False
        if self.any_of and not any(term in message for term in self.any_of):
            return False
        return not any(term in message for term in self.excluded)

    @property
    def everything(self) -> bool:
        return not (self.required or self.any_of or self.excluded)


def compile_pattern(text: str | None) -> Pattern:
    """The :class:`Pattern` ``text`` writes; InvalidParameterException for syntax Charter does not match."""
    text = (text or "").strip()
    if text[:1] in ("{", "[") or (text.startswith("%") and text.endswith("%") and len(text) > 1):
        kind = {"{": "JSON", "[": "space-delimited", "%": "regular-expression"}[text[0]]
        raise InvalidParameter(
            f"Charter matches term and quoted-phrase filter patterns (with ?term and -term); "
            f"{kind} filter patterns such as {text[:40]!r} are not supported."
        )
    required: list[str] = []
    any_of: list[str] = []
    excluded: list[str] = []
    for marker, term in _tokens(text):
        if term == "":
            continue  # "" alone matches everything
        {"": required, "?": any_of, "-": excluded}[marker].append(term)
    return Pattern(tuple(required), tuple(any_of), tuple(excluded), text)


def _tokens(text: str):
    """(marker, term) pairs: marker is "", "?" or "-"; a quoted term is taken as written."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        marker = ""
        if text[i] in "?-" and i + 1 < n and not text[i + 1].isspace():
            marker, i = text[i], i + 1
        if text[i] == '"':
            term, i = _quoted(text, i)
        else:
            start = i
            while i < n and not text[i].isspace():
                i += 1
            term = text[start:i]
        yield marker, term


def _quoted(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    i += 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise InvalidParameter(f"The filter pattern {text!r} has an unterminated quoted phrase.")
