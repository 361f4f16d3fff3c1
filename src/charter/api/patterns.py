"""Java regular expressions (the patterns in botocore's models) translated to Python.

AWS validates string members against the model's ``pattern`` with Java's
``String.matches``: the whole value must match, anchors or not.  Python's ``re``
differs from Java's ``java.util.regex`` in syntax and in a few meanings, so each
pattern is translated once and cached:

* ``\\p{..}`` classes (Unicode general categories, POSIX classes, which Java keeps
  US-ASCII) become explicit code-point ranges; ``\\h``/``\\v`` too;
* ``\\w``/``\\d``/``\\s`` stay ASCII (``re.ASCII``, as in Java);
* ``.`` excludes Java's line terminators (unless the pattern turns on DOTALL);
* surrogate-pair escapes become code points; ``\\z``/``\\Z``/``\\Q..\\E``/
  ``(?<name>..)``/``\\k<name>`` are rewritten; a quantifier after an anchor (which
  Java accepts) is folded away.

A pattern that cannot be translated faithfully (an unknown property, a nested class,
``&&`` intersection, ...) is not checked at all rather than risk rejecting valid
input: :func:`compile_pattern` returns ``None`` for it.  The few model patterns whose
literal translation backtracks exponentially (a short hostile value could pin a
worker) are replaced by equivalent ones that do not (:data:`SAFE_EQUIVALENTS`).

Request validation (:mod:`charter.api.shapes`) is the user; nothing here knows of
shapes or requests.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import unicodedata
import warnings

__all__ = ["compile_pattern", "translate_java_regex", "SAFE_EQUIVALENTS", "Untranslatable"]

log = logging.getLogger(__name__)

_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"
_MAX_CP = sys.maxunicode

Ranges = list[tuple[int, int]]


def _merge(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_CP:
        out.append((nxt, _MAX_CP))
    return out


def _chars(s: str) -> Ranges:
    return [(ord(c), ord(c)) for c in s]


_category_lock = threading.Lock()
_categories: dict[str, Ranges] | None = None


def _category_table() -> dict[str, Ranges]:
    """Code-point ranges of every two-letter Unicode general category (built once)."""
    global _categories
    if _categories is None:
        with _category_lock:
            if _categories is None:
                table: dict[str, Ranges] = {}
                category = unicodedata.category
                start, prev = 0, category("\x00")
                for cp in range(1, _MAX_CP + 1):
                    cat = category(chr(cp))
                    if cat != prev:
                        table.setdefault(prev, []).append((start, cp - 1))
                        start, prev = cp, cat
                table.setdefault(prev, []).append((start, _MAX_CP))
                _categories = table
    return _categories


_MAJOR = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"),
    "LC": ("Lu", "Ll", "Lt"),
    "L&": ("Lu", "Ll", "Lt"),
    "M": ("Mn", "Mc", "Me"),
    "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"),
    "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Cs", "Co", "Cn"),
}
_MINOR = {c for group in _MAJOR.values() for c in group}

# Java's POSIX classes are US-ASCII only unless UNICODE_CHARACTER_CLASS is set.
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_POSIX: dict[str, Ranges] = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0x00, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": _chars(_PUNCT),
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x20, 0x20), (0x09, 0x09)],
    "Cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": _chars(" \t\n\x0b\f\r"),
}
_WHITE_SPACE = _chars("\t\n\x0b\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") + [(0x2000, 0x200A)]
_HORIZONTAL = _chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000") + [(0x2000, 0x200A)]
_VERTICAL = _chars("\n\x0b\f\r\x85\u2028\u2029")


_PROPERTY_ALIASES = {"IsLetter": "L", "IsDigit": "Nd", "IsPunctuation": "P", "IsControl": "Cc"}


def _property_ranges(name: str) -> Ranges | None:
    """Code-point ranges of a Java ``\\p{name}`` class, or None when not supported."""
    if name in _POSIX:
        return _POSIX[name]
    if name in ("IsWhite_Space", "IsWhiteSpace"):
        return _WHITE_SPACE
    name = _PROPERTY_ALIASES.get(name, name)
    for prefix in ("Is", "gc=", "general_category=", "GeneralCategory="):
        if name.startswith(prefix) and (name[len(prefix):] in _MAJOR or name[len(prefix):] in _MINOR):
            name = name[len(prefix):]
            break
    if name in _MAJOR:
        table = _category_table()
        return _merge([r for cat in _MAJOR[name] for r in table.get(cat, [])])
    if name in _MINOR:
        return list(_category_table().get(name, []))
    return None


def _esc(cp: int) -> str:
    return f"\\U{cp:08X}"


def _class_body(ranges: Ranges) -> str:
    return "".join(_esc(lo) if lo == hi else f"{_esc(lo)}-{_esc(hi)}" for lo, hi in ranges)


class Untranslatable(Exception):
    """A Java construct Python's ``re`` cannot express with the same meaning."""


_QUANT = re.compile(r"(?:[*+?]|\{(\d+)(?:,(\d*))?\})[?+]?")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def translate_java_regex(pattern: str) -> str:
    """Rewrite a Java regular expression into Python ``re`` syntax.

    Raises :class:`Untranslatable` for constructs Python cannot express faithfully.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    dotall = re.search(r"\(\?[a-zA-Z]*s[a-zA-Z-]*[:)]", pattern) is not None

    def anchor(text: str, j: int) -> int:
        # Java accepts a quantifier after an anchor (e.g. "(x*)${1,128}"); Python does
        # not.  Repeating a zero-width assertion at least once is the assertion itself;
        # "at least zero times" is nothing.
        m = _QUANT.match(pattern, j)
        if m is None:
            out.append(text)
            return j
        tok = m.group(0)
        minimum = int(m.group(1)) if m.group(1) is not None else (1 if tok[0] == "+" else 0)
        if minimum > 0:
            out.append(text)
        return m.end()

    def emit_set(ranges: Ranges, negate: bool) -> None:
        if in_class:
            out.append(_class_body(_complement(ranges) if negate else _merge(ranges)))
        else:
            out.append(("[^" if negate else "[") + _class_body(_merge(ranges)) + "]")

    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise Untranslatable("trailing backslash")
            e = pattern[i + 1]
            if e in "pP":
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise Untranslatable("unclosed \\p{")
                    name, i = pattern[i + 3:end], end + 1
                elif i + 2 < n:
                    name, i = pattern[i + 2], i + 3
                else:
                    raise Untranslatable("bare \\p")
                negate = e == "P"
                if name.startswith("^"):
                    name, negate = name[1:], not negate
                ranges = _property_ranges(name)
                if ranges is None:
                    raise Untranslatable(f"unsupported property \\p{{{name}}}")
                emit_set(ranges, negate)
                continue
            if e in "hHvV":
                ranges = _HORIZONTAL if e in "hH" else _VERTICAL
                emit_set(ranges, e.isupper())
                i += 2
                continue
            if e == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                i = n if end < 0 else end + 2
                out.append("".join(_esc(ord(ch)) for ch in literal) if in_class else re.escape(literal))
                continue
            if e == "u":
                m = _HEX4.match(pattern, i + 2)
                if m is None:
                    raise Untranslatable("bad \\u escape")
                cp = int(m.group(0), 16)
                i += 6
                if 0xD800 <= cp <= 0xDBFF and pattern.startswith("\\u", i):
                    m2 = _HEX4.match(pattern, i + 2)
                    if m2 is not None and 0xDC00 <= int(m2.group(0), 16) <= 0xDFFF:
                        low = int(m2.group(0), 16)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                out.append(_esc(cp))
                continue
            if e == "x":
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise Untranslatable("unclosed \\x{")
                    try:
                        cp = int(pattern[i + 3:end], 16)
                    except ValueError:
                        raise Untranslatable("bad \\x{}") from None
                    out.append(_esc(cp))
                    i = end + 1
                    continue
                out.append(pattern[i:i + 4])
                i += 4
                continue
            if e == "0":
                m = re.match(r"[0-7]{1,3}", pattern[i + 2:i + 5])
                if m is None:
                    raise Untranslatable("bad octal escape")
                digits = m.group(0)
                if len(digits) == 3 and int(digits, 8) > 0o377:
                    digits = digits[:2]
                out.append(_esc(int(digits, 8)))
                i += 2 + len(digits)
                continue
            if e == "c":
                if i + 2 >= n:
                    raise Untranslatable("bare \\c")
                out.append(_esc(ord(pattern[i + 2]) ^ 64))
                i += 3
                continue
            if e == "e":
                out.append("\\x1b")
                i += 2
                continue
            if e in "zZAbB":
                if in_class:
                    raise Untranslatable(f"\\{e} inside a class")
                text = {"z": "\\Z", "Z": "(?=(?:\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?\\Z)"}.get(e, "\\" + e)
                i = anchor(text, i + 2)
                continue
            if e == "R":
                if in_class:
                    raise Untranslatable("\\R inside a class")
                out.append("(?:\\r\\n|[\\n\\x0b\\f\\r\\u0085\\u2028\\u2029])")
                i += 2
                continue
            if e == "k":
                m = re.match(r"<([A-Za-z][A-Za-z0-9]*)>", pattern[i + 2:])
                if m is None:
                    raise Untranslatable("bad \\k")
                out.append(f"(?P={m.group(1)})")
                i += 2 + m.end()
                continue
            if e in "dDwWsStnrfa" or e.isdigit() or not e.isascii() or not e.isalnum():
                out.append("\\" + e)
                i += 2
                continue
            if e == "N" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise Untranslatable("unclosed \\N{")
                out.append(pattern[i:end + 1])
                i = end + 1
                continue
            raise Untranslatable(f"unsupported escape \\{e}")
        if in_class:
            if c == "[":
                raise Untranslatable("nested character class")
            if c == "&" and pattern.startswith("&&", i):
                raise Untranslatable("class intersection")
            if c == "]":
                in_class = False
                out.append("]")
            elif c in "&~|":
                out.append("\\" + c)
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append("[")
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            continue
        if c == ".":
            out.append("." if dotall else _DOT)
            i += 1
            continue
        if c in "^$":
            i = anchor(c, i + 1)
            continue
        if c == "(" and pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    if in_class:
        raise Untranslatable("unclosed character class")
    return "".join(out)


# Model patterns whose literal translation backtracks catastrophically (a request of a
# few dozen characters could pin a worker for minutes), mapped to an equivalent Python
# regex that runs in linear time.  Each equivalence is argued here and checked against
# the literal translation on generated inputs by the unit tests, which also probe every
# model pattern for exponential behaviour (so a botocore upgrade cannot slip one in).
SAFE_EQUIVALENTS: dict[str, str] = {
    # Java's "." is any char but \n \r \u0085 \u2028 \u2029, and [ \r\n\t] brings back
    # \r and \n: the language is "no \u0085, \u2028 or \u2029".
    ".*(?:[ \\r\\n\\t].*)*": "[^\\u0085\\u2028\\u2029]*",
    ".*(?:[ \\r\\n\\t].*)*.*": "[^\\u0085\\u2028\\u2029]*",
    # 3..1016 pieces of "A+/?": runs of A separated by single slashes (optionally one
    # trailing slash), at least 3 A characters (so >= 3 pieces fit) and at most 1016 runs
    # (so <= 1016 pieces suffice).
    "https://([.\\-_a-zA-Z0-9]+/?){3,1016}": (
        "https://(?=(?:/?[.\\-_a-zA-Z0-9]){3})"
        "[.\\-_a-zA-Z0-9]+(?:/[.\\-_a-zA-Z0-9]+){0,1015}/?"
    ),
    # One repetition of "[-a-z0-9]*[a-z0-9]" already covers every string the 39 could.
    "[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?": "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?",
}

_pattern_cache: dict[str, re.Pattern[str] | None] = {}
_pattern_lock = threading.Lock()


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """Compile a model (Java) pattern for whole-value matching; None if untranslatable.

    Use ``compiled.fullmatch(value)``: AWS validates with Java's ``String.matches``,
    which requires the whole value to match whether or not the pattern is anchored.
    """
    try:
        return _pattern_cache[pattern]
    except KeyError:
        pass
    compiled: re.Pattern[str] | None
    try:
        translated = SAFE_EQUIVALENTS.get(pattern)
        if translated is None:
            translated = translate_java_regex(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = re.compile(translated, re.ASCII)
    except (Untranslatable, re.error, OverflowError, RecursionError, ValueError) as exc:
        log.debug("pattern %r is not checked: %s", pattern, exc)
        compiled = None
    with _pattern_lock:
        _pattern_cache[pattern] = compiled
    return compiled
