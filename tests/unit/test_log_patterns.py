"""CloudWatch Logs filter patterns (terms, phrases, ?term, -term) matched as AWS documents them."""

from __future__ import annotations

import pytest

from charter.services.log_patterns import compile_pattern
from charter.store.logs import InvalidParameter


@pytest.mark.parametrize(
    "pattern, message, matches",
    [
        ("", "anything", True),
        ('""', "anything", True),
        ("ERROR", "[ERROR] disk full", True),
        ("ERROR", "error: disk full", False),  # case-sensitive
        ("ERROR disk", "disk ERROR", True),  # every term, in any order
        ("ERROR disk", "ERROR memory", False),
        ('"disk full"', "ERROR disk full now", True),
        ('"disk full"', "full disk", False),
        ('"say \\"hi\\""', 'they say "hi" twice', True),
        ("?WARN ?ERROR", "WARN slow", True),
        ("?WARN ?ERROR", "INFO fine", False),
        ("ERROR -DEBUG", "ERROR at boot", True),
        ("ERROR -DEBUG", "DEBUG ERROR at boot", False),
        ('ERROR -"known issue"', "ERROR known issue again", False),
        ("a-b", "x a-b y", True),  # a dash inside a term is part of it
        ("-", "a - b", True),  # a lone marker is a term, not a marker
    ],
)
def test_term_patterns(pattern, message, matches):
    assert compile_pattern(pattern).matches(message) is matches


@pytest.mark.parametrize("pattern", ['{ $.level = "error" }', "[ip, user, status]", "%ERR[0-9]+%", '"open'])
def test_patterns_charter_does_not_match_are_refused(pattern):
    with pytest.raises(InvalidParameter) as refused:
        compile_pattern(pattern)
    assert refused.value.code == "InvalidParameterException"
