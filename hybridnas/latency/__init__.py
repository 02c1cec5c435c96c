"""Device latency tables: build (time each layer signature of a space), predict (sum + calibration), validate;
network-level models fitted on end-to-end measurements from a device you cannot run on (`load_latency` reads either).

Names load on first use (`hybridnas.lazy`).
"""

from ..lazy import lazy_exports

__all__ = ["Calibration", "Conditions", "LatencyError", "LatencyTable", "NetworkLatencyModel", "Prediction",
           "Signature", "arch_signatures", "build_table", "fit_network_model", "load_latency", "measure_archs",
           "plot_validation", "relevel_table", "space_signatures", "validate_table"]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(["build_table", "measure_archs", "plot_validation", "relevel_table", "validate_table"], ".build"),
    **dict.fromkeys(["LatencyError", "Signature", "arch_signatures", "space_signatures"], ".signature"),
    **dict.fromkeys(["Calibration", "Conditions", "LatencyTable", "Prediction"], ".table"),
    **dict.fromkeys(["NetworkLatencyModel", "fit_network_model", "load_latency"], ".network_model"),
})
