"""``convnet filter``, ``convnet match`` and ``convnet show``: looking at images and networks.

- ``convnet filter IMAGE --kernel NAME|FILE -o OUT.png``: one classic filter (seed 000:
  high-pass, box, Sobel, ...) applied to a grayscale version of IMAGE; ``--convolve``
  flips the kernel (true convolution) instead of correlating with it.
- ``convnet filter IMAGE --orientation -o OUT.png``: seed 000's coloured edge picture,
  the Sobel gradient's angle as hue and its strength as brightness.
- ``convnet match IMAGE TEMPLATE -o OUT.png``: template matching (seed 001's matched
  filter): the image with the best match outlined, beside the score heat map.
- ``convnet show MODEL IMAGE --layer N -o OUT.png``: the image, its saliency map and the
  feature maps of layer N of a model written by ``convnet train``.

How pictures are scaled for viewing (a filter's output is any real number; a PNG holds 0..1):

- ``abs`` (default of ``filter``): ``|out| / max |out|``. Zero is black whatever the sign, so
  flat regions are black and edges of either sign are bright, as in the notes' high-pass
  and Sobel pictures.
- ``minmax``: ``(out - min) / (max - min)``: the full range of gray, negative values darker
  than positive ones (the box filter's blur looks like the image).
- ``clip``: ``out`` clipped to [0, 1] without rescaling (right for kernels that keep the
  range, such as the box filter or a sharpening kernel).

Heat maps (``match``, saliency) are min-max scaled and drawn with a black-red-yellow-white
colour scale, brighter meaning a better match or a more sensitive pixel (for ``ssd``, where
lower is better, the map shows the negated distance). Feature maps in ``show`` are min-max
scaled each on its own. Every PNG is written atomically (``convnet.io.atomic``).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

SCALINGS = ("abs", "minmax", "clip")
MODES = ("same", "valid", "full")
BOUNDARIES = ("zero", "clamp", "wrap", "mirror", "mirror-edge")
METHODS = ("ncc", "ssd", "correlation")
GAP = 4  # pixels of gray between the panels of a picture


def add_parsers(commands) -> None:
    filter_parser = commands.add_parser(
        "filter", help="apply a classic image filter (or draw edge orientation) to an image",
        description="Filter a grayscale version of IMAGE (RGB for a (3, kh, kw) kernel) and "
                    "write the result as a PNG, scaled for viewing (--scale).")
    filter_parser.add_argument("image", help="an image file (PNG, JPEG, ...)")
    what = filter_parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--kernel", metavar="NAME|FILE",
                      help="a named kernel (high_pass, box, box5, sobel_x, sobel_y, sharpen, "
                           "laplacian, line_diagonal, ...; case, '-' and '_' ignored) or a "
                           "kernel in a .npy file or a .txt file of rows of numbers")
    what.add_argument("--orientation", action="store_true",
                      help="Sobel gradient angle as colour, strength as brightness")
    # values are checked in run_filter, not with argparse choices, so a mistake is one line
    filter_parser.add_argument("--mode", default="same",
                               help="output size: same (default), valid or full")
    filter_parser.add_argument("--boundary", default="clamp",
                               help="pixels assumed outside the image: zero, clamp (default: "
                                    "the nearest edge pixel, so the border makes no false "
                                    "edges), wrap, mirror (d c b | a b c d) or mirror-edge "
                                    "(c b a | a b c d)")
    filter_parser.add_argument("--convolve", action="store_true",
                               help="true convolution (kernel flipped) instead of correlation")
    filter_parser.add_argument("--scale", default="abs",
                               help="abs: |out|/max|out| (default); minmax; clip to [0, 1]")
    filter_parser.add_argument("-o", "--output", required=True, metavar="OUT.png")
    filter_parser.set_defaults(run=run_filter)

    match = commands.add_parser(
        "match", help="find a template in an image (heat map of match scores)",
        description="Slide TEMPLATE over IMAGE (grayscale, valid positions only) and write the "
                    "image with the best match outlined beside the heat map of scores.")
    match.add_argument("image", help="the image to search")
    match.add_argument("template", help="the image to look for (not larger than IMAGE)")
    match.add_argument("--method", default="ncc",
                       help="ncc: normalised cross-correlation (default); ssd: sum of squared "
                            "differences (lower is better); correlation: plain inner product")
    match.add_argument("-o", "--output", required=True, metavar="OUT.png")
    match.set_defaults(run=run_match)

    show = commands.add_parser(
        "show", help="feature maps of one layer and the saliency map of a saved model",
        description="Run MODEL on IMAGE and draw the image, its saliency map (|d score / d "
                    "pixel| of the predicted class) and the feature maps of layer N.")
    show.add_argument("model", help="a model.safetensors written by convnet train")
    show.add_argument("image", help="an image file; converted and resized to the model's input")
    show.add_argument("--layer", default="0",
                      help="index of the layer (0 = first) or its name such as 'features.3' (0)")
    show.add_argument("--max-maps", type=int, default=32, help="the most feature maps drawn (32)")
    show.add_argument("-o", "--output", required=True, metavar="OUT.png")
    show.set_defaults(run=run_show)


# ------------------------------------------------------------------ reading inputs
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, as Pillow's convert('L')


def _filters():
    try:
        from .. import filters
    except ImportError as error:
        raise ImportError(f"convnet.filters is not available ({error})") from None
    return filters


def read_picture(path: str, what: str = "image", gray: bool = True) -> np.ndarray:
    """An image file as float64 in [0, 1]: (H, W) when ``gray`` (colour converted with the
    ITU-R 601 luma weights), else as read: (H, W) or (3, H, W)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file: {path}")
    if os.path.isdir(path):
        raise ValueError(f"{what}: {path} is a directory, expected an image file")
    try:
        array = np.asarray(_filters().read_image(path), dtype=np.float64)
    except ImportError:
        raise
    except (OSError, ValueError, SyntaxError) as error:  # PIL.UnidentifiedImageError is an OSError
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{what}: cannot read {path} as an image ({message})") from None
    if gray and array.ndim == 3:
        array = np.tensordot(_LUMA, array, axes=1)
    return array


def _normal_name(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch.isalnum())


def kernel_names() -> dict:
    """{name: kernel} of every kernel ``--kernel`` knows: ``convnet.filters``' named
    kernels plus ``box`` (3x3) and ``box5``, ``box7``, ... (the low-pass filter)."""
    filters = _filters()
    named = getattr(filters, "KERNELS", None) or filters.kernels.KERNELS
    return {**named, "box": filters.kernels.box(3)}


def read_kernel(spec: str) -> np.ndarray:
    """A float kernel: a name (see :func:`kernel_names`, ignoring case, '-' and '_'),
    ``boxN`` for an N x N box filter, or a .npy / .txt file."""
    if spec.lower().endswith((".npy", ".txt")) or os.path.sep in spec or os.path.exists(spec):
        return _kernel_file(spec)
    kernels = kernel_names()
    by_name = {_normal_name(name): value for name, value in kernels.items()}
    key = _normal_name(spec)
    if key in by_name:
        return np.array(by_name[key], dtype=np.float64)
    if key.startswith("box") and key[3:].isdigit() and 1 <= int(key[3:]) <= 99:
        return _filters().kernels.box(int(key[3:]))
    raise ValueError(f"--kernel: unknown kernel {spec!r}; expected one of "
                     f"{', '.join(sorted(kernels))}, boxN (N x N box) or a .npy/.txt file")


def _kernel_file(spec: str) -> np.ndarray:
    if not os.path.exists(spec):
        raise FileNotFoundError(f"--kernel: no such file: {spec}")
    try:
        if spec.lower().endswith(".npy"):
            kernel = np.load(spec, allow_pickle=False)
        else:
            with warnings.catch_warnings():  # an empty file is reported below, not warned about
                warnings.simplefilter("ignore", UserWarning)
                kernel = np.loadtxt(spec, dtype=np.float64, ndmin=2)
    except (ValueError, OSError, EOFError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ValueError(f"--kernel: cannot read {spec} as a kernel ({message}); expected a "
                         f".npy array or a .txt file of rows of numbers") from None
    kernel = np.asarray(kernel)
    if kernel.dtype.kind not in "biuf":
        raise ValueError(f"--kernel: {spec} holds {kernel.dtype} values, expected numbers")
    if kernel.ndim not in (1, 2, 3) or kernel.size == 0:
        raise ValueError(f"--kernel: {spec} holds an array of shape {kernel.shape}, expected a "
                         f"non-empty (k,), (kh, kw) or (3, kh, kw) kernel")
    kernel = kernel.astype(np.float64)
    if not np.all(np.isfinite(kernel)):
        raise ValueError(f"--kernel: {spec} contains NaN or infinite values")
    return kernel


# ------------------------------------------------------------------ scaling and drawing
def scale_for_viewing(values: np.ndarray, scale: str = "abs") -> np.ndarray:
    """Map any real array into [0, 1] (see the module docstring); a constant map is black."""
    values = np.asarray(values, dtype=np.float64)
    if scale == "abs":
        magnitude = np.abs(values)
        peak = magnitude.max(initial=0.0)
        return magnitude / peak if peak > 0 else np.zeros_like(magnitude)
    if scale == "minmax":
        low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
        return (values - low) / (high - low) if high > low else np.zeros_like(values)
    if scale == "clip":
        return np.clip(values, 0.0, 1.0)
    raise ValueError(f"--scale: expected one of {', '.join(SCALINGS)}, got {scale!r}")


def heat_colours(values: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) black -> red -> yellow -> white."""
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.clip(np.stack([3 * values, 3 * values - 1, 3 * values - 2], axis=-1), 0.0, 1.0)


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(gray, dtype=np.float64)[..., None], 3, axis=-1)


def _side_by_side(panels: list[np.ndarray]) -> np.ndarray:
    """RGB panels of one height in a row, separated by GAP gray columns."""
    height = panels[0].shape[0]
    gap = np.full((height, GAP, 3), 0.5)
    parts = []
    for panel in panels:
        parts += [panel, gap]
    return np.concatenate(parts[:-1], axis=1)


def _write(picture: np.ndarray, path: str) -> None:
    from ..viz import save_image
    if not str(path).lower().endswith(".png"):
        raise ValueError(f"-o: expected a .png file name, got {path!r}")
    save_image(np.clip(picture, 0.0, 1.0), path)


# ------------------------------------------------------------------ convnet filter
def _check_choice(option: str, value: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"{option}: expected one of {', '.join(choices)}, got {value!r}")


def run_filter(args) -> int:
    _check_choice("--mode", args.mode, MODES)
    _check_choice("--boundary", args.boundary, BOUNDARIES)
    _check_choice("--scale", args.scale, SCALINGS)
    filters = _filters()
    if args.orientation:
        # colour images keep their channels: each pixel takes the channel with the strongest
        # gradient (convnet.filters.orientation_image)
        if args.convolve or args.mode != "same":
            raise ValueError("--orientation: draws the 'same'-size Sobel correlation; "
                             "--mode and --convolve apply to --kernel only")
        image = read_picture(args.image, gray=False)
        picture = filters.orientation_image(image, boundary=args.boundary)
        what = "Sobel gradient orientation as hue, strength as brightness"
    else:
        kernel = read_kernel(args.kernel)
        if kernel.ndim == 3 and kernel.shape[0] not in (1, 3):
            raise ValueError(f"--kernel: a multi-channel kernel needs 3 channels (RGB), got "
                             f"shape {kernel.shape}")
        if kernel.ndim == 3 and kernel.shape[0] == 1:
            kernel = kernel[0]
        image = read_picture(args.image, gray=kernel.ndim != 3)
        if image.ndim == 2 and kernel.ndim == 3:
            image = np.stack([image] * 3)  # a gray picture is R = G = B
        size = image.shape[-2:]
        if args.mode == "valid" and any(k > n for k, n in zip(kernel.shape[-2:], size)):
            raise ValueError(f"--kernel: a {'x'.join(map(str, kernel.shape[-2:]))} kernel does "
                             f"not fit in the {size[0]}x{size[1]} image (mode valid)")
        operation = filters.convolve if args.convolve else filters.correlate
        filtered = np.asarray(operation(image, kernel, mode=args.mode, boundary=args.boundary),
                              dtype=np.float64)
        picture = scale_for_viewing(filtered, args.scale)
        what = (f"{'convolution' if args.convolve else 'correlation'} with "
                f"{'x'.join(map(str, kernel.shape))} kernel {args.kernel!r}, values in "
                f"[{filtered.min():.4g}, {filtered.max():.4g}], shown {args.scale}-scaled")
    _write(picture, args.output)
    print(f"wrote {args.output} ({picture.shape[1]}x{picture.shape[0]}): {what}")
    return 0


# ------------------------------------------------------------------ convnet match
def _best(scores: np.ndarray, method: str) -> tuple[int, int]:
    flat = np.nanargmin(scores) if method == "ssd" else np.nanargmax(scores)
    row, col = np.unravel_index(flat, scores.shape)
    return int(row), int(col)


def _outline(picture: np.ndarray, top: int, left: int, height: int, width: int,
             colour=(1.0, 0.0, 0.0)) -> None:
    bottom, right = top + height - 1, left + width - 1
    picture[top, left:right + 1] = picture[bottom, left:right + 1] = colour
    picture[top:bottom + 1, left] = picture[top:bottom + 1, right] = colour


def _cross(picture: np.ndarray, y: int, x: int, arm: int) -> None:
    """A cyan cross on a black one twice as thick, visible on any colour of the heat map."""
    for colour, half_width in (((0.0, 0.0, 0.0), 1), ((0.0, 1.0, 1.0), 0)):
        top, bottom = max(0, y - arm - half_width), min(picture.shape[0], y + arm + half_width + 1)
        left, right = max(0, x - arm - half_width), min(picture.shape[1], x + arm + half_width + 1)
        rows = slice(max(0, y - half_width), min(picture.shape[0], y + half_width + 1))
        cols = slice(max(0, x - half_width), min(picture.shape[1], x + half_width + 1))
        picture[rows, left:right] = colour
        picture[top:bottom, cols] = colour


def run_match(args) -> int:
    _check_choice("--method", args.method, METHODS)
    image = read_picture(args.image)
    template = read_picture(args.template, "template")
    if template.shape[0] > image.shape[0] or template.shape[1] > image.shape[1]:
        raise ValueError(f"template: {args.template} ({template.shape[1]}x{template.shape[0]}) is "
                         f"larger than the image {args.image} ({image.shape[1]}x{image.shape[0]})")
    filters = _filters()
    scores = np.asarray(filters.match_template(image, template, method=args.method),
                        dtype=np.float64)
    row, col = _best(scores, args.method)
    score = scores[row, col]
    height, width = template.shape
    marked = _rgb(image)
    _outline(marked, row, col, height, width)
    # the score of each position is drawn at the template's centre, so the heat lines up
    # with the image on the left; positions a template cannot reach stay black
    quality = -scores if args.method == "ssd" else scores
    heat = np.zeros(image.shape)
    top, left = (height - 1) // 2, (width - 1) // 2
    heat[top:top + scores.shape[0], left:left + scores.shape[1]] = scale_for_viewing(
        np.nan_to_num(quality, nan=np.nanmin(quality)), "minmax")
    heat_picture = heat_colours(heat)
    centre_y, centre_x = row + top, col + left
    _cross(heat_picture, centre_y, centre_x, max(3, min(height, width) // 5))
    _write(_side_by_side([marked, heat_picture]), args.output)
    print(f"best match ({args.method}) at row {row}, column {col} (top-left corner of the "
          f"{width}x{height} template; centre at row {centre_y}, column {centre_x}): "
          f"score {score:.6g}")
    print(f"wrote {args.output}")
    return 0


# ------------------------------------------------------------------ convnet show
def _enlarge(array: np.ndarray, factor: int) -> np.ndarray:
    return np.kron(array, np.ones((factor, factor) + (1,) * (array.ndim - 2)))


def _layer_arg(text: str):
    text = str(text).strip()
    try:
        return int(text)
    except ValueError:
        return text


def run_show(args) -> int:
    from .. import functional as F
    from ..tensor import no_grad
    from ..viz import feature_maps, saliency_map
    from ..viz.inspect import _find_layer
    from .model_commands import load_model, normalized, read_image, require_input_shape
    if not str(args.output).lower().endswith(".png"):
        raise ValueError(f"-o: expected a .png file name, got {args.output!r}")
    if args.max_maps < 1:
        raise ValueError(f"--max-maps: expected a positive number, got {args.max_maps}")
    model, metadata = load_model(args.model)
    channels, height, width = require_input_shape(args.model, metadata)
    layer = _layer_arg(args.layer)
    try:
        if hasattr(model, "trace_nodes"):    # an ONNX file: its nodes are the layers
            from ..viz.inspect import find_node
            node = find_node(model, layer)
            name, module = node.name, type(node.op_type, (), {})()  # named as its operator
        else:
            name, module = _find_layer(model, layer)
    except (ValueError, TypeError) as error:
        raise ValueError(f"--layer: {error}") from None
    image = read_image(args.image, channels, (height, width))
    inputs = normalized(image[None], metadata)[0]
    maps = feature_maps(model, inputs, layer)
    if maps.ndim != 3:
        raise ValueError(f"--layer: layer {name!r} ({type(module).__name__}) gives {maps.size} "
                         f"values per image, not feature maps; choose a convolution, pooling or "
                         f"activation layer")
    saliency = saliency_map(model, inputs)
    with no_grad():
        probabilities = F.softmax(model(inputs[None]), dim=1).data[0]
    predicted = int(np.argmax(probabilities))
    classes = metadata.get("classes")
    label = classes[predicted] if classes and predicted < len(classes) else predicted

    # every panel is a cell of the same size: the image enlarged to about 96 pixels
    factor = max(1, math.ceil(96 / max(height, width)))
    cell = (height * factor, width * factor)
    shown_image = image.transpose(1, 2, 0) if channels == 3 else _rgb(image.mean(axis=0))
    head = [_enlarge(shown_image, factor),
            _enlarge(heat_colours(scale_for_viewing(saliency, "minmax")), factor)]
    panels = []
    for feature in maps[:args.max_maps]:
        map_factor = max(1, min(cell[0] // feature.shape[0], cell[1] // feature.shape[1]))
        tile = _enlarge(_rgb(scale_for_viewing(feature, "minmax")), map_factor)
        tile = tile[:cell[0], :cell[1]]
        padded = np.full(cell + (3,), 0.5)
        padded[:tile.shape[0], :tile.shape[1]] = tile
        panels.append(padded)
    columns = max(2, min(len(panels), 8))
    blank = np.full(cell + (3,), 0.5)
    rows = []
    for row_panels in [head] + [panels[start:start + columns]
                                for start in range(0, len(panels), columns)]:
        row_panels += [blank] * (columns - len(row_panels))
        rows.append(_side_by_side(row_panels))
    gap = np.full((GAP, rows[0].shape[1], 3), 0.5)
    picture = np.concatenate([part for row in rows for part in (row, gap)][:-1], axis=0)
    _write(picture, args.output)
    print(f"{args.image}: predicted {label} ({probabilities[predicted]:.1%}); layer {name!r} "
          f"({type(module).__name__}) gives {maps.shape[0]} maps of {maps.shape[1]}x"
          f"{maps.shape[2]}" + (f", first {args.max_maps} drawn" if len(maps) > args.max_maps
                                else ""))
    print(f"wrote {args.output}: the image and its saliency map on the first row, then the "
          f"feature maps, {columns} a row")
    return 0
