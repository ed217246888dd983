"""Whether operations record the autograd graph, and torch's ways to switch it:
``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode`` (context managers and
decorators). :func:`convnet.tensor.record` reads :data:`state` on every operation.

Example:
    >>> import convnet
    >>> with convnet.no_grad():
    ...     convnet.is_grad_enabled()
    False
"""

from __future__ import annotations

import functools


class _State:
    __slots__ = ("enabled",)

    def __init__(self):
        self.enabled = True


state = _State()


class set_grad_enabled:
    """Turn graph recording on or off: as a function call, a context manager or a decorator
    (torch's ``set_grad_enabled``); the previous mode comes back on leaving the block.

    Example:
        >>> import convnet
        >>> w = convnet.tensor([1.0], requires_grad=True)
        >>> with convnet.set_grad_enabled(False):
        ...     (w * 2).requires_grad
        False
    """

    def __init__(self, mode: bool = True):
        self.mode, self.previous = bool(mode), state.enabled
        state.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        state.enabled = self.previous
        return False

    def __call__(self, function):
        state.enabled = self.previous         # as a decorator it changes nothing until called
        mode = self.mode

        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            with type(self)._context(mode):
                return function(*args, **kwargs)
        return wrapped

    @classmethod
    def _context(cls, mode):
        return set_grad_enabled(mode)


class _GradMode(set_grad_enabled):
    """A mode entered on ``with`` (not on construction), usable as a decorator."""

    _fixed = False

    def __init__(self):
        self.mode, self.previous = self._fixed, None

    def __call__(self, function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            with self._context(self.mode):
                return function(*args, **kwargs)
        return wrapped

    def __enter__(self):
        self.previous, state.enabled = state.enabled, self.mode
        return self

    @classmethod
    def _context(cls, mode):
        return cls()


class no_grad(_GradMode):
    """Context manager (or decorator) in which operations record no graph (inference, updates).

    Example:
        >>> import convnet
        >>> w = convnet.tensor([1.0], requires_grad=True)
        >>> with convnet.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    _fixed = False


class enable_grad(_GradMode):
    """Context manager (or decorator) that records the graph again inside :class:`no_grad`.

    Example:
        >>> import convnet
        >>> w = convnet.tensor([1.0], requires_grad=True)
        >>> with convnet.no_grad(), convnet.enable_grad():
        ...     (w * 2).requires_grad
        True
    """

    _fixed = True


class inference_mode(_GradMode):
    """``no_grad`` under torch's other name (``inference_mode(False)`` records as usual).

    Example:
        >>> import convnet
        >>> with convnet.inference_mode():
        ...     convnet.is_grad_enabled()
        False
    """

    def __init__(self, mode: bool = True):
        self.mode, self.previous = not mode, None

    @classmethod
    def _context(cls, mode):
        return cls(not mode)


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (False inside :func:`no_grad`)."""
    return state.enabled
