"""runtime.Worker, the one thread lifecycle the server's background workers share."""

from __future__ import annotations

import threading
import time

from charter.runtime import Periodic, Worker


class Counter(Worker):
    name = "counter"

    def __init__(self, *, pause: float, fail_first: int = 0, **options):
        super().__init__(**options)
        self.pause = pause
        self.fail_first = fail_first
        self.steps = 0
        self.stepped = threading.Event()

    def _step(self) -> float:
        self.steps += 1
        self.stepped.set()
        if self.steps <= self.fail_first:
            raise RuntimeError("the database is away")
        return self.pause


def test_steps_run_in_a_thread_of_their_own_until_stopped():
    worker = Counter(pause=0.01)
    worker.start()
    worker.start()  # a second start is a no-op
    try:
        assert worker.stepped.wait(5)
        assert not worker.stopping
        time.sleep(0.1)
        assert worker.steps > 2
    finally:
        worker.stop()
    assert worker.stopping
    done = worker.steps
    time.sleep(0.05)
    assert worker.steps == done
    worker.stop()  # stopping twice is harmless


def test_wake_cuts_a_pause_short_and_stop_does_not_wait_for_it():
    worker = Counter(pause=60)
    worker.start()
    try:
        assert worker.stepped.wait(5)
        worker.stepped.clear()
        worker.wake()
        assert worker.stepped.wait(5) and worker.steps == 2
    finally:
        started = time.monotonic()
        worker.stop()
    assert time.monotonic() - started < 5


def test_a_step_that_raises_is_tried_again_after_the_retry_pause():
    worker = Counter(pause=60, fail_first=2, retry_pause=0.01)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while worker.steps < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.steps == 3
    finally:
        worker.stop()


def test_periodic_waits_first_then_calls_run_once_every_interval():
    calls: list[float] = []

    class Clock(Periodic):
        name = "clock"

        def run_once(self):
            calls.append(time.monotonic())

    clock = Clock(None, interval=0.05, first=0.2)
    started = time.monotonic()
    clock.start()
    time.sleep(0.5)
    clock.stop()
    assert calls and calls[0] - started >= 0.19
    assert len(calls) >= 2  # every 50 ms after the first, give or take a loaded machine
