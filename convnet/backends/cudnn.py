"""``torch.backends.cudnn`` as a module, so ``import torch.backends.cudnn as cudnn`` ports.

convnet has no cuDNN: :func:`is_available` is False and the switches scripts set
(``benchmark``, ``deterministic``, ``enabled``, ``allow_tf32``) are accepted and change
nothing (convnet's CPU kernels are deterministic already).

Example:
    >>> import convnet.backends.cudnn as cudnn
    >>> cudnn.benchmark = True
    >>> cudnn.is_available()
    False
"""

enabled = False
benchmark = False
deterministic = False
allow_tf32 = False


def is_available() -> bool:
    """False: convnet runs on the CPU only.

    Example:
        >>> is_available()
        False
    """
    return False


__all__ = ["is_available", "enabled", "benchmark", "deterministic", "allow_tf32"]
