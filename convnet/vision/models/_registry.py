"""Models by name and the ``weights=`` argument, as ``torchvision.models`` has them.

- :func:`register_model` records a builder under its name with the file names of
  torchvision's published weights for it (``'IMAGENET1K_V1': 'resnet18-f37072fd.pth'``).
- :func:`list_models`, :func:`get_model`, :func:`get_model_builder`: torchvision's functions.
- :func:`build`: what every builder does with ``weights=``:

  - ``None``: a model initialised as torchvision initialises it;
  - a path to a file written by ``torch.save`` (torchvision's ``.pth`` files, or any saved
    ``state_dict``) or by :func:`convnet.save` / :func:`convnet.save_weights`: the model is
    built without drawing initial weights and the file's weights are loaded (strictly: a
    missing, unexpected or wrongly shaped key is a ValueError naming it). ``num_classes``
    defaults to the number of rows of the file's classifier weight (1000 for torchvision's);
  - a ``state_dict`` (a mapping of names to arrays or Tensors): loaded the same way;
  - a name of torchvision's weights (``'IMAGENET1K_V1'``, ``'DEFAULT'``,
    ``'ResNet18_Weights.IMAGENET1K_V1'``, torchvision's enum itself, or ``pretrained=True``):
    convnet downloads nothing, so this raises a one-line ValueError naming the file to
    download once from ``https://download.pytorch.org/models/<file>`` and pass as a path.

Example:
    >>> from convnet.vision.models import get_model, list_models
    >>> [name for name in list_models() if name.startswith('resnet')]
    ['resnet101', 'resnet152', 'resnet18', 'resnet34', 'resnet50']
    >>> get_model('squeezenet1_1', num_classes=10).classifier[1].weight.shape
    (10, 512, 1, 1)
    >>> get_model('resnet18', weights='IMAGENET1K_V1')  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    ValueError: resnet18: weights='IMAGENET1K_V1' names torchvision's ... download
    resnet18-f37072fd.pth once from https://download.pytorch.org/models/resnet18-f37072fd.pth ...
"""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Mapping

import numpy as np

from ...io.architecture import state_layout
from ...nn.init import skip_init

__all__ = ["register_model", "list_models", "get_model", "get_model_builder", "build",
           "read_state_dict", "recipe", "DOWNLOAD_URL"]

DOWNLOAD_URL = "https://download.pytorch.org/models/{file}"

_BUILDERS: dict = {}   # name -> builder function
_WEIGHTS: dict = {}    # name -> (torchvision's enum name, {weight name: file name}, default name)


def register_model(name: str | None = None, *, enum: str, files: dict,
                   default: str = "IMAGENET1K_V1"):
    """Decorator: record ``builder`` as model ``name`` (default: the function's name), with
    torchvision's weight enum name and published weight files. A model the builder makes
    without ``weights`` remembers the call (:func:`recipe`), so :func:`convnet.save` can
    write it as ``builder(**arguments)`` and :func:`convnet.load` rebuild it."""
    def record(builder):
        key = builder.__name__ if name is None else name
        if key in _BUILDERS:
            raise ValueError(f"register_model: a model named {key!r} is already registered")

        @functools.wraps(builder)
        def remembered(*, weights=None, progress: bool = True, **kwargs):
            model = builder(weights=weights, progress=progress, **kwargs)
            if weights is None and not kwargs.get("pretrained"):
                object.__setattr__(model, "_vision_recipe", (key, dict(kwargs),
                                                             state_layout(model)))
            return model

        _BUILDERS[key] = remembered
        _WEIGHTS[key] = (enum, dict(files), default)
        return remembered
    return record


def recipe(model):
    """``(builder name, keyword arguments)`` when ``model`` is as a registered builder made it
    without weights (the same state-dict keys and shapes: a replaced layer breaks the match),
    else None.

    Example:
        >>> from convnet.vision.models import squeezenet1_1
        >>> recipe(squeezenet1_1(num_classes=3))
        ('squeezenet1_1', {'num_classes': 3})
    """
    from ...io.architecture import _vision_recipe
    return _vision_recipe(model)


def list_models(module=None, include=None, exclude=None) -> list[str]:
    """Sorted names of the registered models, as ``torchvision.models.list_models``.

    ``module``: only the models whose builder lives in that module or package (e.g.
    ``convnet.vision.models.resnet``); ``include`` / ``exclude``: a shell-style pattern or
    a list of them (``'resnet*'``), applied in that order.

    Example:
        >>> list_models(include='mobilenet*')
        ['mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small']
    """
    names = [name for name, builder in _BUILDERS.items()
             if module is None or builder.__module__ == module.__name__
             or builder.__module__.startswith(module.__name__ + ".")]
    if include is not None:
        patterns = [include] if isinstance(include, str) else list(include)
        names = [name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)]
    if exclude is not None:
        patterns = [exclude] if isinstance(exclude, str) else list(exclude)
        names = [name for name in names if not any(fnmatch.fnmatch(name, p) for p in patterns)]
    return sorted(names)


def get_model_builder(name: str):
    """The builder function of model ``name`` (e.g. :func:`resnet18` for ``'resnet18'``)."""
    key = name.lower() if isinstance(name, str) else name
    if key not in _BUILDERS:
        raise ValueError(f"Unknown model {name!r}; known models: {', '.join(list_models())}")
    return _BUILDERS[key]


def get_model(name: str, **config):
    """Model ``name`` built with ``config`` (``weights``, ``num_classes``, ...), as
    ``torchvision.models.get_model``.

    Example:
        >>> get_model('resnet18', num_classes=10).fc
        Linear(in_features=512, out_features=10, bias=True)
    """
    return get_model_builder(name)(**config)


def _weight_name(arch: str, weights) -> tuple[str, str] | None:
    """(weight name, file) when ``weights`` names torchvision's published weights, else None."""
    enum, files, default = _WEIGHTS[arch]
    url = getattr(weights, "url", None)
    if isinstance(url, str) and not isinstance(weights, (str, os.PathLike)):  # torchvision's enum
        return f"{type(weights).__name__}.{getattr(weights, 'name', '?')}", url.rsplit("/", 1)[-1]
    if not isinstance(weights, str):
        return None
    name = weights
    prefix, dot, rest = weights.rpartition(".")
    if dot and prefix.rpartition(".")[2].lower() == enum.lower():  # 'ResNet18_Weights.DEFAULT'
        name = rest
    name = default if name.upper() == "DEFAULT" else name
    if name.upper() in files:
        return f"{enum}.{name.upper()}", files[name.upper()]
    return None


def _download_error(arch: str, asked: str, named: str, file: str) -> ValueError:
    url = DOWNLOAD_URL.format(file=file)
    return ValueError(
        f"{arch}: {asked} names torchvision's {named}, and convnet downloads nothing: "
        f"download {file} once from {url} (torchvision's URL pattern: "
        f"{DOWNLOAD_URL.format(file='<file>')}) and pass its path: "
        f"{arch}(weights='path/to/{file}')")


def read_state_dict(path) -> dict:
    """The ``state_dict`` in ``path``: a ``torch.save`` file (read without torch and without
    unpickling code), or a safetensors file written by :func:`convnet.save` (a model or a
    state_dict) or :func:`convnet.save_weights`."""
    from ... import io
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights: no such file {path!r}; expected None, a path to a file "
                                f"saved by torch.save or convnet.save, or a state_dict")
    if _safetensors_format(path) in (io.MODEL_FORMAT, io.WEIGHTS_FORMAT):
        import safetensors.numpy  # a model's tensors are its state_dict: no need to rebuild it
        return safetensors.numpy.load_file(path)
    loaded = io.load(path)
    if isinstance(loaded, Mapping) and "state_dict" in loaded and isinstance(
            loaded["state_dict"], Mapping):  # a checkpoint {'state_dict': ..., 'epoch': ...}
        return loaded["state_dict"]
    if not isinstance(loaded, Mapping):
        raise ValueError(f"weights: {path} holds a {type(loaded).__name__}, not a state_dict")
    return loaded


def _safetensors_format(path: str):
    try:
        import safetensors
        with safetensors.safe_open(path, framework="numpy") as handle:
            return (handle.metadata() or {}).get("format")
    except Exception:  # not a safetensors file (a torch.save file): io.load reads it
        return None


def _classifier_key(model):
    """Key of the model's last weight of at least two dimensions: the classifier's."""
    keys = [key for key, value in model.state_dict().items()
            if key.endswith("weight") and np.ndim(value) >= 2]
    return keys[-1] if keys else None


def build(arch: str, make, weights, progress: bool, kwargs: dict, rename=None):
    """``make(**kwargs)`` with ``weights`` applied as documented in this module.

    ``rename(state_dict) -> state_dict``: a family's translation of older key names.
    ``progress`` is accepted for torchvision's signature; nothing is downloaded.
    """
    if arch not in _WEIGHTS:
        raise ValueError(f"build: unknown model {arch!r}")
    asked = f"weights={weights!r}" if isinstance(weights, str) else "weights"
    if kwargs.pop("pretrained", False) and weights is None:  # torchvision's legacy argument
        weights, asked = "DEFAULT", "pretrained=True"
    named = _weight_name(arch, weights)
    if named is not None:
        asked = asked if isinstance(weights, str) else f"weights={named[0]}"
        raise _download_error(arch, asked, *named)
    if weights is None:
        return make(**kwargs)
    if isinstance(weights, Mapping):
        state = weights
    elif isinstance(weights, (str, os.PathLike)):
        if isinstance(weights, str) and not os.path.exists(weights) and (
                weights.replace("_", "").isalnum() and weights == weights.upper()):
            enum, files, _ = _WEIGHTS[arch]
            raise ValueError(f"{arch}: weights={weights!r} is neither a file nor one of "
                             f"{enum}'s names ({', '.join([*files, 'DEFAULT'])})")
        state = read_state_dict(weights)
    else:
        raise TypeError(f"weights: expected None, a path, a state_dict or a torchvision weight "
                        f"name, got {type(weights).__name__} ({weights!r:.40})")
    if rename is not None:
        state = rename(state)
    with skip_init():  # every value is about to come from the weights
        model = make(**kwargs)
        key = _classifier_key(model)
        if "num_classes" not in kwargs and key in state:  # a fine-tuned file's classes
            rows = int(np.shape(getattr(state[key], "data", state[key]))[0])
            if rows != np.shape(model.state_dict()[key])[0]:
                model = make(**kwargs, num_classes=rows)
    model.load_state_dict(state)
    return model
