"""The closing 'time:' line of long commands."""

import time

from hybridnas.timing import PhaseClock


def test_phases_add_up_and_the_rest_is_other():
    clock = PhaseClock()
    with clock.phase("evaluation"):
        time.sleep(0.1)
    clock.add("tiny", 0.01)
    time.sleep(0.1)
    line = clock.summary()
    parts = dict(p.rsplit(" ", 2)[:2] for p in line[line.index("(") + 1:-1].split(", "))
    assert line.startswith("time: ") and set(parts) == {"evaluation", "other"}  # phases under 0.05 s left out
    total = float(line.split()[1])
    assert abs(float(parts["evaluation"]) + float(parts["other"]) + 0.01 - total) < 0.15
    assert float(parts["evaluation"]) >= 0.1
