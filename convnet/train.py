"""Training loop: epochs, metrics, progress, checkpoints, resume, early stopping.

:class:`Trainer` runs mini-batch training of a classifier with any convnet model,
optimizer and learning-rate schedule. After each epoch it evaluates on the
validation loader, records the history, and (with a ``run_dir``) writes a
checkpoint atomically: model weights, optimizer and scheduler state, the data
loader's shuffling state and the library's random generator. ``fit(resume=True)``
continues from that checkpoint and ends with exactly the weights of an
uninterrupted run with the same seed. A non-finite loss stops training with
:class:`TrainingDiverged`, leaving the last good checkpoint in place.

Example:
    >>> import numpy as np, convnet, convnet.nn as nn
    >>> from convnet.train import Trainer
    >>> from convnet.data import DataLoader
    >>> _ = convnet.manual_seed(0)
    >>> x = np.random.default_rng(0).random((64, 1, 4, 4), dtype=np.float32)
    >>> y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    >>> trainer = Trainer(model, convnet.optim.SGD(model.parameters(), lr=0.5),
    ...                   DataLoader((x, y), batch_size=16, shuffle=True, rng=0), progress=False)
    >>> history = trainer.fit(epochs=3)  # doctest: +ELLIPSIS
    epoch 1/3: train loss ...
    epoch 3/3: train loss ...
    >>> len(history["train_loss"])
    3
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import functional as F
from . import random as library_random
from .tensor import Tensor, no_grad


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says where and what was kept."""


@dataclass
class Metrics:
    """Metrics over one pass of a loader: of images, or of pixels for segmentation.

    For segmentation ``accuracy`` is the pixel accuracy, ``confusion`` counts pixels (the
    ignore label left out) and ``mean_iou`` is the mean IoU of that one matrix over the
    classes present (:mod:`convnet.segmentation_metrics`); ``per_image_mean_iou`` is the
    other number often reported under that name.
    """

    loss: float
    accuracy: float
    confusion: np.ndarray                  # (classes, classes): rows true, columns predicted
    per_class_accuracy: list[float] = field(default_factory=list)
    count: int = 0
    mean_iou: float | None = None          # segmentation only
    per_image_mean_iou: float | None = None
    iou_per_class: list = field(default_factory=list)

    @property
    def segmentation(self) -> bool:
        return self.mean_iou is not None

    def collapsed(self) -> int | None:
        """The one class predicted everywhere while the truth holds several, else None."""
        predicted = np.flatnonzero(self.confusion.sum(axis=0))
        present = np.flatnonzero(self.confusion.sum(axis=1))
        return int(predicted[0]) if len(predicted) == 1 and len(present) > 1 else None

    def to_dict(self, classes=None) -> dict:
        names = classes or [str(i) for i in range(len(self.per_class_accuracy))]
        result = {"loss": self.loss, "accuracy": self.accuracy, "count": self.count,
                  "per_class_accuracy": dict(zip(map(str, names), self.per_class_accuracy)),
                  "confusion_matrix": self.confusion.tolist()}
        if self.segmentation:
            result.update(
                pixel_accuracy=self.accuracy, mean_iou=self.mean_iou,
                per_image_mean_iou=self.per_image_mean_iou,
                iou_per_class={str(name): None if math.isnan(value) else value
                               for name, value in zip(names, self.iou_per_class)},
                pixels=int(self.confusion.sum()))
        return result


def _progress(iterable, total: int, description: str, enabled: bool):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress is a nicety, never a requirement
        return iterable
    return tqdm(iterable, total=total, desc=description, unit="batch", leave=True,
                dynamic_ncols=True, file=sys.stderr)


class Trainer:
    """Mini-batch training of a classifier.

    Args:
        model: a :class:`convnet.nn.Module` returning logits (N, classes).
        optimizer: a :mod:`convnet.optim` optimizer over the model's parameters.
        train_loader: iterable of (images, labels) with ``state_dict``/``load_state_dict``
            for exact resume (``convnet.data.DataLoader``).
        val_loader: evaluated after every epoch (optional).
        scheduler: a learning-rate scheduler stepped once per epoch (optional).
        loss_fn: ``loss_fn(logits, labels) -> Tensor`` (default cross-entropy; for masks
            (N, H, W), per pixel, with ``ignore_index`` left out).
        run_dir: where ``checkpoint.safetensors`` is written each epoch (optional).
        patience: stop after this many epochs without a better validation loss.
        progress: show a progress bar (tqdm) with loss and images/s.
        num_classes: size of the confusion matrix (default: inferred from the logits).
        config: plain values that define this run (e.g. the command's settings); stored in
            the checkpoint, and a resume with different values is refused.
        process_settings: apply :func:`convnet.process_settings.apply` (heap reuse, a short
            BLAS thread spin; each also has an environment off switch) when the Trainer is
            made. ``import convnet`` alone never changes the process.
        explode_factor: an epoch whose mean training loss exceeds this many times the
            loss of the first batch is an exploding run: a warning, and with ``patience``
            a stop (:class:`TrainingDiverged`) that keeps the last good checkpoint.
        ignore_index: the unlabelled value of segmentation masks (255); labels of shape (N,)
            are classes and have none.
        label_smoothing: the default loss's targets give this fraction of their mass evenly
            to all classes (torch's ``CrossEntropyLoss(label_smoothing=...)``); accuracy and
            the evaluation loss count the plain labels.

    Labels of shape (N, H, W) make it a segmentation run: accuracies count pixels and the
    evaluation adds mean IoU (``val_mean_iou`` in the history).
    """

    checkpoint_name = "checkpoint.safetensors"

    def __init__(self, model, optimizer, train_loader, val_loader=None, scheduler=None,
                 loss_fn=None, run_dir: str | None = None, patience: int | None = None,
                 progress: bool = True, num_classes: int | None = None, log=print,
                 config: dict | None = None, explode_factor: float = 10.0,
                 process_settings: bool = True, ignore_index: int = 255,
                 label_smoothing: float = 0.0):
        if process_settings:
            from . import process_settings as settings
            settings.apply()
        from . import distributed
        # data-parallel: every rank trains, metrics are summed over ranks, rank 0 logs and saves
        self.world = distributed.get_world_size() if distributed.is_initialized() else 1
        self.rank = distributed.get_rank() if distributed.is_initialized() else 0
        if self.rank != 0:
            progress, log = False, (lambda message: None)
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.train_loader, self.val_loader = train_loader, val_loader
        self.loss_fn = loss_fn if loss_fn is not None else self._default_loss
        self.run_dir, self.patience, self.ignore_index = run_dir, patience, int(ignore_index)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing: expected a fraction in [0, 1), "
                             f"got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.progress, self.num_classes, self.log = progress, num_classes, log
        self.history: dict[str, list] = {"train_loss": [], "train_accuracy": [], "val_loss": [],
                                         "val_accuracy": [], "val_mean_iou": [], "lr": [],
                                         "epoch_seconds": []}
        self.config, self.explode_factor = dict(config or {}), explode_factor
        self.first_loss: float | None = None  # the loss of the very first batch of the run
        self.epoch = 0
        self.best_val_loss = math.inf
        self.epochs_without_improvement = 0

    def _default_loss(self, logits, labels):
        """Cross-entropy; per pixel, without the ignore label, for masks. Label smoothing
        applies while training; the evaluation loss is against the plain labels."""
        labels = np.asarray(labels)
        smoothing = self.label_smoothing if self.model.training else 0.0
        if labels.ndim > 1:
            return F.cross_entropy(logits, labels, ignore_index=self.ignore_index,
                                   label_smoothing=smoothing)
        return F.cross_entropy(logits, labels, label_smoothing=smoothing)

    def _correct(self, logits, labels) -> tuple[int, int]:
        """(right predictions, counted predictions): images, or labelled pixels for masks."""
        predicted = logits.data.argmax(axis=1)
        labels = np.asarray(labels)
        if labels.ndim == 1:
            return int((predicted == labels).sum()), len(labels)
        labelled = labels != self.ignore_index
        return int(((predicted == labels) & labelled).sum()), int(labelled.sum())

    # ---------------------------------------------------------------- one epoch
    def train_epoch(self) -> tuple[float, float]:
        """One pass over the training loader; returns (mean loss, accuracy)."""
        self.model.train()
        total_loss, correct, seen, counted = 0.0, 0, 0, 0
        started = time.perf_counter()
        batches = _progress(self.train_loader, len(self.train_loader),
                            f"epoch {self.epoch + 1}", self.progress)
        for batch, (images, labels) in enumerate(batches):
            # overflow is reported once, as TrainingDiverged, not as NumPy warnings on the way
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                logits = self.model(Tensor(images))
                loss = self.loss_fn(logits, labels)
                value = float(loss.item())
                if self.world > 1:  # every rank decides on the same (global) value
                    value = self._summed([value * len(labels), len(labels)])
                    value = value[0] / value[1]
                if not math.isfinite(value):
                    raise TrainingDiverged(f"the loss became {value} at epoch {self.epoch + 1}, "
                                           f"batch {batch + 1}; {self._kept()}; try a lower "
                                           f"learning rate")
                if self.first_loss is None:
                    self.first_loss = value
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
            count = len(labels)
            total_loss += value * count
            right, predictions = self._correct(logits, labels)
            correct, counted, seen = correct + right, counted + predictions, seen + count
            if hasattr(batches, "set_postfix"):
                rate = seen / max(time.perf_counter() - started, 1e-9)
                batches.set_postfix(refresh=False, loss=f"{total_loss / seen:.4f}",
                                    acc=f"{correct / max(counted, 1):.3f}", img_s=f"{rate:.0f}")
        if hasattr(batches, "close"):
            batches.close()
        if self.world > 1:
            total_loss, correct, seen, counted = self._summed([total_loss, correct, seen, counted])
        return total_loss / max(seen, 1), correct / max(counted, 1)

    def _summed(self, values) -> list[float]:
        """``values`` summed over every rank of a data-parallel run."""
        from . import distributed
        array = np.array(values, dtype=np.float64)
        distributed.all_reduce(array)
        return array.tolist()

    def evaluate(self, loader) -> Metrics:
        """Loss, accuracy, confusion matrix and per-class accuracy over ``loader`` (eval mode);
        for masks, over pixels, with mean IoU (one confusion matrix for the whole split)."""
        from .segmentation_metrics import confusion_matrices, iou_per_class, per_image_ious
        self.model.eval()
        total_loss, seen = 0.0, 0
        truths, predictions, image_ious = [], [], []
        confusion, classes = None, self.num_classes
        with no_grad():
            for images, labels in loader:
                if len(labels) == 0:  # a rank's empty share of a short last batch
                    continue
                logits = self.model(Tensor(images))
                total_loss += float(self.loss_fn(logits, labels).item()) * len(labels)
                seen += len(labels)
                labels, predicted = np.asarray(labels), logits.data.argmax(axis=1)
                if labels.ndim == 1:
                    truths.append(labels)
                    predictions.append(predicted)
                    continue
                classes = classes or logits.shape[1]
                matrices = confusion_matrices(predicted, labels, classes, self.ignore_index)
                confusion = matrices.sum(axis=0) if confusion is None else confusion + matrices.sum(axis=0)
                image_ious.append(per_image_ious(matrices))
        segmentation = confusion is not None
        if not segmentation:
            truth = np.concatenate(truths) if truths else np.zeros(0, np.int64)
            predicted = np.concatenate(predictions) if predictions else np.zeros(0, np.int64)
            classes = classes or int(max(truth.max(initial=-1), predicted.max(initial=-1)) + 1)
            confusion = np.zeros((classes, classes), dtype=np.int64)
            np.add.at(confusion, (truth, predicted), 1)
        image_iou = np.concatenate(image_ious) if image_ious else np.zeros(0)
        iou_sum = [float(np.nansum(image_iou)), float(np.isfinite(image_iou).sum())]
        if self.world > 1:  # each rank saw its own shard: the whole split is the sum
            from . import distributed
            if self._summed([float(segmentation)])[0] not in (0, self.world):
                raise RuntimeError("evaluate: some ranks saw masks and others classes")
            distributed.all_reduce(confusion)
            total_loss, seen, *iou_sum = self._summed([total_loss, seen, *iou_sum])
            seen = int(seen)
        per_class = (np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)).tolist()
        counted = int(confusion.sum())
        metrics = Metrics(total_loss / max(seen, 1),
                          float(np.trace(confusion) / counted) if counted else 0.0, confusion,
                          per_class, seen)
        if segmentation:
            ious = iou_per_class(confusion)
            metrics.iou_per_class = ious.tolist()
            metrics.mean_iou = float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")
            metrics.per_image_mean_iou = iou_sum[0] / iou_sum[1] if iou_sum[1] else float("nan")
        return metrics

    # ---------------------------------------------------------------- the run
    def fit(self, epochs: int, resume: bool = False) -> dict:
        """Train until ``epochs`` epochs are done (counting resumed ones) or early stopping."""
        if resume:
            self.load_checkpoint()
            self.log(f"resumed from {self.checkpoint_path} after epoch {self.epoch}")
        while self.epoch < epochs:
            started = time.perf_counter()
            train_loss, train_accuracy = self.train_epoch()
            if not all(np.isfinite(parameter.data).all() for parameter in self.model.parameters()):
                # the last step overflowed: never checkpoint these weights as "good"
                raise TrainingDiverged(f"the weights became NaN or infinite in the last step of "
                                       f"epoch {self.epoch + 1}; {self._kept()}; try a lower "
                                       f"learning rate")
            exploding = self._exploding(train_loss)
            if exploding and self.patience is not None:
                raise TrainingDiverged(f"{exploding}; stopped (patience is set); {self._kept()}")
            lr = self.optimizer.param_groups[0]["lr"]
            if self.scheduler is not None:
                self.scheduler.step()
            self.epoch += 1
            record = self.history
            record["train_loss"].append(train_loss)
            record["train_accuracy"].append(train_accuracy)
            record["lr"].append(lr)
            message = f"epoch {self.epoch}/{epochs}: train loss {train_loss:.4f} acc {train_accuracy:.4f}"
            stop, collapsed = False, None
            if self.val_loader is not None:
                metrics = self.evaluate(self.val_loader)
                record["val_loss"].append(metrics.loss)
                record["val_accuracy"].append(metrics.accuracy)
                if metrics.segmentation:
                    record["val_mean_iou"].append(metrics.mean_iou)
                    message += (f" | val loss {metrics.loss:.4f} pixel acc {metrics.accuracy:.4f}"
                                f" mIoU {metrics.mean_iou:.4f}")
                else:
                    message += f" | val loss {metrics.loss:.4f} acc {metrics.accuracy:.4f}"
                collapsed = metrics.collapsed()
                if metrics.loss < self.best_val_loss:
                    self.best_val_loss, self.epochs_without_improvement = metrics.loss, 0
                else:
                    self.epochs_without_improvement += 1
                    stop = self.patience is not None and self.epochs_without_improvement >= self.patience
            record["epoch_seconds"].append(time.perf_counter() - started)
            self.log(message + f" ({record['epoch_seconds'][-1]:.1f} s)")
            if exploding:
                self.log(f"warning: {exploding}")
            if self.val_loader is not None and collapsed is not None:
                what = "pixel" if metrics.segmentation else "image"
                self.log(f"warning: the model predicts class {collapsed} for every validation "
                         f"{what} (a collapse to one class; try another learning rate, class "
                         f"weights or more epochs)")
            self.save_checkpoint()
            if stop:
                self.log(f"early stopping: no better validation loss for {self.patience} epochs")
                break
        return self.history

    def _exploding(self, train_loss: float) -> str | None:
        """A sentence when the epoch's loss is explode_factor times the first batch's."""
        if self.first_loss is None or not train_loss > self.explode_factor * max(self.first_loss, 1e-12):
            return None
        return (f"the training loss exploded: {train_loss:.4g} in epoch {self.epoch + 1}, against "
                f"{self.first_loss:.4g} on the first batch; the learning rate is probably too high")

    # ---------------------------------------------------------------- checkpoints
    def _kept(self) -> str:
        if self.checkpoint_path and self.epoch:
            return f"the last good checkpoint (epoch {self.epoch}) is kept in {self.checkpoint_path}"
        return "no checkpoint was written"

    @property
    def checkpoint_path(self) -> str | None:
        return os.path.join(self.run_dir, self.checkpoint_name) if self.run_dir else None

    def state(self) -> dict:
        """Everything needed to continue this run exactly, as plain data and arrays."""
        return {
            "epoch": self.epoch,
            "model": dict(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "train_loader": self.train_loader.state_dict(),
            "library_rng": library_random.default_rng().bit_generator.state,
            "module_rngs": {name: generator.bit_generator.state
                            for name, generator in _module_generators(self.model).items()},
            "history": self.history,
            "best_val_loss": None if math.isinf(self.best_val_loss) else self.best_val_loss,
            "epochs_without_improvement": self.epochs_without_improvement,
            "first_loss": self.first_loss,
            "config": self.config,
        }

    def save_checkpoint(self) -> None:
        if not self.run_dir or self.rank != 0:  # the replicas are identical: rank 0 writes
            return
        from .io import save_state
        os.makedirs(self.run_dir, exist_ok=True)
        save_state(self.checkpoint_path, self.state())

    def load_checkpoint(self) -> None:
        from .io import load_state
        if not self.checkpoint_path or not os.path.exists(self.checkpoint_path):
            raise FileNotFoundError(f"resume: no checkpoint at {self.checkpoint_path}; train "
                                    f"without --resume first")
        state = load_state(self.checkpoint_path)
        self._check_state(state)
        self.model.load_state_dict(state["model"])
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"resume: {self.checkpoint_path} holds the state of another kind of "
                             f"optimizer ({type(error).__name__}: {error})") from None
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.train_loader.load_state_dict(state["train_loader"])
        library_random.default_rng().bit_generator.state = state["library_rng"]
        generators = _module_generators(self.model)
        for name, generator_state in state.get("module_rngs", {}).items():
            if name in generators:
                generators[name].bit_generator.state = generator_state
        self.epoch = state["epoch"]
        self.history = {**{key: [] for key in self.history},  # keys added since it was written
                        **{key: list(values) for key, values in state["history"].items()}}
        best = state["best_val_loss"]
        self.best_val_loss = math.inf if best is None else float(best)
        self.epochs_without_improvement = int(state["epochs_without_improvement"])
        first = state.get("first_loss")
        self.first_loss = None if first is None else float(first)

    def _check_state(self, state) -> None:
        """Refuse a checkpoint that is malformed or belongs to a run with other settings."""
        where = f"resume: {self.checkpoint_path}"
        if not isinstance(state, dict):
            raise ValueError(f"{where}: not a training checkpoint")
        missing = [key for key in ("epoch", "model", "optimizer", "scheduler", "train_loader",
                                   "library_rng", "history", "best_val_loss",
                                   "epochs_without_improvement") if key not in state]
        if missing:
            raise ValueError(f"{where}: not a complete training checkpoint (no {', '.join(missing)})")
        epoch = state["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"{where}: epoch should be a count of epochs, got {epoch!r:.40}")
        state["epoch"] = int(epoch)
        history = state["history"]
        if not (isinstance(history, dict) and all(isinstance(values, list)
                                                  for values in history.values())):
            raise ValueError(f"{where}: history should map names to lists, got "
                             f"{type(history).__name__}")
        if len(history.get("train_loss", [])) != epoch:
            raise ValueError(f"{where}: its history holds {len(history.get('train_loss', []))} "
                             f"epochs but its counter says {epoch}")
        stored = state.get("config")
        if isinstance(stored, dict) and self.config:
            changed = [f"{key} {stored[key]!r} -> {self.config[key]!r}" for key in self.config
                       if key in stored and stored[key] != self.config[key]]
            if changed:
                raise ValueError(f"{where} was trained with other settings ({'; '.join(changed)}); "
                                 f"resume with the run's settings, or start a new run")


def _module_generators(model) -> dict:
    """Generators owned by modules (e.g. a Dropout built with a seed): their state is part of
    the run, since the library's generator does not drive them."""
    return {f"{name}.{attribute}" if name else attribute: value
            for name, module in model.named_modules()
            for attribute, value in vars(module).items()
            if isinstance(value, np.random.Generator)}


def write_metrics(path: str, metrics: dict) -> None:
    """Write ``metrics`` as indented JSON, atomically."""
    from .io.atomic import atomic_write_bytes
    atomic_write_bytes(path, (json.dumps(metrics, indent=2) + "\n").encode())
