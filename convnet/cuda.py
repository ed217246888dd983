"""``torch.cuda``'s questions, answered for a CPU-only library: no GPU is available.

Example:
    >>> import convnet
    >>> convnet.cuda.is_available(), convnet.cuda.device_count()
    (False, 0)
"""


def is_available() -> bool:
    """False: convnet computes on the CPU."""
    return False


def device_count() -> int:
    """0 GPUs."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored (there is no GPU generator to seed)."""


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored (there is no GPU generator to seed)."""


def synchronize(device=None) -> None:
    """Nothing to wait for on the CPU."""


def empty_cache() -> None:
    """Nothing to free on the CPU."""


def current_device() -> int:
    """Raises: there is no current GPU."""
    raise RuntimeError("convnet.cuda.current_device(): convnet runs on the CPU only (the one "
                       "device is 'cpu')")
