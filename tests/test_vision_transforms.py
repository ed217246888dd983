"""convnet.vision.transforms against torchvision.transforms (v1), the oracle.

Each case is one line of code run twice: with ``F``/``T``/``IM`` naming convnet's
functional module, transforms package and InterpolationMode, then torchvision's. Random
draws are fixed by recording convnet's ``get_params`` result and patching torchvision's
``get_params`` to return it, so both libraries run the same maths. PIL images must agree
exactly (both call Pillow); float tensors within float32 rounding; uint8 tensors exactly,
but for resizing and bilinear warps: one grey level where float32 noise decides a value
that sits on .5.
"""

import numpy as np
import pytest
from PIL import Image

from torchvision_oracle import import_torchvision

tv = import_torchvision()
import torch  # noqa: E402
import torchvision.transforms as TT  # noqa: E402
import torchvision.transforms.autoaugment as tv_autoaugment  # noqa: E402
import torchvision.transforms.functional as TF  # noqa: E402

import convnet  # noqa: E402
import convnet.vision as vision  # noqa: E402
import convnet.vision.transforms as T  # noqa: E402
import convnet.vision.transforms.autoaugment as autoaugment  # noqa: E402
import convnet.vision.transforms.functional as F  # noqa: E402

RNG = np.random.default_rng(7)
U8 = RNG.integers(0, 256, (3, 11, 13), dtype=np.uint8)       # odd sizes throughout
F32 = RNG.random((3, 11, 13), dtype=np.float32)
BATCH = RNG.integers(0, 256, (2, 3, 9, 7), dtype=np.uint8)
RGB = Image.fromarray(U8.transpose(1, 2, 0))
GRAY = Image.fromarray(U8[0])
PILS = {"RGB": RGB, "L": GRAY}
ARRAYS = {"u8": U8, "f32": F32, "batch": BATCH}
OURS = dict(F=F, T=T, IM=F.InterpolationMode, tensor=convnet.tensor, np=np)
THEIRS = dict(F=TF, T=TT, IM=TF.InterpolationMode, tensor=torch.tensor, np=np)


def tv_value(x):
    """convnet's draws in torchvision's terms (tensors become torch tensors)."""
    if isinstance(x, convnet.Tensor):
        return torch.from_numpy(x.numpy().copy())
    if isinstance(x, (list, tuple)):
        return type(x)(tv_value(v) for v in x)
    return x


def assert_same(ours, theirs, grey=0, atol=0.0):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, grey, atol)
        return
    if isinstance(theirs, Image.Image):
        assert isinstance(ours, Image.Image)
        assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        return
    assert isinstance(ours, convnet.Tensor), type(ours)
    expected = theirs.numpy()
    assert ours.shape == expected.shape and ours.dtype == expected.dtype
    if expected.dtype.kind in "ui":
        difference = np.abs(ours.numpy().astype(np.int64) - expected.astype(np.int64))
        assert difference.max(initial=0) <= grey, f"{difference.max()} grey levels apart"
    else:
        np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=atol)


def pair(name):
    """The image ``name`` for each library: a PIL image (shared) or a tensor of each kind."""
    if name in PILS:
        return PILS[name], PILS[name]
    return convnet.tensor(ARRAYS[name].copy()), torch.from_numpy(ARRAYS[name].copy())


def run_both(code, image, grey=0, atol=2e-6):
    ours_img, tv_img = pair(image)
    assert_same(eval(code, dict(OURS, img=ours_img)), eval(code, dict(THEIRS, img=tv_img)),
                grey=grey, atol=atol)


GEOMETRY = [
    "F.resize(img, 7)", "F.resize(img, [5, 17])", "F.resize(img, 20, max_size=24)",
    "F.resize(img, [8, 19], IM.NEAREST)", "F.resize(img, [8, 19], IM.NEAREST_EXACT)",
    "F.resize(img, [8, 19], IM.BICUBIC)", "F.resize(img, [23, 29], IM.BICUBIC, antialias=False)",
    "F.resize(img, [4, 6], antialias=False)", "F.resize(img, [30, 9], 2)",
    "F.pad(img, [1, 2, 3, 4], fill=9)", "F.pad(img, 2, padding_mode='edge')",
    "F.pad(img, [3, 1], padding_mode='reflect')", "F.pad(img, [4, -1, 2, 5], 0, 'symmetric')",
    "F.crop(img, -2, 3, 8, 14)", "F.center_crop(img, [6, 5])", "F.center_crop(img, [14, 20])",
    "F.resized_crop(img, 1, 2, 7, 9, [10, 12])", "F.hflip(img)", "F.vflip(img)",
    "F.five_crop(img, 5)", "F.ten_crop(img, [4, 6], True)",
    "F.rotate(img, 33.3)", "F.rotate(img, -71.0, expand=True)",
    "F.rotate(img, 90.0, center=[2, 3])",
    "F.rotate(img, 12.5, IM.BILINEAR, fill=[7])",
    "F.affine(img, 25.0, [2, -1], 1.3, [12.0, -4.0])",
    "F.affine(img, -40.0, [0, 3], 0.8, 8.0, interpolation=IM.BILINEAR)",
    "F.affine(img, 0.0, [1, 1], 1.0, [20.0], center=[0, 0], fill=[5])",
    "F.gaussian_blur(img, [3, 5], [0.8, 1.4])", "F.gaussian_blur(img, 7)",
]


@pytest.mark.parametrize("image", ["RGB", "L"])
@pytest.mark.parametrize("code", GEOMETRY)
def test_geometry_on_pil_images_is_torchvisions_exactly(image, code):
    if "antialias=False" in code:
        with pytest.warns(UserWarning, match="Anti-alias option is always applied"):
            run_both(code, image)
    else:
        run_both(code, image)


@pytest.mark.parametrize("image", ["u8", "f32", "batch"])
@pytest.mark.parametrize("code", GEOMETRY)
def test_geometry_on_tensors(image, code):
    run_both(code, image, grey=int("resize" in code), atol=2e-5)


COLOUR = [
    "F.adjust_brightness(img, 1.4)", "F.adjust_contrast(img, 0.6)", "F.adjust_saturation(img, 1.8)",
    "F.adjust_hue(img, 0.21)", "F.adjust_hue(img, -0.4)", "F.adjust_gamma(img, 0.7, 1.1)",
    "F.adjust_sharpness(img, 1.9)", "F.adjust_sharpness(img, 0.2)", "F.invert(img)",
    "F.autocontrast(img)",
]
UINT8_ONLY = ["F.posterize(img, 3)", "F.solarize(img, 100)", "F.equalize(img)"]
COLOUR_CASES = (
    [(image, code) for image in ("RGB", "L", "u8", "f32", "batch") for code in COLOUR]
    + [(image, code) for image in ("RGB", "L", "u8", "batch") for code in UINT8_ONLY]
    + [(image, f"F.rgb_to_grayscale(img, {n})") for image in ("RGB", "u8", "f32") for n in (1, 3)]
    + [(image, "F.to_grayscale(img, 3)") for image in ("RGB", "L")]
    + [("f32", "F.solarize(img, 0.4)"), ("f32", "F.erase(img, 2, 3, 4, 5, tensor([[[0.5]]]))"),
       ("f32", "F.normalize(img, [0.4, 0.5, 0.6], [0.2, 0.3, 0.4])")])


@pytest.mark.parametrize("image, code", COLOUR_CASES)
def test_colour_operations_and_normalize(image, code):
    run_both(code, image)


@pytest.mark.parametrize("source", ["u8", "f32"])
@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64", "int16"])
def test_convert_image_dtype_and_inplace_normalize(source, dtype):
    ours_img, tv_img = pair(source)
    assert_same(F.convert_image_dtype(ours_img, getattr(convnet, dtype)),
                TF.convert_image_dtype(tv_img, getattr(torch, dtype)))
    image = convnet.tensor(F32.copy())
    assert F.normalize(image, [0.4], [0.2], inplace=True) is image
    assert_same(image, TF.normalize(torch.from_numpy(F32.copy()), [0.4], [0.2]), atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: RGB, lambda: GRAY, lambda: RGB.convert("1"), lambda: RGB.convert("RGBA"),
    lambda: Image.fromarray(U8[0].astype(np.int32) * 300), lambda: Image.fromarray(F32[0]),
    lambda: Image.fromarray(U8[0].astype(np.uint16) * 200), lambda: U8.transpose(1, 2, 0).copy(),
    lambda: F32[0].astype(np.float64)])
def test_to_tensor_and_pil_to_tensor(make):
    picture = make()
    assert_same(F.to_tensor(picture), TF.to_tensor(picture))
    assert_same(T.ToTensor()(picture), TT.ToTensor()(picture))
    if isinstance(picture, Image.Image):
        assert_same(F.pil_to_tensor(picture), TF.pil_to_tensor(picture))


@pytest.mark.parametrize("array, mode", [
    (F32, None), (U8, None), (U8[:1], None), (F32[:1], None), (F32[:1], "F"), (U8[:2], None),
    (np.concatenate([U8, U8[:1]]), None), (np.concatenate([U8, U8[:1]]), "CMYK"), (U8, "HSV"),
    (U8[0].astype(np.int16), None), (U8[0].astype(np.int32), None)])
def test_to_pil_image(array, mode):
    assert_same(F.to_pil_image(convnet.tensor(array.copy()), mode),
                TF.to_pil_image(torch.from_numpy(array.copy()), mode))
    hwc = array if array.ndim == 2 else array.transpose(1, 2, 0)
    assert_same(T.ToPILImage(mode)(hwc), TT.ToPILImage(mode)(hwc))


def run_fixed(code, image, monkeypatch, grey=0, atol=2e-5):
    """Both transforms built by ``code`` on ``image``, torchvision given convnet's draws."""
    ours, theirs = eval(code, OURS), eval(code, THEIRS)
    ours_img, tv_img = pair(image)
    params, original = [], type(ours).get_params

    def recording(*args, **kwargs):
        params.append(original(*args, **kwargs))
        return params[-1]

    monkeypatch.setattr(type(ours), "get_params", staticmethod(recording))
    monkeypatch.setattr(type(theirs), "get_params",
                        staticmethod(lambda *args, **kwargs: tv_value(params.pop(0))))
    assert_same(ours(ours_img), theirs(tv_img), grey=grey, atol=atol)


RANDOM_CLASSES = [
    "T.RandomCrop(7, padding=[2, 1])", "T.RandomCrop([12, 15], pad_if_needed=True, fill=3)",
    "T.RandomCrop(9, padding=3, padding_mode='reflect')",
    "T.RandomCrop(9, padding=2, padding_mode='symmetric')",
    "T.RandomResizedCrop(8)", "T.RandomResizedCrop([6, 9], scale=(0.5, 0.9), ratio=(0.5, 2.0))",
    "T.RandomRotation(40)", "T.RandomRotation((10, 80), expand=True, fill=4)",
    "T.RandomRotation(30, IM.BILINEAR, center=(3, 2))",
    "T.RandomAffine(30, translate=(0.2, 0.3), scale=(0.8, 1.2), shear=(-5, 5, -8, 8))",
    "T.RandomAffine(0, shear=20, interpolation=IM.BILINEAR, fill=6)",
    "T.ColorJitter(0.4, 0.4, 0.4, 0.1)", "T.ColorJitter(0, (0.2, 1.8), 0, (-0.5, 0.5))",
    "T.GaussianBlur(5)", "T.GaussianBlur((3, 7), (0.5, 1.5))",
]


@pytest.mark.parametrize("image", ["RGB", "L", "u8", "f32"])
@pytest.mark.parametrize("code", RANDOM_CLASSES)
def test_random_classes_with_fixed_draws(monkeypatch, image, code):
    _ = convnet.manual_seed(3)
    for _ in range(3):
        run_fixed(code, image, monkeypatch, grey=int("Resized" in code))


@pytest.mark.parametrize("image", ["u8", "f32"])
@pytest.mark.parametrize("value", ["0", "(0.1, 0.2, 0.3)", "'random'"])
def test_random_erasing_with_fixed_draws(monkeypatch, image, value):
    _ = convnet.manual_seed(5)
    run_fixed(f"T.RandomErasing(p=1.0, value={value})", image, monkeypatch)
    fallback = T.RandomErasing.get_params(convnet.tensor(U8), scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert fallback[:4] == (0, 0, 11, 13)


@pytest.mark.parametrize("image", ["RGB", "u8"])
@pytest.mark.parametrize("code", [
    "T.RandomHorizontalFlip(p={p})", "T.RandomVerticalFlip(p={p})", "T.RandomGrayscale(p={p})",
    "T.RandomInvert(p={p})", "T.RandomAutocontrast(p={p})", "T.RandomEqualize(p={p})",
    "T.RandomPosterize(2, p={p})", "T.RandomSolarize(90, p={p})",
    "T.RandomAdjustSharpness(3.0, p={p})", "T.RandomApply([T.Grayscale(3)], p={p})"])
def test_probability_transforms_at_zero_and_one(image, code):
    for p in (0.0, 1.0):
        run_both(code.format(p=p) + "(img)", image)


def test_random_parameters_stay_in_their_ranges():
    _ = convnet.manual_seed(0)
    image = convnet.tensor(U8)
    for _ in range(200):
        top, left, height, width = T.RandomResizedCrop.get_params(image, (0.08, 1.0), (0.75, 4 / 3))
        assert 0 <= top <= 11 - height and 0 <= left <= 13 - width and height > 0 and width > 0
        angle, (tx, ty), scale, (sx, sy) = T.RandomAffine.get_params(
            [-10, 10], [0.2, 0.1], [0.9, 1.1], [-5, 5, 1, 2], [13, 11])
        assert -10 <= angle <= 10 and abs(tx) <= 3 and abs(ty) <= 1 and 0.9 <= scale <= 1.1
        assert -5 <= sx <= 5 and 1 <= sy <= 2
    # torchvision's fallback when no try fits: the central crop of the nearest allowed ratio
    assert T.RandomResizedCrop.get_params(convnet.zeros(1, 10, 100), (1.0, 1.0), (1.0, 2.0)) == \
        TT.RandomResizedCrop.get_params(torch.zeros(1, 10, 100), (1.0, 1.0), (1.0, 2.0))
    order, *factors = T.ColorJitter.get_params((0.5, 1.5), None, (1.0, 2.0), (-0.1, 0.1))
    assert sorted(order.tolist()) == [0, 1, 2, 3] and factors[1] is None


def test_containers_and_seeded_runs_repeat():
    pipeline = T.Compose([
        T.RandomApply([T.ColorJitter(0.3, 0.3, 0.3, 0.05)], p=0.8), T.RandomGrayscale(0.2),
        T.RandomOrder([T.RandomRotation(15), T.RandomHorizontalFlip()]),
        T.RandomChoice([T.RandomResizedCrop(9), T.RandomCrop(9, padding=2)], p=[1, 3]),
        T.TrivialAugmentWide(), T.RandAugment(), T.ToTensor(), T.RandomErasing(),
        T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    runs = []
    for seed in (11, 11, 12):
        _ = convnet.manual_seed(seed)
        runs.append(np.stack([pipeline(RGB).numpy() for _ in range(4)]))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    assert T.Lambda(lambda x: x + 1)(1) == 2


AUTOAUGMENT_OPS = [("Identity", 0.0), ("ShearX", 0.3), ("ShearX", -0.99), ("ShearY", 0.5),
                   ("TranslateX", -9.4), ("TranslateY", 7.0), ("Rotate", -33.0), ("Rotate", 120.0),
                   ("Brightness", 0.5), ("Brightness", -0.6), ("Color", 0.9), ("Contrast", -0.4),
                   ("Sharpness", 0.7), ("Sharpness", -0.9), ("Posterize", 2), ("Posterize", 6),
                   ("Solarize", 128.0), ("Solarize", 246.6), ("AutoContrast", 0.0),
                   ("Equalize", 0.0), ("Invert", 0.0)]


@pytest.mark.parametrize("image", ["RGB", "L", "u8"])
def test_autoaugment_operations_and_bins(image):
    for ours, theirs, args in ((T.TrivialAugmentWide(), TT.TrivialAugmentWide(), (31,)),
                               (T.RandAugment(), TT.RandAugment(), (31, (11, 13)))):
        ours_space, tv_space = ours._augmentation_space(*args), theirs._augmentation_space(*args)
        assert list(ours_space) == list(tv_space)
        for name, (magnitudes, signed) in tv_space.items():
            # torch's vectorised linspace rounds a few bins the other way (one float32 ulp)
            np.testing.assert_allclose(np.asarray(ours_space[name][0]), magnitudes.numpy(),
                                       rtol=3e-7)
            assert ours_space[name][1] == signed
    ours_img, tv_img = pair(image)
    fill = [1.0, 2.0, 3.0] if image == "u8" else None
    for name, magnitude in AUTOAUGMENT_OPS:
        for mode in ("NEAREST", "BILINEAR"):
            ours = autoaugment._apply_op(ours_img, name, magnitude, F.InterpolationMode[mode], fill)
            theirs = tv_autoaugment._apply_op(tv_img, name, magnitude, TF.InterpolationMode[mode],
                                              fill)
            assert_same(ours, theirs, grey=int(mode == "BILINEAR"))


def test_autoaugment_classes_with_fixed_operation(monkeypatch):
    for cls in (T.TrivialAugmentWide, T.RandAugment):
        monkeypatch.setattr(cls, "get_params", staticmethod(lambda *args: ("Rotate", 30.0)))
        for ours_img, tv_img in (pair("RGB"), pair("u8")):
            expected = TF.rotate(tv_img, 30.0)
            if cls is T.RandAugment:                    # num_ops = 2 rotations
                expected = TF.rotate(expected, 30.0)
            assert_same(cls()(ours_img), expected)


def test_batch_random_crop_flip_equals_per_image_crop_and_flip():
    images = RNG.integers(1, 256, (16, 3, 10, 9), dtype=np.uint8)
    result = T.batch_random_crop_flip(images, (8, 9), 3, np.random.default_rng(42))
    draws = np.random.default_rng(42)
    tops, lefts = draws.integers(0, 16 - 8 + 1, 16), draws.integers(0, 15 - 9 + 1, 16)
    flips = draws.random(16) < 0.5
    assert 0 < flips.sum() < 16
    for index in range(16):
        expected = TF.crop(TF.pad(torch.from_numpy(images[index]), 3), int(tops[index]),
                           int(lefts[index]), 8, 9)
        expected = TF.hflip(expected) if flips[index] else expected
        np.testing.assert_array_equal(result[index], expected.numpy())
    _ = convnet.manual_seed(1)
    first = T.batch_random_crop_flip(convnet.tensor(images), 8, 2)
    _ = convnet.manual_seed(1)
    assert isinstance(first, convnet.Tensor) and first.dtype == convnet.uint8
    np.testing.assert_array_equal(first.numpy(), T.batch_random_crop_flip(images, 8, 2))
    for bad in (dict(images=images[0]), dict(size=20), dict(padding=-1), dict(p=2)):
        with pytest.raises(ValueError):
            T.batch_random_crop_flip(**{"images": images, "size": 8, "padding": 2, **bad})


BAD_ARGUMENTS = [
    "T.Resize(3.5)", "T.Resize([1, 2, 3])", "T.CenterCrop([1, 2, 3])", "T.RandomCrop((1, 2, 3))",
    "T.Pad('a')", "T.Pad(1, fill='x')", "T.Pad(1, padding_mode='wrap')", "T.Pad([1, 2, 3])",
    "T.Lambda(3)", "T.RandomOrder(5)", "T.RandomChoice([abs], p=3)",
    "T.RandomChoice([abs, abs], p=[1])(1)", "T.RandomResizedCrop(3, scale=3)",
    "T.RandomResizedCrop(3, ratio=3)", "T.ColorJitter(brightness=-1)", "T.ColorJitter(hue=0.7)",
    "T.ColorJitter(contrast=[1, 2, 3])", "T.ColorJitter(saturation=(2, 1))",
    "T.RandomRotation(-5)", "T.RandomRotation([1, 2, 3])", "T.RandomRotation(5, center=3)",
    "T.RandomRotation(5, fill=object())", "T.RandomAffine(5, translate=(2, 0))",
    "T.RandomAffine(5, translate=3)", "T.RandomAffine(5, scale=(0, 1))",
    "T.RandomAffine(5, shear=(1, 2, 3))", "T.RandomAffine(5, shear=-1)",
    "T.RandomErasing(value='x')", "T.RandomErasing(value=object())",
    "T.RandomErasing(scale=(0.5, 2))", "T.RandomErasing(p=2)", "T.RandomErasing(scale=3)",
    "T.RandomErasing(p=1, value=[1, 2])(t)", "T.GaussianBlur(4)", "T.GaussianBlur(3, sigma=-1)",
    "T.GaussianBlur(3, sigma=(2, 1))", "T.GaussianBlur(3, sigma=[1, 2, 3])", "T.RandomCrop(20)(p)",
    "F.resize(t, 5, interpolation='bilinear')", "F.resize(p, [1, 2, 3])",
    "F.resize(t, [5, 5], max_size=10)", "F.resize(p, 5, max_size=4)", "F.pad(p, 'a')",
    "F.pad(t, [1, 2, 3])", "F.pad(p, 1, padding_mode='wrap')", "F.pad(t, 1, fill=(1, 2))",
    "F.pad(t, 20, padding_mode='reflect')", "F.rotate(p, 'a')", "F.rotate(t, 5, center=3)",
    "F.rotate(t, 5, interpolation=IM.BICUBIC)", "F.affine(p, 0, 3, 1, 0)",
    "F.affine(t, 0, [1], 1, 0)", "F.affine(t, 0, [1, 1], 0, 0)", "F.affine(p, 0, [1, 1], 1, 'a')",
    "F.affine(t, 0, [1, 1], 1, [1, 2, 3])", "F.adjust_brightness(t, -1)", "F.adjust_hue(p, 0.7)",
    "F.adjust_contrast(t[:2], 1.0)", "F.normalize(p, [0], [1])", "F.normalize(t, [0], [1])",
    "F.normalize(t[0].float(), [0], [1])", "F.normalize(t.float(), [0], [0])", "F.to_tensor('x')",
    "F.to_tensor(np.zeros((1, 1, 1, 1)))", "F.to_pil_image('x')",
    "F.to_pil_image(np.zeros((2, 2, 5)))",
    "F.to_pil_image(np.zeros((2, 2, 3), np.uint8), mode='L')",
    "F.to_pil_image(np.zeros((2, 2), np.int64))", "F.posterize(t, 9)", "F.posterize(t.float(), 3)",
    "F.solarize(t.float(), 2)", "F.equalize(t.float())", "F.gaussian_blur(t, 4)",
    "F.gaussian_blur(p, 'a')", "F.gaussian_blur(t, 3, 0)", "F.gaussian_blur(t, 3, 'a')",
    "F.erase(p, 0, 0, 1, 1, 0)", "F.convert_image_dtype(np.zeros(3), t.dtype)",
    "F.convert_image_dtype(t.float(), t.int().dtype)", "F.to_grayscale(t)",
    "F.rgb_to_grayscale(t, 2)", "F.five_crop(p, 20)", "F.hflip(np.zeros((2, 2)))",
    "F.get_dimensions('x')",
]


@pytest.mark.parametrize("code", BAD_ARGUMENTS)
def test_bad_arguments_raise_what_torchvision_raises(code):
    errors = []
    for names, tensor in ((THEIRS, torch.from_numpy(U8.copy())), (OURS, convnet.tensor(U8.copy()))):
        with pytest.raises(Exception) as raised:
            eval(code, dict(names, t=tensor, p=RGB, abs=abs, object=object))
        errors.append(raised.type)
    assert errors[1] is errors[0], errors


def test_reprs_and_names_match_torchvision():
    for code in ("T.Compose([T.Resize(5), T.CenterCrop(3), T.ToTensor()])",
                 "T.Normalize((0.5,), (0.2,))", "T.RandomCrop(32, padding=4)",
                 "T.RandomResizedCrop(224)", "T.ColorJitter(0.4, 0.3, 0.2, 0.1)",
                 "T.RandomRotation(10, expand=True)", "T.Pad(2, fill=1)",
                 "T.RandomAffine(10, translate=(0.1, 0.1), shear=5)", "T.RandomErasing()",
                 "T.GaussianBlur(3)", "T.RandomApply([T.RandomHorizontalFlip()], p=0.3)",
                 "T.RandomChoice([T.Grayscale(3)])", "T.RandomPosterize(3)",
                 "T.TrivialAugmentWide()", "T.RandAugment()", "T.ToPILImage('L')",
                 "T.ConvertImageDtype(tensor(0.0).dtype)"):
        assert repr(eval(code, OURS)) == repr(eval(code, THEIRS))
    torchvision_names = set(tv.transforms.transforms.__all__) | set(tv_autoaugment.__all__)
    assert torchvision_names - set(T.__all__) <= {"LinearTransformation", "RandomPerspective",
                                                 "ElasticTransform", "AutoAugment",
                                                 "AutoAugmentPolicy", "AugMix"}
    assert vision.transforms is T and T.functional is F
    assert T.InterpolationMode is F.InterpolationMode
    assert isinstance(T.Normalize((0.5,), (0.5,)), convnet.nn.Module)
