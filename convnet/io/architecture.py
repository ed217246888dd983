"""A module tree as JSON-able data, and back, without running code named by the data.

A module is ``{"class": "Conv2d", "args": {...}}``: class name and constructor
arguments (``Module.init_args``) minus ``rng`` (weights come from the file);
Sequential and ModuleList record their current children (appended ones too). Values
other than None, bool, int, finite float, str and lists are one-key tagged objects:
``{"tuple": [...]}``, ``{"dict": {...}}`` (str keys), ``{"items": [[key, value], ...]}``,
``{"type": "float32"}`` (``np.float32``, ``float``...), ``{"dtype": "float32"}``,
``{"float": "nan"}``, inline base64 ``{"ndarray": {...}}`` / ``{"scalar": {...}}``, and
``{"tensor": name}`` / ``{"scalar_tensor": name}`` (arrays stored beside the JSON).

Rebuilding looks class names up in a whitelist: convnet.nn's public Module classes
plus the ``classes`` the caller passes; nothing is imported or evaluated.

Example:
    >>> import numpy as np, convnet.nn as nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding='same', dtype=np.float64), nn.ReLU())
    >>> description, _ = describe(model)
    >>> description['args']['modules'][0]
    {'class': 'Conv2d', 'args': {'in_channels': 1, 'out_channels': 4, 'kernel_size': 3, 'padding': 'same', 'dtype': {'type': 'float64'}}}
    >>> build(description)[0].weight.dtype
    dtype('float64')
"""

from __future__ import annotations

import base64
import importlib
import inspect
import math

import numpy as np

from .. import random as _random

__all__ = ["describe", "build", "public_classes", "Encoder", "Decoder"]

_DTYPES = {np.dtype(name).name: np.dtype(name) for name in (
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64", "complex64", "complex128")}
_BUILTIN_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex}
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def public_classes() -> dict:
    """convnet.nn's public Module classes by name: what :func:`build` rebuilds without help.

    Example:
        >>> public_classes()['Conv2d'].__name__
        'Conv2d'
    """
    from .. import nn
    return {name: cls for name in nn.__all__ if isinstance(cls := getattr(nn, name), type)
            and issubclass(cls, nn.Module) and cls is not nn.Module}


def _plain_dtype(dtype) -> np.dtype | None:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return None
    return dtype if _DTYPES.get(dtype.name) == dtype else None


class Encoder:
    """Turns values (and, with ``modules=True``, Modules) into JSON-able data.

    Arrays go into the dict ``tensors`` (under unique names) when one is given, else
    inline as base64. ``classes`` collects the classes of the modules seen.

    Example:
        >>> Encoder().value((1, None, 2.5, float('inf')), 'x')
        {'tuple': [1, None, 2.5, {'float': 'inf'}]}
    """

    def __init__(self, tensors: dict | None = None, modules: bool = False):
        self.tensors, self.modules, self.classes = tensors, modules, {}
        self.public = public_classes() if modules else {}

    def fail(self, where: str, value, why: str = ""):
        raise ValueError(f"{where}: cannot record a value of type {type(value).__name__} "
                         f"({value!r:.80}){why}")

    def value(self, value, where: str):
        from ..nn import Module
        if isinstance(value, (np.ndarray, np.generic)):
            return self.array(np.asarray(value), where, scalar=isinstance(value, np.generic))
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, Module) and self.modules:
            return self.module(value, where)
        if isinstance(value, (list, tuple)):
            items = [self.value(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return items if isinstance(value, list) else {"tuple": items}
        if isinstance(value, dict):
            if all(isinstance(key, str) for key in value):
                return {"dict": {key: self.value(item, f"{where}[{key!r}]")
                                 for key, item in value.items()}}
            return {"items": [[self.value(key, f"{where} key"), self.value(item, f"{where}[{key!r}]")]
                              for key, item in value.items()]}
        if isinstance(value, type) and value in _BUILTIN_TYPES.values():
            return {"type": value.__name__}
        if isinstance(value, type) and issubclass(value, np.generic) and _plain_dtype(value):
            return {"type": np.dtype(value).name}
        if isinstance(value, np.dtype) and _plain_dtype(value) is not None:
            return {"dtype": value.name}
        self.fail(where, value)

    def array(self, array: np.ndarray, where: str, scalar: bool = False):
        if _plain_dtype(array.dtype) is None:
            self.fail(where, array, f": arrays must have one of the dtypes {sorted(_DTYPES)}")
        array = np.asarray(array, dtype=_DTYPES[array.dtype.name], order="C")
        if self.tensors is not None:
            name, count = where, 1
            while name in self.tensors:
                name, count = f"{where}#{count}", count + 1
            self.tensors[name] = array
            return {"scalar_tensor" if scalar else "tensor": name}
        data = base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode()
        return {"scalar" if scalar else "ndarray":
                {"dtype": array.dtype.name, "shape": list(array.shape), "base64": data}}

    def module(self, module, where: str) -> dict:
        from ..nn import ModuleList, Sequential
        made = _vision_recipe(module)
        if made is not None:  # a convnet.vision builder's model: the call that makes it
            builder, arguments = made
            return {"class": VISION_PREFIX + builder,
                    "args": {key: self.value(value, f"{where}.{key}")
                             for key, value in arguments.items()}}
        cls, name = type(module), type(module).__name__
        public = self.public.get(name)
        if public is not None and public is not cls:
            raise ValueError(f"{where}: class {cls.__module__}.{name} has the name of "
                             f"convnet.nn.{name}, so a file could not tell them apart; rename it")
        if self.classes.setdefault(name, cls) is not cls:
            raise ValueError(f"{where}: two different classes are both named {name!r}; "
                             f"rename one so that load() can tell them apart")
        if cls in (Sequential, ModuleList):
            args = {"modules": [self.module(child, f"{where}.{key}")
                                for key, child in module.named_children()]}
        else:
            args = {key: self.value(value, f"{where}.{key}")
                    for key, value in module.init_args.items() if key != "rng"}
        return {"class": name, "args": args}


class Decoder:
    """Inverse of :class:`Encoder`: ``tensors`` holds the stored arrays (``used`` records
    those referenced), ``classes`` is the whitelist of Module classes (None: no modules).

    Example:
        >>> Decoder().value({'tuple': [1, {'type': 'float32'}]}, 'x')
        (1, <class 'numpy.float32'>)
    """

    def __init__(self, tensors: dict | None = None, classes: dict | None = None):
        self.tensors, self.classes, self.used = tensors, classes, set()

    def fail(self, where: str, why: str):
        raise ValueError(f"{where}: {why}")

    def value(self, data, where: str):
        if data is None or isinstance(data, (bool, str, int, float)):
            return data
        if isinstance(data, list):
            return [self.value(item, f"{where}[{index}]") for index, item in enumerate(data)]
        if not isinstance(data, dict):
            self.fail(where, f"unexpected JSON value {data!r:.80}")
        if set(data) == {"class", "args"} and self.classes is not None:
            return self.module(data, where)
        if len(data) != 1:
            self.fail(where, f"unexpected JSON object with keys {sorted(data)[:5]}")
        tag, body = next(iter(data.items()))
        name = body if isinstance(body, str) else None  # lists and dicts cannot be looked up
        if tag == "tuple" and isinstance(body, list):
            return tuple(self.value(item, f"{where}[{index}]") for index, item in enumerate(body))
        if tag == "dict" and isinstance(body, dict):
            return {key: self.value(item, f"{where}[{key!r}]") for key, item in body.items()}
        if tag == "items" and isinstance(body, list) and all(
                isinstance(pair, list) and len(pair) == 2 for pair in body):
            pairs = [(self.value(key, f"{where} key"), self.value(item, f"{where}[{key!r}]"))
                     for key, item in body]
            try:
                return dict(pairs)
            except TypeError:
                self.fail(where, "a dict key is not hashable")
        if tag == "type" and name in _BUILTIN_TYPES:
            return _BUILTIN_TYPES[name]
        if tag in ("type", "dtype") and name in _DTYPES:
            return _DTYPES[name].type if tag == "type" else _DTYPES[name]
        if tag == "float" and name in _NONFINITE:
            return _NONFINITE[name]
        if tag in ("ndarray", "scalar") and isinstance(body, dict):
            array = self.inline_array(body, where)
            return array[()] if tag == "scalar" else array
        if tag in ("tensor", "scalar_tensor") and name is not None and self.tensors is not None:
            if name not in self.tensors:
                self.fail(where, f"the file has no tensor {name!r}")
            array = self.tensors[name]
            self.used.add(name)
            if tag == "scalar_tensor" and array.ndim:
                self.fail(where, f"tensor {name!r} should be a scalar, has shape {array.shape}")
            return array[()] if tag == "scalar_tensor" else array
        self.fail(where, f"unexpected JSON object {{{tag!r}: {body!r:.60}}}")

    def inline_array(self, body: dict, where: str) -> np.ndarray:
        try:
            dtype = _DTYPES[body["dtype"]].newbyteorder("<")
            shape = tuple(int(size) for size in body["shape"])
            raw = base64.b64decode(body["base64"], validate=True)
            return np.frombuffer(raw, dtype).astype(dtype.newbyteorder("=")).reshape(shape)
        except (KeyError, TypeError, ValueError) as error:
            self.fail(where, f"malformed inline array ({error})")

    def module(self, data: dict, where: str):
        name, args = data["class"], data["args"]
        if not isinstance(name, str) or not isinstance(args, dict):
            self.fail(where, "a module needs a class name and an object of arguments")
        if name.startswith(VISION_PREFIX):
            return self.vision_model(name[len(VISION_PREFIX):], args, where)
        cls = self.classes.get(name)
        if cls is None:
            self.fail(where, f"the file describes a {name!r} module, which is not a convnet.nn "
                             f"class; pass classes={{{name!r}: {name}}} to load() to rebuild it "
                             f"with your class")
        values = {key: [self.value(item, f"{where}.{index}") for index, item in enumerate(value)]
                  if key == "modules" and isinstance(value, list)  # children named as in state_dict
                  else self.value(value, f"{where}.{key}") for key, value in args.items()}
        try:
            positional, keywords = _call_arguments(cls, values)
            return cls(*positional, **keywords)
        except Exception as error:  # the constructor is user code: report, never crash deep inside
            self.fail(where, f"rebuilding {name} from the file's arguments failed: {error}")


    def vision_model(self, builder: str, args: dict, where: str):
        """A registered convnet.vision builder called with the recorded keyword arguments
        (a name the registry does not hold is refused: nothing else is looked up). The
        registry is imported by name here: convnet.io does not depend on convnet.vision."""
        registry = importlib.import_module("convnet.vision.models._registry")
        if builder not in registry.list_models():
            self.fail(where, f"the file names the convnet.vision model {builder!r}, which this "
                             f"version does not have")
        values = {key: self.value(value, f"{where}.{key}") for key, value in args.items()}
        try:
            return registry.get_model(builder, **values)
        except Exception as error:
            self.fail(where, f"rebuilding {builder} from the file's arguments failed: {error}")


VISION_PREFIX = "convnet.vision.models."


def state_layout(module) -> tuple:
    """``((key, shape), ...)`` of ``module.state_dict()``: what a rebuilt model must match.

    Example:
        >>> import convnet.nn as nn
        >>> state_layout(nn.Linear(3, 2))
        (('weight', (2, 3)), ('bias', (2,)))
    """
    return tuple((key, np.shape(value)) for key, value in module.state_dict().items())


def _vision_recipe(module):
    """``(builder name, keyword arguments)`` recorded on ``module`` by convnet.vision's
    registry, if the module's state-dict layout is still the one the builder made."""
    made = getattr(module, "_vision_recipe", None)
    if made is None or state_layout(module) != made[2]:
        return None
    return made[0], dict(made[1])


def _call_arguments(cls, values: dict) -> tuple[list, dict]:
    """Split recorded arguments into a call, positional while the signature requires it."""
    P = inspect.Parameter
    parameters = list(inspect.signature(cls).parameters.values())
    unknown = set(values) - {parameter.name for parameter in parameters}
    if unknown:
        raise TypeError(f"{cls.__name__}() takes no argument(s) {sorted(unknown)}")
    positional, keywords, in_order = [], {}, True
    for parameter in parameters:
        if parameter.name not in values:
            in_order = in_order and parameter.kind not in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
            continue
        value = values[parameter.name]
        if parameter.kind == P.VAR_POSITIONAL:
            if not in_order or not isinstance(value, (list, tuple)):
                raise TypeError(f"cannot pass *{parameter.name} = {value!r:.60}")
            positional.extend(value)
        elif parameter.kind == P.VAR_KEYWORD:
            if not isinstance(value, dict):
                raise TypeError(f"**{parameter.name} must be a dict, got {value!r:.60}")
            keywords.update(value)
        elif parameter.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD) and in_order:
            positional.append(value)
        else:
            keywords[parameter.name] = value
    return positional, keywords


def describe(model) -> tuple[dict, dict]:
    """``({"class": ..., "args": ...}, {class name: class})`` for ``model`` and its submodules.

    Raises ValueError naming the argument when a constructor argument cannot be recorded.

    Example:
        >>> import convnet.nn as nn
        >>> describe(nn.Linear(3, 2, rng=0))[0]
        {'class': 'Linear', 'args': {'in_features': 3, 'out_features': 2}}
    """
    encoder = Encoder(modules=True)
    return encoder.module(model, "model"), encoder.classes


def build(description: dict, classes: dict | None = None):
    """Rebuild the module tree of ``description``, with classes from convnet.nn or ``classes``.

    The library's random generator is left as it was. Raises ValueError naming the
    place in the description on unknown classes or malformed data.

    Example:
        >>> build({'class': 'Linear', 'args': {'in_features': 3, 'out_features': 2}}).weight.shape
        (2, 3)
    """
    from ..nn import Module
    if classes is not None and not (isinstance(classes, dict) and all(
            isinstance(name, str) and isinstance(cls, type) and issubclass(cls, Module)
            for name, cls in classes.items())):
        raise TypeError(f"classes: expected a dict of name -> Module subclass, got {classes!r:.80}")
    if not isinstance(description, dict) or set(description) != {"class", "args"}:
        raise ValueError("architecture: expected an object with 'class' and 'args', got "
                         f"{description!r:.80}")
    registry = public_classes()
    registry.update(classes or {})
    generator = _random.default_rng()
    state = generator.bit_generator.state  # rebuilding draws initial weights: keep the user's stream
    try:
        return Decoder(classes=registry).module(description, "model")
    finally:
        generator.bit_generator.state = state
