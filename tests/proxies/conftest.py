import pytest

from hybridnas import load_space

TINY = {
    "name": "tiny", "input": {"size": 8}, "num_classes": 4,
    "stem": {"type": "conv", "width": 8},
    "stages": [
        {"depth": 1, "width": 8, "layout": "conv*", "downsample": {"type": "conv", "stride": 1}},
        {"depth": {"choices": [1, 2]}, "width": {"choices": [16, 24]}, "heads": 2,
         "layout": {"choices": ["conv* attention", "conv*", "mbconv*"]}},
    ],
}


@pytest.fixture(scope="session")
def tiny():
    return load_space(TINY)


@pytest.fixture(scope="session")
def tiny10():
    """The tiny space with CIFAR-10's ten classes, for tests on the shared real images."""
    return load_space({**TINY, "name": "tiny10", "num_classes": 10})
