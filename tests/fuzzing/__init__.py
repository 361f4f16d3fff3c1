"""Requests generated from botocore's input shapes, and the judge of their answers.

:mod:`fuzzing.requests` builds them (valid, invalid and broken at the byte
level) for every implemented operation of every face Charter serves;
:mod:`fuzzing.oracle` sends them to a running server and says what was wrong
with an answer.  tests/integration/test_fuzz.py runs a bounded number in CI,
benchmarks/fuzz.py runs them for minutes.
"""
