"""Names for functions that factories make: ``floor = _unary(np.floor)`` leaves
``floor.__qualname__`` as ``'_unary.<locals>.function'``, which ``help()``, tracebacks
and the API reference then show. :func:`name_made_functions` gives each such function the
name it is bound to in its module.

Example:
    >>> def _factory():
    ...     def made(x):
    ...         return x
    ...     return made
    >>> namespace = {"__name__": __name__, "identity": _factory()}
    >>> namespace["identity"].__module__ = __name__
    >>> name_made_functions(namespace)
    >>> namespace["identity"].__qualname__
    'identity'
"""

from __future__ import annotations


def name_made_functions(namespace: dict) -> None:
    """Rename every function of ``namespace`` (a module's ``globals()``) that a factory in
    the same module made to the name it is bound to; public names win over private ones."""
    module = namespace["__name__"]
    for name in sorted(namespace, key=lambda key: not key.startswith("_")):
        value = namespace[name]
        if name.startswith("__") or not callable(value) or isinstance(value, type):
            continue
        made_here = getattr(value, "__module__", None) == module
        if made_here and "<locals>" in getattr(value, "__qualname__", ""):
            value.__name__ = value.__qualname__ = name
