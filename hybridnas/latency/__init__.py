"""Device latency tables: build (time each layer signature of a space), predict (sum + calibration), validate."""

from .build import build_table, measure_archs, plot_validation, relevel_table, validate_table
from .signature import LatencyError, Signature, arch_signatures, space_signatures
from .table import Calibration, Conditions, LatencyTable, Prediction

__all__ = ["Calibration", "Conditions", "LatencyError", "LatencyTable", "Prediction", "Signature",
           "arch_signatures", "build_table", "measure_archs", "plot_validation", "relevel_table",
           "space_signatures", "validate_table"]
