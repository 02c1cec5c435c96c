"""The choices and defaults of a latency table's measurement, in one torch-free place: the command line's
options, the pipeline's `latency:` stage and the builder all read them (tests check them against the
backend registry, the statistics and ONNX Runtime's levels)."""

from __future__ import annotations

BACKEND_NAMES = ("torch", "onnxruntime")  # latency.backends.BACKENDS
OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")  # models.onnx.LEVELS; ONNX Runtime only
STATISTIC_NAMES = ("min", "median")  # latency.timing.STATISTICS: how a layer's repeats become its time
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_STATISTIC = "min"
DEFAULT_CALIBRATE = 32  # random networks measured end to end to fit the calibration
DEFAULT_REPEATS = 30
DEFAULT_WARMUP = 10
