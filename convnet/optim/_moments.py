"""Helpers shared by the optimizers that keep running averages of the gradient."""

from __future__ import annotations

import numpy as np

from .optimizer import check_nonnegative


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start += weight * (end - start)`` in place, rounded as ``torch.lerp_`` rounds.

    torch switches formula at ``weight = 0.5`` so that both ends are reproduced exactly.
    """
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def check_betas(betas) -> None:
    """Raise ValueError unless ``betas`` is a pair ``(beta1, beta2)``, each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}")
    for number, beta in enumerate(betas):
        check_nonnegative("betas", beta)
        if not beta < 1:
            raise ValueError(f"betas: beta{number + 1} must be in [0, 1), got {beta!r}")


def check_options(options: dict, names: tuple[str, ...]) -> None:
    """Check that the options ``names`` present in ``options`` are numbers >= 0, and betas."""
    for name in names:
        if name in options:
            check_nonnegative(name, options[name])
    if "betas" in options:
        check_betas(options["betas"])
