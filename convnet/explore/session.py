"""What the explorer page shows, computed by the library: an :class:`ExploreSession` holds
one model (and its metadata) and answers each API request with plain JSON values.

Example:
    >>> import numpy as np
    >>> from convnet.models import build_model
    >>> model = build_model("digits-cnn", (1, 8, 8), 10, rng=0)
    >>> session = ExploreSession(model, {"input_shape": [1, 8, 8], "classes": list("0123456789")})
    >>> [layer["type"] for layer in session.describe()["layers"]][:3]
    ['Conv2d', 'ReLU', 'Conv2d']
    >>> answer = session.unit({"pixels": np.ones((1, 8, 8)).tolist()}, layer=0, channel=2, y=3, x=4)
    >>> abs(answer["sum"] - answer["forward_value"]) < 1e-5
    True
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, no_grad
from ..nn.leaf_calls import evaluation_mode

MAX_MAPS = 32       # maps sent per layer in the overview
MAX_SAMPLES = 24    # test images offered on the page


class ExploreError(ValueError):
    """A request the session cannot answer; the message is shown on the page."""


def _record(model, batch: np.ndarray) -> list:
    """``(name, module, input, output)`` of every leaf module call, in order (eval, no grad)."""
    from ..nn.leaf_calls import watch_leaf_calls
    if hasattr(model, "trace_nodes"):     # an imported ONNX graph: its nodes are the layers
        with evaluation_mode(model):
            traced = model.trace_nodes(Tensor(batch))
        calls = [(node.name, node, np.asarray(getattr(inputs[0], "data", inputs[0])),
                  np.asarray(getattr(output, "data", output))) for node, inputs, output in traced]
        return calls, calls[-1][3]
    calls = []

    def record(name, module, args, output):
        value = args[0].data if isinstance(args[0], Tensor) else np.asarray(args[0])
        calls.append((name, module, value, output.data))

    with watch_leaf_calls(model, record), no_grad():
        output = model(Tensor(batch))
    return calls, output.data


def _maps(value: np.ndarray) -> dict:
    """A layer output for the page: up to MAX_MAPS maps as 0-255 grey levels (each stretched
    between its own min and max, which are sent beside it), or a vector's values."""
    if value.ndim == 3:
        shown = value[:MAX_MAPS].astype(np.float64)
        low, high = shown.min(axis=(1, 2)), shown.max(axis=(1, 2))
        spread = np.where(high > low, high - low, 1.0)
        grey = np.rint(255 * (shown - low[:, None, None]) / spread[:, None, None]).astype(int)
        return {"maps": grey.tolist(), "low": low.tolist(), "high": high.tolist(),
                "count": int(value.shape[0])}
    flat = value.ravel()
    return {"values": flat[:512].astype(np.float64).tolist(), "count": int(flat.size)}


class ExploreSession:
    """One model for the explorer page.

    Args:
        model: a :class:`convnet.nn.Module` (a ``convnet train`` model or an imported ONNX one).
        metadata: the model file's metadata (``input_shape`` needed; ``classes``,
            ``normalize``, ``dataset``, ``task`` used when present).
        samples: (N, C, H, W) images in [0, 1] to offer (default: the model's test split,
            when it is on this machine).
    """

    def __init__(self, model, metadata: dict, samples=None):
        from ..summary import summary
        if not metadata.get("input_shape"):
            raise ExploreError("the model's metadata gives no input shape")
        self.model, self.metadata = model, metadata
        self.input_shape = tuple(int(v) for v in metadata["input_shape"])
        self.classes = metadata.get("classes")
        self.segmentation = metadata.get("task") == "segmentation"
        self.rows = summary(model, self.input_shape).rows
        self.samples = self._samples() if samples is None else np.asarray(samples, np.float32)

    # ------------------------------------------------------------------ inputs
    def _samples(self) -> np.ndarray:
        dataset = self.metadata.get("dataset")
        if not dataset:
            return np.zeros((0, *self.input_shape), np.float32)
        try:
            from ..data import load_dataset
            data = load_dataset(dataset, "test", download=False)
        except (ValueError, OSError, ImportError):
            return np.zeros((0, *self.input_shape), np.float32)
        if data.image_shape != self.input_shape:
            return np.zeros((0, *self.input_shape), np.float32)
        return data.images[:MAX_SAMPLES].astype(np.float32)

    def image(self, request) -> np.ndarray:
        """(C, H, W) float32 in [0, 1] from ``{"sample": i}`` or ``{"pixels": ...}``."""
        if not isinstance(request, dict):
            raise ExploreError("image: expected {\"sample\": i} or {\"pixels\": [...]}")
        if "sample" in request:
            index = request["sample"]
            if isinstance(index, bool) or not isinstance(index, int) or \
                    not 0 <= index < len(self.samples):
                raise ExploreError(f"sample: expected an index in [0, {len(self.samples)}), "
                                   f"got {index!r}")
            return self.samples[index]
        try:
            pixels = np.asarray(request.get("pixels"), dtype=np.float32)
        except (TypeError, ValueError):
            raise ExploreError("pixels: expected nested lists of numbers") from None
        if pixels.shape != self.input_shape:
            raise ExploreError(f"pixels: expected shape {self.input_shape}, got {pixels.shape}")
        if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 1:
            raise ExploreError("pixels: expected finite values in [0, 1]")
        return pixels

    def upload(self, data: bytes, drawing: bool = False) -> dict:
        """An uploaded image file as the model's input: ``{"pixels", "preprocessing"}``.

        A photo is resized whole; a ``drawing`` from the page's canvas is prepared as the
        model's training images were (:mod:`.drawing`: cropped, scaled and centred for a
        digits or MNIST model), and ``preprocessing`` says which recipe ran."""
        import os
        import tempfile
        from ..data.image_file import read_image
        from .drawing import prepare_drawing, recipe_for
        channels, height, width = self.input_shape
        recipe = recipe_for(self.metadata.get("dataset")) if drawing and channels == 1 else None
        with tempfile.TemporaryDirectory() as folder:   # the one image reader and its guards
            path = os.path.join(folder, "upload")
            with open(path, "wb") as handle:
                handle.write(data)
            try:
                if recipe is None:
                    pixels = read_image(path, "L" if channels == 1 else "RGB", (height, width))
                    how = f"resized to {height}x{width}"
                else:
                    canvas = read_image(path, "L")[0]
                    pixels, how = prepare_drawing(canvas, recipe, self.input_shape)
            except (ValueError, OSError) as error:
                message = str(error).replace(path, "the upload")
                raise ExploreError(f"upload: not an image this page can read ({message})") from None
        return {"pixels": pixels.astype(np.float64).tolist(), "preprocessing": how}

    def _normalized(self, image: np.ndarray) -> np.ndarray:
        """(1, C, H, W) float32: the image normalised as the model's training data was."""
        from ..data.loader import normalize_images
        batch = image[None].astype(np.float32)
        normalize = self.metadata.get("normalize")
        return normalize_images(batch, normalize["mean"], normalize["std"]) if normalize else batch

    # ------------------------------------------------------------------ answers
    def describe(self) -> dict:
        layers = [{"index": index, "name": row.name, "type": row.type, "notation": row.notation,
                   "shape": list(row.output_shape[1:]), "params": row.params}
                  for index, row in enumerate(self.rows)]
        return {"input_shape": list(self.input_shape), "classes": self.classes,
                "segmentation": self.segmentation, "layers": layers,
                "samples": len(self.samples), "arch": self.metadata.get("arch")}

    def forward(self, request) -> dict:
        image = self.image(request)
        calls, output = _record(self.model, self._normalized(image))
        scores = output[0].astype(np.float64)
        scores = np.exp(scores - scores.max(axis=0))
        probabilities = scores / scores.sum(axis=0)
        answer = {"image": image.astype(np.float64).tolist(),
                  "layers": [_maps(value[0]) for _, _, _, value in calls]}
        if probabilities.ndim == 3:    # a label per pixel
            mask = probabilities.argmax(axis=0)
            answer["mask"] = mask.tolist()
            answer["shares"] = (np.bincount(mask.ravel(), minlength=len(probabilities))
                                / mask.size).tolist()
            from ..viz.segmentation import PALETTE
            answer["palette"] = PALETTE[np.arange(len(probabilities)) % 255].tolist()
        else:
            answer["probabilities"] = probabilities.tolist()
            answer["predicted"] = int(np.argmax(probabilities))
        return answer

    def _layer(self, layer):
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(self.rows):
            raise ExploreError(f"layer: expected an index in [0, {len(self.rows)}), got {layer!r}")
        return layer

    def unit(self, request, layer, channel, y=0, x=0) -> dict:
        from .units import residual_unit, unit
        layer = self._layer(layer)
        if hasattr(self.model, "trace_nodes"):
            raise ExploreError("the unit view is for convnet layers; the nodes of an imported "
                               "ONNX graph show their maps only")
        calls, _ = _record(self.model, self._normalized(self.image(request)))
        name, module, layer_input, layer_output = calls[layer]
        layer_input, layer_output = layer_input[0], layer_output[0]
        for label, value, size in (("channel", channel, layer_output.shape[0]),
                                   ("y", y, layer_output.shape[1] if layer_output.ndim == 3 else 1),
                                   ("x", x, layer_output.shape[2] if layer_output.ndim == 3 else 1)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
                raise ExploreError(f"{label}: expected an index in [0, {size}), got {value!r}")
        try:
            block = self._residual_block(name)
            if block is not None:
                parent = name.rsplit(".", 1)[0]
                seen = {call[0]: call for call in calls}
                block_input = seen[f"{parent}.conv1"][2][0]    # (name, module, input, output)
                branch = seen[f"{parent}.bn2"][3][0]
                answer = residual_unit(block, block_input, branch, layer_output, channel, y, x)
            else:
                answer = unit(module, layer_input, layer_output, channel, y, x)
        except ValueError as error:
            raise ExploreError(str(error)) from None
        answer.update(layer=layer, name=name, channel=channel, y=y, x=x,
                      field=self._field(layer, y, x))
        if layer + 1 < len(calls) and type(calls[layer + 1][1]).__name__ == "ReLU":
            answer["after_relu"] = max(answer["forward_value"], 0.0)
        return answer

    def _residual_block(self, name: str):
        """The BasicBlock whose output (the ReLU after the shortcut addition) row ``name`` is,
        else None."""
        from ..nn.residual import BasicBlock
        if not name.endswith(".sum_relu"):
            return None
        try:
            block = self.model.get_submodule(name.rsplit(".", 1)[0])
        except AttributeError:
            return None
        return block if isinstance(block, BasicBlock) else None

    def _field(self, layer, y, x):
        """The unit's receptive field on the input: [top, left, bottom, right] (inclusive)."""
        field = self.rows[layer].receptive_field
        if field in (None, "all") or len(field) != 2:
            return None if field is None else "all"
        box = []
        for f, index in zip(field, (y, x)):
            centre = f.start + f.jump * index
            box.append((centre - (f.size - 1) / 2, centre + (f.size - 1) / 2))
        return [box[0][0], box[1][0], box[0][1], box[1][1]]

    def filters(self, layer) -> dict:
        from ..nn.conv import _ConvNd
        layer = self._layer(layer)
        name = self.rows[layer].name
        module = dict(self.model.named_modules()).get(name)
        if not isinstance(module, _ConvNd) or module.spatial_dims != 2:
            raise ExploreError(f"filters: layer {layer} ({self.rows[layer].type}) is not a 2-D "
                               f"convolution")
        weight = module.weight.data[:64].astype(np.float64)
        return {"layer": layer, "name": name, "shape": list(module.weight.shape),
                "filters": weight.tolist()}

    def saliency(self, request, target=None) -> dict:
        from ..viz.inspect import saliency_map
        if self.segmentation:
            raise ExploreError("saliency: shown for classifiers (one score per class)")
        image = self._normalized(self.image(request))[0]
        classes = len(self.classes) if self.classes else None
        if target is not None and (isinstance(target, bool) or not isinstance(target, int)
                                   or (classes and not 0 <= target < classes)):
            raise ExploreError(f"target: expected a class index, got {target!r}")
        try:
            saliency = saliency_map(self.model, image, target)
        except ValueError as error:
            raise ExploreError(f"saliency: {error}") from None
        answer = {"saliency": saliency.astype(np.float64).tolist()}
        answer["gradcam"] = self._gradcam(image, target)
        return answer

    def _gradcam(self, image, target):
        """Grad-CAM (Selvaraju et al. 2017) at the last module to finish with feature maps
        (any model: for a residual network, the output of its last stage, after the
        additions): ReLU(sum_k mean(d score / d A_k) A_k), upsampled to the input."""
        from .. import functional as F
        finished = []   # (name, output) of every module, in the order they finish
        hooks = [module.register_forward_hook(
                     lambda module, args, output, name=name: finished.append((name, output)))
                 for name, module in self.model.named_modules() if name]
        parameters = [(p, p.requires_grad) for p in self.model.parameters()]
        try:
            for parameter, _ in parameters:   # the model's own gradients stay untouched
                parameter.requires_grad = False
            with evaluation_mode(self.model):
                scores = self.model(Tensor(image[None], requires_grad=True))
            found = [(name, output) for name, output in finished if isinstance(output, Tensor)
                     and output.ndim == 4 and output.shape[2] > 1]
            if not found or scores.ndim != 2:
                return None
            name, maps = found[-1]
            maps.retain_grad()
            chosen = int(np.argmax(scores.data[0])) if target is None else target
            upstream = np.zeros(scores.shape, scores.dtype)
            upstream[0, chosen] = 1
            scores.backward(upstream)
        finally:
            for handle in hooks:
                handle.remove()
            for parameter, flag in parameters:
                parameter.requires_grad = flag
        weights = maps.grad[0].mean(axis=(1, 2))
        cam = np.maximum((weights[:, None, None] * maps.data[0]).sum(axis=0), 0)
        with no_grad():
            cam = F.interpolate(Tensor(cam[None, None].astype(np.float32)),
                                size=self.input_shape[1:], mode="bilinear").data[0, 0]
        return {"map": cam.astype(np.float64).tolist(), "layer": name}

    def playground(self, request) -> dict:
        from .playground import playground
        try:
            return playground(**request)
        except (TypeError, ValueError) as error:
            raise ExploreError(f"playground: {error}") from None
