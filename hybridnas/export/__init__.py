"""Export discovered architectures as standalone model files with weights, a model card and latency tables."""

from .codegen import ExportError, model_source
from .exporter import Exported, check_weights, default_model_name, export_arch, export_from_run, load_weights

__all__ = ["ExportError", "Exported", "check_weights", "default_model_name", "export_arch", "export_from_run", "load_weights",
           "model_source"]
