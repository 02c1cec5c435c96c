"""Input sources: gaussian (data-free), a CIFAR-10 python-batch folder, an .npz file, or an image folder."""

from .sources import Batch, DataSourceError, get_batch, load_arrays, normalisation

__all__ = ["Batch", "DataSourceError", "get_batch", "load_arrays", "normalisation"]
