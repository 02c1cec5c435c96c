"""The closing 'time:' line of long commands (on a fake clock: what is counted where, not how fast)."""

import pytest

from hybridnas import timing
from hybridnas.timing import PhaseClock


@pytest.fixture
def now(monkeypatch):
    """A clock that moves only when the test says: now["t"] += seconds."""
    state = {"t": 100.0}
    monkeypatch.setattr(timing.time, "perf_counter", lambda: state["t"])
    return state


def test_phases_add_up_and_the_rest_is_other(now):
    clock = PhaseClock()
    with clock.phase("evaluation"):
        now["t"] += 2.0
    clock.add("tiny", 0.01)
    now["t"] += 1.0
    assert clock.summary() == "time: 3.0 s (evaluation 2.0 s, other 1.0 s)"  # phases under 0.05 s left out


def test_timed_counts_the_wait_for_each_item_not_the_work_between(now):
    clock = PhaseClock()

    def slow():
        for i in range(2):
            now["t"] += 1.5
            yield i

    seen = []
    for item in clock.timed("evaluation", slow()):
        seen.append(item)
        now["t"] += 4.0  # the caller's work: not the evaluation's
    assert seen == [0, 1] and clock.seconds == {"evaluation": 3.0}
