"""Input sources: gaussian (data-free), a CIFAR-10 python-batch folder, or an .npz file."""

from .sources import Batch, DataSourceError, get_batch, load_arrays, normalisation

__all__ = ["Batch", "DataSourceError", "get_batch", "load_arrays", "normalisation"]
