"""Example counts of the fuzz tests: fixed for the quick tier, twenty times more with HYPOTHESIS_PROFILE=nightly
(`HYPOTHESIS_PROFILE=nightly pytest tests/adversarial -k fuzz`)."""

import os

SCALE = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else 1


def examples(count: int) -> int:
    """`count` examples in the quick tier, more in the nightly profile."""
    return count * SCALE
