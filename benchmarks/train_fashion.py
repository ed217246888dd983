"""Benchmark training: one epoch of a LeNet-style network on Fashion-MNIST, convnet vs PyTorch.

Run from the repository root:

    python benchmarks/train_fashion.py                 # fashion-cnn, 1 epoch, all 60000/10000
    python benchmarks/train_fashion.py --quick         # smoke test: 2048 train / 1000 test images
    python benchmarks/train_fashion.py --model lenet --epochs 2
    python benchmarks/train_fashion.py --limit 10000 --test-limit 2000

The same network is trained in both libraries from the same start, on the same batches:

* the convnet model is built from the architecture string of ``MODELS[--model]`` in
  ``convnet/models.py`` (default ``fashion-cnn``: [32|5x5] relu maxpool [64|5x5] relu maxpool
  fc128 relu fc10; ``lenet``: LeNet-5 style), initial weights seeded by ``--seed``;
* the PyTorch model is the equivalent ``torch.nn.Sequential`` (Conv2d with padding 2 for a
  'same' 5x5, ReLU, MaxPool2d(2, 2), Flatten, Linear, ...), with the same layer names, and
  the convnet initial weights are copied into it (``load_state_dict``), so both start equal;
* images are scaled to [0, 1] and normalised by the training images' mean and std; each
  epoch's order is one permutation drawn from a seeded NumPy Generator and used by both;
* batch size 64 (the last batch smaller), cross-entropy, Adam with lr 1e-3, float32;
* torch runs on the CPU with ``torch.set_num_threads(2)`` (``--threads``); NumPy's BLAS
  threads are left as they are.

Before timing, the first batch's logits, loss and gradients are compared between the two
libraries. Timed: the training loop only (forward, loss, zero_grad, backward, Adam step and
``loss.item()`` per batch), over batches gathered and normalised beforehand, so data
loading is not counted; each epoch is timed once, convnet then torch. Then a plain
evaluation pass over the test images (eval mode, no gradients, ``--eval-batch-size``) is
timed, median of ``--eval-repeats``. The table gives images/s, the convnet/torch time
ratio (> 1: convnet slower), the last epoch's mean training loss and the test accuracy of
both after training, and how often the two trained models predict the same class.

Data: Fashion-MNIST's four IDX files, looked for in ``--data-dir``, ``$CONVNET_DATA``,
``~/.cache/convnet/fashion-mnist`` and ``/usr/share/datasets/fashion-mnist``. If they are
absent the script says how to get them (Debian: ``apt-get install dataset-fashion-mnist``,
or run once with ``--download``) and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, import_torch, machine_note, median_time, print_table, settle,
)

add_repo_to_path()

import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402
from convnet import nn as cnn  # noqa: E402
from convnet.models import MODELS, build_model  # noqa: E402
from convnet.ops.windows import output_size, resolve_padding  # noqa: E402

DATASET = "fashion-mnist"
QUICK_LIMIT, QUICK_TEST_LIMIT = 2048, 1000


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

def load_data(args):
    """(train Dataset, test Dataset), or None (after printing how to get them) if absent."""
    from convnet.data import DatasetError, load_dataset
    try:
        train = load_dataset(DATASET, "train", data_dir=args.data_dir, download=args.download)
        test = load_dataset(DATASET, "test", data_dir=args.data_dir, download=args.download)
    except DatasetError as exc:
        print(f"Fashion-MNIST is not available, so there is nothing to benchmark:\n  {exc}\n"
              "To get it, either\n"
              "  * install Debian's package:  sudo apt-get install dataset-fashion-mnist\n"
              "    (files in /usr/share/datasets/fashion-mnist), or\n"
              "  * run this script once with --download (fetches the four IDX files into\n"
              "    ~/.cache/convnet/fashion-mnist, checksums checked), or\n"
              "  * put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,\n"
              "    t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a folder and\n"
              "    pass --data-dir FOLDER (or set $CONVNET_DATA).")
        return None
    return train, test


def batches_for_epoch(images, labels, order, batch_size):
    """Lists of image and label batches in ``order`` (gathered now, outside the timing)."""
    xs, ys = [], []
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        xs.append(np.ascontiguousarray(images[index]))
        ys.append(np.ascontiguousarray(labels[index]))
    return xs, ys


# --------------------------------------------------------------------------------------
# The torch twin of a convnet Sequential
# --------------------------------------------------------------------------------------

def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def torch_twin(model, input_shape, torch):
    """A ``torch.nn.Sequential`` computing what ``model`` computes, with the same state_dict keys.

    Explicit padding layers (for asymmetric 'same' padding) get names like ``'3_pad'``,
    which hold no parameters, so the keys of parameterised layers stay those of convnet.
    """
    tnn = torch.nn
    _, h, w = input_shape
    layers = OrderedDict()
    for name, m in model.named_children():
        kind = type(m).__name__
        if isinstance(m, cnn.Conv2d):
            if m.groups != 1 or m.padding_mode != "zeros" or (
                    m.bias is not None and m.bias.data.shape != (m.out_channels,)):
                raise NotImplementedError(f"layer {name}: only plain zero-padded convolutions "
                                          f"are translated, got {m!r}")
            pads = resolve_padding(m.padding, (h, w), m.kernel_size, m.stride, m.dilation)
            if all(b == a for b, a in pads):
                padding = tuple(b for b, _ in pads)
            else:
                layers[f"{name}_pad"] = tnn.ZeroPad2d(
                    (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
                padding = 0
            layers[name] = tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                      padding, m.dilation, bias=m.bias is not None)
            h, w = (output_size(n, k, s, d, b, a) for n, k, s, d, (b, a)
                    in zip((h, w), m.kernel_size, m.stride, m.dilation, pads))
        elif isinstance(m, (cnn.MaxPool2d, cnn.AvgPool2d)):
            k = _pair(m.kernel_size)
            s = _pair(m.stride if m.stride is not None else m.kernel_size)
            d = _pair(getattr(m, "dilation", 1))
            pads = resolve_padding(m.padding, (h, w), k, s, d)
            is_max = isinstance(m, cnn.MaxPool2d)
            if getattr(m, "padding_mode", None) is not None or (not is_max and any(map(any, pads))):
                raise NotImplementedError(f"layer {name}: padded {kind} is not translated")
            symmetric = all(b == a and 2 * b <= kk for (b, a), kk in zip(pads, k))
            if not symmetric:  # max pooling pads with -inf
                layers[f"{name}_pad"] = tnn.ConstantPad2d(
                    (pads[1][0], pads[1][1], pads[0][0], pads[0][1]), float("-inf"))
            padding = tuple(b for b, _ in pads) if symmetric else 0
            if is_max:
                layers[name] = tnn.MaxPool2d(k, s, padding, d, ceil_mode=m.ceil_mode)
            else:
                layers[name] = tnn.AvgPool2d(k, s, 0, ceil_mode=m.ceil_mode)
            h, w = (output_size(n, kk, ss, dd, b, a, m.ceil_mode) for n, kk, ss, dd, (b, a)
                    in zip((h, w), k, s, d, pads))
        elif isinstance(m, cnn.AdaptiveAvgPool2d):
            layers[name] = tnn.AdaptiveAvgPool2d(m.output_size)
            h, w = _pair(m.output_size)
        elif isinstance(m, cnn.AdaptiveMaxPool2d):
            layers[name] = tnn.AdaptiveMaxPool2d(m.output_size)
            h, w = _pair(m.output_size)
        elif isinstance(m, cnn.ReLU):
            layers[name] = tnn.ReLU()
        elif isinstance(m, cnn.LeakyReLU):
            layers[name] = tnn.LeakyReLU(m.negative_slope)
        elif kind in ("Tanh", "Sigmoid", "Identity"):
            layers[name] = getattr(tnn, kind)()
        elif isinstance(m, cnn.Flatten):
            if getattr(m, "order", "C") != "C":
                raise NotImplementedError(f"layer {name}: only C-order flatten is translated")
            layers[name] = tnn.Flatten(m.start_dim, m.end_dim)
        elif isinstance(m, cnn.Linear):
            layers[name] = tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
        else:
            raise NotImplementedError(
                f"layer {name} ({kind}) has no torch twin here (dropout and batch norm are left "
                f"out on purpose: random streams and running statistics would differ)")
    twin = tnn.Sequential(layers)
    state = {key: torch.from_numpy(np.array(value, copy=True))
             for key, value in model.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin


# --------------------------------------------------------------------------------------
# The two training and evaluation loops (same steps, each library's idiom)
# --------------------------------------------------------------------------------------

class ConvnetRun:
    name = "convnet"

    def __init__(self, model, lr):
        self.model = model
        self.optimizer = convnet.optim.Adam(model.parameters(), lr=lr)

    def train_epoch(self, xs, ys):
        model, optimizer, losses = self.model, self.optimizer, []
        model.train()
        for images, labels in zip(xs, ys):
            loss = F.cross_entropy(model(convnet.Tensor(images)), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    def predict(self, xs):
        self.model.eval()
        with convnet.no_grad():
            return [self.model(convnet.Tensor(images)).data.argmax(axis=1) for images in xs]

    def first_batch(self, images, labels):
        """(logits, loss, {name: grad}) on one batch; gradients are cleared afterwards."""
        self.model.train()
        logits = self.model(convnet.Tensor(images))
        loss = F.cross_entropy(logits, labels)
        self.model.zero_grad()
        loss.backward()
        grads = {n: np.array(p.grad) for n, p in self.model.named_parameters()}
        self.model.zero_grad()
        return np.array(logits.data), float(loss.item()), grads


class TorchRun:
    name = "torch"

    def __init__(self, torch, model, lr):
        self.torch, self.model = torch, model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    def convert(self, xs, ys):
        return ([self.torch.from_numpy(x) for x in xs],
                [self.torch.from_numpy(y) for y in ys] if ys is not None else None)

    def train_epoch(self, xs, ys):
        model, optimizer, losses = self.model, self.optimizer, []
        cross_entropy = self.torch.nn.functional.cross_entropy
        model.train()
        for images, labels in zip(xs, ys):
            loss = cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    def predict(self, xs):
        self.model.eval()
        with self.torch.no_grad():
            return [self.model(images).argmax(dim=1).numpy() for images in xs]

    def first_batch(self, images, labels):
        self.model.train()
        logits = self.model(self.torch.from_numpy(images))
        loss = self.torch.nn.functional.cross_entropy(logits, self.torch.from_numpy(labels))
        self.model.zero_grad()
        loss.backward()
        grads = {n: p.grad.numpy().copy() for n, p in self.model.named_parameters()}
        self.model.zero_grad()
        return logits.detach().numpy(), float(loss.item()), grads


def _scaled_error(a, ref):
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(a - ref)) / max(1.0, np.max(np.abs(ref))))


def verify_start(cn, th, images, labels, tol=1e-4):
    """Same logits, loss and gradients on the first batch; stop if not."""
    c_logits, c_loss, c_grads = cn.first_batch(images, labels)
    t_logits, t_loss, t_grads = th.first_batch(images, labels)
    if set(c_grads) != set(t_grads):
        raise SystemExit(f"parameter names differ: convnet {sorted(c_grads)}, "
                         f"torch {sorted(t_grads)}")
    errors = {"logits": _scaled_error(c_logits, t_logits), "loss": abs(c_loss - t_loss)}
    errors["grads"] = max(_scaled_error(c_grads[n], t_grads[n]) for n in c_grads)
    bad = {k: v for k, v in errors.items() if not v <= tol}
    summary = ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    if bad:
        raise SystemExit(f"the two models disagree on the first batch ({summary}; tolerance "
                         f"{tol:g}): the comparison would not be of the same computation")
    print(f"verified: same start (first batch, max scaled difference: {summary})", flush=True)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fashion-cnn", choices=sorted(MODELS),
                    help="a named model of convnet/models.py (default fashion-cnn; "
                         "lenet for LeNet-5 style)")
    ap.add_argument("--epochs", type=int, default=1, help="training epochs (default 1)")
    ap.add_argument("--batch-size", type=int, default=64, help="default 64")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    ap.add_argument("--limit", type=int, default=None, metavar="N",
                    help="train on the first N training images only (smoke runs)")
    ap.add_argument("--test-limit", type=int, default=None, metavar="N",
                    help="evaluate on the first N test images only")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke test: --limit {QUICK_LIMIT} --test-limit {QUICK_TEST_LIMIT} "
                         f"--eval-repeats 1 (explicit values win)")
    ap.add_argument("--eval-batch-size", type=int, default=1000,
                    help="batch size of the evaluation pass (default 1000)")
    ap.add_argument("--eval-repeats", type=int, default=3,
                    help="timed evaluation passes; the median is reported (default 3)")
    ap.add_argument("--seed", type=int, default=0,
                    help="seeds the initial weights and the data order (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--download", action="store_true",
                    help="download Fashion-MNIST if it is not found (default: do not)")
    ap.add_argument("--json", default=None, metavar="PATH",
                    help="also write the measured times and accuracies to PATH (run_all.py)")
    args = ap.parse_args(argv)
    if args.quick:
        args.limit = QUICK_LIMIT if args.limit is None else args.limit
        args.test_limit = QUICK_TEST_LIMIT if args.test_limit is None else args.test_limit
        if "--eval-repeats" not in (argv if argv is not None else sys.argv[1:]):
            args.eval_repeats = 1
    for name in ("epochs", "batch_size", "eval_batch_size", "eval_repeats", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    for name in ("limit", "test_limit"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.lr <= 0:
        ap.error("--lr must be > 0")
    return args


def _ratio(a, b):
    return a / b if a is not None and b else None


def main(argv=None):
    args = parse_args(argv)
    data = load_data(args)
    if data is None:
        return 0
    train, test = data
    if args.limit is not None:
        train = train.subset(slice(0, args.limit))
    if args.test_limit is not None:
        test = test.subset(slice(0, args.test_limit))
    torch = import_torch(num_threads=args.threads)

    from convnet.data import channel_stats
    mean, std = channel_stats(train.images)
    std = np.where(std == 0, np.float32(1), std)

    def normalise(images):
        return ((images - mean[:, None, None]) / std[:, None, None]).astype(np.float32)

    x_train, y_train = normalise(train.images), train.labels
    x_test, y_test = normalise(test.images), test.labels
    n_train, n_test = len(y_train), len(y_test)

    arch = MODELS[args.model].format(classes=len(train.classes))
    convnet.manual_seed(args.seed)
    model = build_model(arch, train.image_shape, rng=np.random.default_rng(args.seed))
    n_params = sum(p.data.size for p in model.parameters())
    cn = ConvnetRun(model, args.lr)
    th = TorchRun(torch, torch_twin(model, train.image_shape, torch), args.lr) if torch else None

    print(f"numpy {np.__version__}, convnet {convnet.__version__}"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    print(f"model {args.model}: {arch} ({n_params} parameters)")
    print(f"data: {DATASET}, {n_train} train / {n_test} test images, normalised by the train "
          f"mean {float(mean[0]):.4f} and std {float(std[0]):.4f}; batch size {args.batch_size}, "
          f"Adam lr {args.lr:g}, {args.epochs} epoch(s), seed {args.seed}")
    print(f"machine: {machine_note()}", flush=True)

    data_rng = np.random.default_rng(args.seed)
    if th is not None:
        verify_start(cn, th, x_train[:args.batch_size], y_train[:args.batch_size])

    train_time = {"convnet": 0.0, "torch": 0.0 if th else None}
    last_loss = {"convnet": None, "torch": None}
    for epoch in range(args.epochs):
        order = data_rng.permutation(n_train)          # the same order for both libraries
        xs, ys = batches_for_epoch(x_train, y_train, order, args.batch_size)
        for run in (cn, th):
            if run is None:
                continue
            bx, by = run.convert(xs, ys) if run is th else (xs, ys)
            settle()
            started = time.perf_counter()
            losses = run.train_epoch(bx, by)
            seconds = time.perf_counter() - started
            train_time[run.name] += seconds
            sizes = [len(y) for y in ys]
            last_loss[run.name] = float(np.dot(losses, sizes) / sum(sizes))
            print(f"  epoch {epoch + 1}/{args.epochs} {run.name}: {seconds:.1f} s, "
                  f"{n_train / seconds:.0f} images/s, mean loss {last_loss[run.name]:.4f}",
                  file=sys.stderr, flush=True)
        del xs, ys

    # evaluation: one untimed pass for the predictions, then the timed passes
    eval_xs = [x_test[i:i + args.eval_batch_size] for i in range(0, n_test, args.eval_batch_size)]
    eval_time, accuracy, predictions = {}, {}, {}
    for run in (cn, th):
        if run is None:
            eval_time["torch"] = accuracy["torch"] = None
            continue
        bx = run.convert(eval_xs, None)[0] if run is th else eval_xs
        predictions[run.name] = np.concatenate(run.predict(bx))
        accuracy[run.name] = float((predictions[run.name] == y_test).mean())
        settle()
        eval_time[run.name] = median_time(lambda: run.predict(bx), args.eval_repeats, warmup=0)
        print(f"  evaluation {run.name}: {eval_time[run.name]:.2f} s", file=sys.stderr, flush=True)
    agree = (float((predictions["convnet"] == predictions["torch"]).mean())
             if "torch" in predictions else None)

    def fmt(value, spec):
        return None if value is None else format(value, spec)

    def rate(n, seconds):
        return None if seconds is None else n / seconds

    rows = [
        ["train time (s)", fmt(train_time["convnet"], ".1f"), fmt(train_time["torch"], ".1f"),
         fmt(_ratio(train_time["convnet"], train_time["torch"]), ".1f")],
        ["train images/s", fmt(rate(n_train * args.epochs, train_time["convnet"]), ".0f"),
         fmt(rate(n_train * args.epochs, train_time["torch"]), ".0f"), None],
        [f"eval pass (s, {n_test} images)", fmt(eval_time["convnet"], ".2f"),
         fmt(eval_time["torch"], ".2f"),
         fmt(_ratio(eval_time["convnet"], eval_time["torch"]), ".1f")],
        ["eval images/s", fmt(rate(n_test, eval_time["convnet"]), ".0f"),
         fmt(rate(n_test, eval_time["torch"]), ".0f"), None],
        ["train loss (last epoch mean)", fmt(last_loss["convnet"], ".4f"),
         fmt(last_loss["torch"], ".4f"), None],
        ["test accuracy", fmt(accuracy["convnet"], ".4f"), fmt(accuracy["torch"], ".4f"), None],
    ]
    print()
    print_table(["", "convnet", "torch", "convnet/torch"], rows)
    if agree is not None:
        print(f"\nthe two trained models predict the same class for {agree:.2%} of the test images")
    print(f"machine after the run: {machine_note()}")
    print("time ratio = convnet time / torch time (> 1: convnet slower); training time covers "
          "forward, loss, backward and Adam steps only (batches prepared beforehand)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "train_seconds": train_time,
                       "accuracy": accuracy, "eval_seconds": eval_time}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
