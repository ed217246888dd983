"""``torch.accelerator``'s questions: convnet has no accelerator, only the CPU.

Example:
    >>> import convnet
    >>> convnet.accelerator.is_available(), convnet.accelerator.current_accelerator()
    (False, None)
"""


def is_available() -> bool:
    """False: convnet computes on the CPU."""
    return False


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator."""
    return None


def device_count() -> int:
    """0 accelerators."""
    return 0
