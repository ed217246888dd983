"""The library's random number generator: one seedable NumPy Generator.

Every random draw in convnet (initialisation, dropout, shuffling, augmentation)
takes an optional ``rng`` argument and otherwise uses :func:`default_rng`, so a
run is repeated exactly by calling :func:`manual_seed` first.

Example:
    >>> import convnet
    >>> _ = convnet.manual_seed(0); a = convnet.random.default_rng().random()
    >>> _ = convnet.manual_seed(0); b = convnet.random.default_rng().random()
    >>> a == b
    True
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library's generator (as ``torch.manual_seed``) and return it."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_rng() -> np.random.Generator:
    """The generator used when no ``rng`` is passed."""
    return _generator


def resolve_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` as a Generator: a Generator as is, an int as a seed, None as the default."""
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng: expected a numpy Generator, an int seed or None, got {rng!r}")
