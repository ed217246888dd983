"""Turning a list of samples into a batch, as torch's ``default_collate`` does, with
convnet Tensors.

:func:`default_collate` stacks along a new first dimension and keeps the structure of a
sample: tuples and lists become lists, dicts dicts, namedtuples namedtuples, each field
collated on its own. The leaves:

=======================  ===============================================================
sample element           batch
=======================  ===============================================================
Tensor, NumPy array      stacked Tensor ``(batch, *shape)``, same dtype
Python ``int``           int64 Tensor (bool Tensor when all are ``bool``)
Python ``float``         float64 Tensor (as torch, not the default float32)
NumPy scalar             Tensor of its dtype
``str``, ``bytes``       the batch of them unchanged (a list, or a tuple inside a
                         tuple/list sample, as torch)
=======================  ===============================================================

:func:`default_convert` (the DataLoader's choice with ``batch_size=None``) only turns NumPy
arrays and scalars into Tensors, in the same structures.

:func:`collate` is the engine: pass your own ``collate_fn_map`` ``{type: function}`` to
handle a type differently (each function takes the batch and ``collate_fn_map=``).

Example:
    >>> batch = default_collate([(1, 0.5, 'a'), (2, 1.5, 'b')])
    >>> [type(field).__name__ for field in batch], batch[0].dtype, batch[1].dtype, batch[2]
    (['Tensor', 'Tensor', 'tuple'], dtype('int64'), dtype('float64'), ('a', 'b'))
"""

from __future__ import annotations

import collections.abc
import copy
import re
from typing import Callable

import numpy as np

from ...tensor import Tensor, to_array
from ... import dtypes

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

_STRING_OR_OBJECT = re.compile(r"[SaUO]")  # NumPy dtype codes a tensor can't hold

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
          "lists; found {}")


def _rebuild(template, values: dict | list):
    """A container like ``template`` holding ``values`` (torch's rules: a mutable mapping or
    sequence is copied and refilled, so subclasses keep their extra attributes; a tuple
    becomes a list; what cannot be rebuilt becomes a plain dict or list)."""
    if isinstance(template, collections.abc.Mapping):
        try:
            if isinstance(template, collections.abc.MutableMapping):
                clone = copy.copy(template)
                clone.update(values)
                return clone
            return type(template)(values)
        except TypeError:
            return dict(values)
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*values)
    if isinstance(template, tuple):
        return list(values)
    try:
        if isinstance(template, collections.abc.MutableSequence):
            clone = copy.copy(template)
            for position, value in enumerate(values):
                clone[position] = value
            return clone
        return type(template)(values)
    except TypeError:
        return list(values)


def default_convert(data):
    """``data`` with every NumPy array and scalar made a Tensor (string and object arrays
    stay as they are), inside the same dicts, lists and namedtuples; tuples become lists;
    anything else, Python numbers included, is returned unchanged.

    Example:
        >>> import numpy as np
        >>> default_convert(np.arange(2)), default_convert({'x': np.float32(1)}), default_convert(3)
        (tensor([0, 1]), {'x': tensor(1.)}, 3)
    """
    kind = type(data)
    if isinstance(data, Tensor):
        return data
    if kind.__module__ == "numpy" and kind.__name__ not in ("str_", "bytes_", "string_"):
        if isinstance(data, np.ndarray) and _STRING_OR_OBJECT.search(data.dtype.str):
            return data
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) or (isinstance(data, collections.abc.Sequence)
                                   and not isinstance(data, (str, bytes))):
        return _rebuild(data, [default_convert(item) for item in data])
    return data


def _stack_tensors(batch, *, collate_fn_map=None) -> Tensor:
    arrays = [item.data for item in batch]
    if any(array.shape != arrays[0].shape for array in arrays):
        position = next(i for i, a in enumerate(arrays) if a.shape != arrays[0].shape)
        raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                           f"{list(arrays[0].shape)} at entry 0 and "
                           f"{list(arrays[position].shape)} at entry {position}")
    return Tensor(np.stack(arrays))


def _collate_arrays(batch, *, collate_fn_map=None) -> Tensor:
    if _STRING_OR_OBJECT.search(batch[0].dtype.str):
        raise TypeError(_ERROR.format(batch[0].dtype))
    return _stack_tensors([Tensor(to_array(array)) for array in batch])


def _collate_numpy_scalars(batch, *, collate_fn_map=None) -> Tensor:
    return Tensor(np.asarray(batch))


def _collate_floats(batch, *, collate_fn_map=None) -> Tensor:
    return Tensor(np.asarray(batch, dtype=dtypes.float64))


def _collate_ints(batch, *, collate_fn_map=None) -> Tensor:
    return Tensor(batch)  # int64, or bool when every element is a bool (as torch.tensor)


def _keep(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _stack_tensors,
    np.ndarray: _collate_arrays,
    (np.bool_, np.number, np.object_): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _keep,
    bytes: _keep,
}


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate ``batch`` (a list of samples of one structure) field by field, handing each
    leaf to the function of ``collate_fn_map`` registered for its type (exact type first,
    then the first key it is an instance of).

    Example:
        >>> def as_tuple(batch, *, collate_fn_map=None):
        ...     return tuple(batch)
        >>> collate([{'n': 1}, {'n': 2}], collate_fn_map={int: as_tuple})
        {'n': (1, 2)}
    """
    first = batch[0]
    if collate_fn_map is not None:
        if type(first) in collate_fn_map:
            return collate_fn_map[type(first)](batch, collate_fn_map=collate_fn_map)
        for kind, function in collate_fn_map.items():
            if isinstance(first, kind):
                return function(batch, collate_fn_map=collate_fn_map)
    if isinstance(first, collections.abc.Mapping):
        return _rebuild(first, {key: collate([sample[key] for sample in batch],
                                             collate_fn_map=collate_fn_map) for key in first})
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(collate(field, collate_fn_map=collate_fn_map)
                             for field in zip(*batch)))
    if isinstance(first, collections.abc.Sequence):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # each field's batch is a tuple, as torch's (strings come back as that tuple)
        fields = [collate(field, collate_fn_map=collate_fn_map) for field in zip(*batch)]
        return _rebuild(first, fields)
    raise TypeError(_ERROR.format(type(first)))


def default_collate(batch):
    """Stack a list of samples into a batch (see the module's table): numbers and arrays
    become Tensors with a new first dimension, containers are collated field by field.

    Example:
        >>> import numpy as np
        >>> default_collate([np.zeros(3), np.ones(3)]).shape
        (2, 3)
        >>> batch = default_collate([{'x': 1.0, 'ok': True}, {'x': 2.0, 'ok': False}])
        >>> batch['x'].tolist(), batch['x'].dtype, batch['ok'].tolist()
        ([1.0, 2.0], dtype('float64'), [True, False])
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
