"""The one restricted unpickler: how convnet reads the Python pickles it meets (the
``data.pkl`` of a ``torch.save`` archive, CIFAR's batch files) without ``pickle.load``.

A :class:`RestrictedUnpickler` has a table of globals, ``{(module, name): function}``.
``find_class`` hands out an inert :class:`Global` stand-in for each of them, which the pickle's
REDUCE then calls with its arguments (the function checks them and builds plain data), and
refuses any other global the moment the pickle names it: nothing is imported and nothing the
pickle names is ever called. Every stand-in derives from :class:`Inert` (no ``__dict__``;
BUILD, ``__setstate__``, is refused unless a stand-in defines its own). A subclass says what
its files are (``purpose``, used in the refusal), which error type it raises, may map more
names (:meth:`~RestrictedUnpickler.extra_class`) and may accept persistent ids.

Users: :class:`convnet.io.torch_file.TorchUnpickler` and
:class:`convnet.vision.datasets.cifar.CifarUnpickler`.

Example:
    >>> import io
    >>> class Numbers(RestrictedUnpickler):
    ...     purpose = "a list of numbers"
    >>> Numbers(io.BytesIO(b"(I1\\nI2\\nl.")).load()
    [1, 2]
    >>> Numbers(io.BytesIO(b'cos\\nsystem\\n(S"echo hi"\\ntR.')).load()
    Traceback (most recent call last):
    ...
    _pickle.UnpicklingError: the pickle asks for os.system, which a list of numbers never needs; refused (nothing was run)
"""

from __future__ import annotations

import pickle
import re
import reprlib

__all__ = ["RestrictedUnpickler", "Inert", "Global", "show", "fail", "latin1_encode"]


def show(value) -> str:
    """A short one-line repr: a crafted value may be huge or deeply nested."""
    return " ".join(reprlib.repr(value).split())


def fail(why: str):
    raise pickle.UnpicklingError(why)


class Inert:
    """Base of every stand-in an unpickler hands out: no ``__dict__``; BUILD is refused."""
    __slots__ = ()

    def __setstate__(self, state):
        fail(f"the pickle sets the state of a {self}, which these files never do")


class Global(Inert):
    """A global of the table: called by REDUCE, it calls ``function`` (which checks its
    arguments)."""
    __slots__ = ("name", "function")

    def __init__(self, name, function):
        self.name, self.function = name, function

    def __call__(self, *args):
        return self.function(*args)

    def __str__(self):
        return self.name


def latin1_encode(text, encoding="latin1"):
    """``_codecs.encode`` as pickles of bytes use it (protocol 2 stores bytes as latin1 text)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        fail(f"_codecs.encode called with {show(text)}, {show(encoding)}")
    return text.encode("latin1")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only containers, numbers, strings and what ``GLOBALS`` (or
    :meth:`extra_class`) names; see the module docstring."""

    purpose = "this file"                      # "... which <purpose> never needs"
    error: type = pickle.UnpicklingError       # raised for a refused global
    GLOBALS: dict = {}

    def find_class(self, module, name):
        function = self.GLOBALS.get((module, name))
        if function is not None:
            return Global(f"{module}.{name}", function)
        found = self.extra_class(module, name)
        if found is not None:
            return found
        named = f"{module}.{name}"
        if not re.fullmatch(r"[\w.]{1,120}", named):
            named = repr(named[:120])
        raise self.error(f"the pickle asks for {named}, which {self.purpose} never needs; "
                         f"refused (nothing was run)")

    def extra_class(self, module, name):
        """A stand-in for a name outside ``GLOBALS`` (a dtype, a storage type), or None."""
        return None

    def persistent_load(self, pid):
        fail(f"unexpected persistent id {show(pid)}")
