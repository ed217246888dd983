"""convnet's binding to oneDNN, the kernel library PyTorch uses on CPUs (see :mod:`.library`).

Example:
    >>> from convnet.ops import onednn
    >>> sorted(onednn.library.describe())[:3]
    ['chosen', 'disabled_by_environment', 'load_error']
"""

from . import library
from .library import OneDNNError, available

__all__ = ["library", "available", "OneDNNError"]
