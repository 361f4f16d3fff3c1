"""A fuzzing run: hypothesis draws cases, each is sent and judged, the tally kept.

Failures are collected, not raised, so a run takes a known time and reports
every failure it met (with the request and the answer) instead of stopping at
the first to shrink it; tests/integration/test_fuzz.py asserts on the tally,
benchmarks/fuzz.py prints it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from .oracle import Answer, all_codes, judge, send
from .requests import Case, Encoder, Keys, ShapeValues, Target, any_case, broken, shaped


@dataclass
class Failure:
    case: Case
    answer: Answer
    problem: str

    def describe(self) -> str:
        return f"{self.problem}\n  request {self.case.describe()}\n  answer {self.answer.describe()}"


@dataclass
class Tally:
    tried: int = 0
    by_status: Counter = field(default_factory=Counter)  # "200", "400", ..., "none"
    by_face: Counter = field(default_factory=Counter)  # (face, "2xx" | "4xx" | "5xx" | "none")
    by_kind: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    answers: list[tuple[Case, Answer]] = field(default_factory=list)

    def add(self, case: Case, answer: Answer, problem: str | None) -> None:
        # Kept for the report and the audit check; a body of megabytes need not be.
        case = replace(case, body=case.body[:4096], raw=case.raw[:4096] if case.raw is not None else None)
        self.tried += 1
        status = "none" if answer.status is None else str(answer.status)
        self.by_status[status] += 1
        self.by_face[(case.target.name, "none" if answer.status is None else f"{answer.status // 100}xx")] += 1
        self.by_kind[case.kind] += 1
        self.answers.append((case, answer))
        if problem is not None:
            self.failures.append(Failure(case, answer, problem))


STRATEGIES = {"shaped": shaped, "broken": broken}


def cases(targets: list[Target], endpoint: str, keys: Keys, kind: str = "any") -> st.SearchStrategy[Case]:
    values = {}
    options = []
    for target in targets:
        shapes = values.setdefault(target.service, ShapeValues())
        encoder = Encoder(target, endpoint, keys)
        options.append(any_case(target, encoder, shapes) if kind == "any" else STRATEGIES[kind](target, encoder, shapes))
    return st.one_of(options)


def run(targets: list[Target], endpoint: str, keys: Keys, *, examples: int, seed_value: int, kind: str = "any",
        tally: Tally | None = None, strategy: st.SearchStrategy[Case] | None = None,
        codes: frozenset[str] | None = None) -> Tally:
    """Send ``examples`` drawn cases to ``endpoint``; the tally of their answers.

    ``codes``: the error codes of every face the server has (default: of ``targets``), for a
    request signed for another face than the one drawn.
    """
    tally = tally if tally is not None else Tally()
    codes = codes if codes is not None else all_codes(targets)
    strategy = strategy if strategy is not None else cases(targets, endpoint, keys, kind)

    @seed(seed_value)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def one(case: Case) -> None:
        answer = send(case, endpoint)
        # Signed for another service, any face's codes may come back.
        tally.add(case, answer, judge(case, answer, codes))

    one()
    return tally
