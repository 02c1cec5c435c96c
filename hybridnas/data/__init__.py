"""Input sources: gaussian (data-free), CIFAR-10/100 python-batch folders, an .npz file, or an image folder."""

from .sources import Batch, DataSourceError, get_batch, load_arrays, normalisation

__all__ = ["Batch", "DataSourceError", "get_batch", "load_arrays", "normalisation"]
