"""Saving and loading: safetensors files (never pickle), written atomically.

- :func:`save` / :func:`load`: a whole model, architecture and weights, in one file.
- :func:`save_weights` / :func:`load_weights`: only the ``state_dict``.
- :func:`save_state` / :func:`load_state`: nested training state (optimizer, counters, RNG).
- :func:`atomic_write` / :func:`atomic_write_bytes`: how every file of the library is written.

Example:
    >>> import os, tempfile, convnet.nn as nn
    >>> from convnet.io import save, load
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, 'net.safetensors')
    >>> save(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), path)
    >>> load(path)
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
    )
    >>> folder.cleanup()
"""

from .atomic import atomic_write, atomic_write_bytes
from .checkpoint import (MODEL_FORMAT, STATE_FORMAT, WEIGHTS_FORMAT, load, load_state,
                         load_weights, read_metadata, save, save_state, save_weights)

__all__ = ["save", "load", "save_weights", "load_weights", "save_state", "load_state",
           "read_metadata", "atomic_write", "atomic_write_bytes", "MODEL_FORMAT",
           "WEIGHTS_FORMAT", "STATE_FORMAT"]
