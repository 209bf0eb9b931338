"""``TrainEvaluator``: train each architecture for real and measure its accuracy.

The whole dataset lives on the device as tensors and batches are drawn by index from a seeded
``torch.Generator``: the datasets NAS trains thousands of models on are small, and a
``DataLoader`` with worker processes would cost more than the training of a small network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasforge.data import DATASETS, ArrayDataset, load_dataset
from nasforge.errors import ConfigError, UnknownNameError
from nasforge.estimation.base import Evaluator, TrialContext
from nasforge.space import Arch, Task

#: samples per forward pass when scoring (no gradients, so larger than training batches)
_SCORE_BATCH = 1024


@dataclass(frozen=True)
class _DeviceData:
    """The splits of one dataset as tensors on one device."""

    task: Task
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


class TrainEvaluator(Evaluator):
    """Build the model of each arch with its space and train it with SGD.

    Training: SGD with Nesterov momentum, a cosine learning-rate schedule over all steps,
    cross-entropy. A random ``val_fraction`` of the training set (fixed by ``data_seed``) is held
    out for ``val_acc``, the number searches should optimise; ``test_acc`` is on the dataset's
    test set. The trial's seed fixes the initial weights and the batch order, so on the CPU the
    same seed gives the same metrics.

    Per trial, ``lr`` and ``weight_decay`` dimensions of the arch (see the ``hyperparameters``
    option of :class:`~nasforge.spaces.NB201Space`) replace the constructor's values, and
    ``ctx.fidelity["epochs"]`` replaces ``epochs``. After each epoch the evaluator reports
    ``val_acc`` and ``train_loss`` at step ``epoch`` (1, 2, ...), where a scheduler may prune it.

    Args:
        dataset: a dataset name (``"mnist1d"``, ``"digits"``) or user data as
            :func:`nasforge.data.load_dataset` accepts: arrays ``(x, y)`` or
            ``(x_train, y_train, x_test, y_test)``, or a ``torch.utils.data.Dataset``.
        epochs: training epochs.
        batch_size: samples per step.
        lr: initial learning rate.
        momentum: SGD momentum (Nesterov when above 0).
        weight_decay: L2 penalty.
        val_fraction: share of the training set held out for validation.
        train_fraction: share of the remaining training set used (less is cheaper and noisier).
        device: ``"auto"`` (the trial context's device, else CUDA when available, else CPU),
            ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.
        data_seed: seed of the validation split (and of the test split of ``(x, y)`` data).
        threads: torch intra-op CPU threads while a trial runs (restored afterwards); ``None``
            leaves torch's setting. Small networks gain little from several threads, and when
            other processes share the cores several threads can make training many times
            slower: use 1 per trial when anything else runs beside it.

    Example:
        >>> import numpy as np
        >>> from nasforge.spaces import NB201Space
        >>> space = NB201Space(n_cells=1, channels=8)
        >>> ev = TrainEvaluator("digits", epochs=1)
        >>> arch = space.sample(np.random.default_rng(0))
        >>> sorted(ev.evaluate(arch, TrialContext(space=space, seed=0)))
        ['epochs', 'params', 'test_acc', 'train_loss', 'val_acc', 'val_loss']
    """

    metric_names: tuple[str, ...] | None = (
        "val_acc",
        "test_acc",
        "train_loss",
        "val_loss",
        "params",
        "epochs",
    )

    def __init__(
        self,
        dataset: str | object = "mnist1d",
        epochs: int = 20,
        batch_size: int = 128,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        val_fraction: float = 0.1,
        train_fraction: float = 1.0,
        device: str = "auto",
        data_seed: int = 0,
        threads: int | None = None,
    ) -> None:
        if isinstance(dataset, str) and dataset not in DATASETS:
            raise UnknownNameError("dataset", dataset, DATASETS.names())
        _check_int("epochs", epochs, 1)
        _check_int("batch_size", batch_size, 2)
        _check_int("data_seed", data_seed, None)
        if threads is not None:
            _check_int("threads", threads, 1)
        _check_float("lr", lr, low=0.0, low_open=True)
        _check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
        _check_float("weight_decay", weight_decay, low=0.0)
        _check_float("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
        _check_float("train_fraction", train_fraction, low=0.0, high=1.0, low_open=True)
        if not isinstance(device, str):
            raise ConfigError(f"device={device!r}; allowed: 'auto', 'cpu', 'cuda' or 'cuda:N'")
        self.dataset = dataset
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.train_fraction = train_fraction
        self.device = device
        self.data_seed = data_seed
        self.threads = threads
        self._data: ArrayDataset | None = None
        self._on_device: dict[str, _DeviceData] = {}

    def __repr__(self) -> str:
        name = self.dataset if isinstance(self.dataset, str) else type(self.dataset).__name__
        return f"TrainEvaluator(dataset={name!r}, epochs={self.epochs}, lr={self.lr})"

    def __getstate__(self) -> dict[str, Any]:
        # tensors stay behind when the evaluator is sent to a worker process
        return {**self.__dict__, "_on_device": {}}

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        if self.threads is None:
            return self._evaluate(arch, ctx)
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._evaluate(arch, ctx)
        finally:
            torch.set_num_threads(previous)

    def _evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        if ctx.space is None:
            raise ConfigError("TrainEvaluator needs the trial's space (ctx.space) to build a model")
        device = resolve_device(self.device if self.device != "auto" else ctx.device)
        data = self._tensors(device)
        lr = _hyperparameter(arch, "lr", self.lr)
        weight_decay = _hyperparameter(arch, "weight_decay", self.weight_decay)
        epochs = ctx.fidelity.get("epochs", self.epochs)
        if isinstance(epochs, float) and epochs.is_integer():
            epochs = int(epochs)
        _check_int("fidelity 'epochs'", epochs, 1)

        with torch.random.fork_rng(devices=[]):  # seed the initial weights, leave global state
            torch.manual_seed(ctx.seed)
            model = ctx.space.build(arch, data.task)
        model.to(device)
        n_params = sum(p.numel() for p in model.parameters())
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=lr,
            momentum=self.momentum,
            nesterov=self.momentum > 0,
            weight_decay=weight_decay,
        )
        batches = _batch_bounds(len(data.y_train), self.batch_size)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(batches))
        generator = torch.Generator().manual_seed(ctx.seed)

        train_loss = val_loss = val_acc = math.nan
        for epoch in range(1, epochs + 1):
            train_loss = _train_epoch(model, data, batches, optimizer, scheduler, generator)
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"training loss is {train_loss} (NaN or infinite) in epoch {epoch} with "
                    f"lr={lr}; the run diverged: lower lr or check the data for NaN/inf"
                )
            val_loss, val_acc = score(model, data.x_val, data.y_val)
            ctx.report(epoch, {"val_acc": val_acc, "train_loss": train_loss})
        _, test_acc = score(model, data.x_test, data.y_test)
        return {
            "val_acc": val_acc,
            "test_acc": test_acc,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "params": float(n_params),
            "epochs": float(epochs),
        }

    def load_data(self) -> ArrayDataset:
        """The dataset (loaded on first use, then kept)."""
        if self._data is None:
            if isinstance(self.dataset, (str, ArrayDataset)):
                self._data = load_dataset(self.dataset)
            else:  # user data without a test set has one split off with the data seed
                self._data = load_dataset(self.dataset, seed=self.data_seed)
        return self._data

    def _tensors(self, device: torch.device) -> _DeviceData:
        key = str(device)
        if key not in self._on_device:
            data = self.load_data()
            x_train, y_train, x_val, y_val = data.split_validation(
                self.val_fraction, self.data_seed
            )
            if self.train_fraction < 1.0:
                keep = max(2, round(self.train_fraction * len(y_train)))
                order = torch.randperm(
                    len(y_train), generator=torch.Generator().manual_seed(self.data_seed)
                )[:keep].numpy()
                x_train, y_train = x_train[order], y_train[order]
            if len(y_train) < 2:
                raise ConfigError(
                    f"val_fraction={self.val_fraction} leaves {len(y_train)} training sample; "
                    "allowed: a split that leaves at least 2"
                )
            arrays = (x_train, y_train, x_val, y_val, data.x_test, data.y_test)
            tensors = [torch.as_tensor(a).to(device) for a in arrays]
            self._on_device[key] = _DeviceData(data.task, *tensors)
        return self._on_device[key]


def _train_epoch(
    model: nn.Module,
    data: _DeviceData,
    batches: list[tuple[int, int]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
) -> float:
    """One pass over the training set in a random order; returns the mean loss."""
    model.train()
    order = torch.randperm(len(data.y_train), generator=generator).to(data.x_train.device)
    total = torch.zeros((), device=data.x_train.device)
    seen = 0
    for start, stop in batches:
        index = order[start:stop]
        loss = nn.functional.cross_entropy(model(data.x_train[index]), data.y_train[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total += loss.detach() * (stop - start)
        seen += stop - start
    return float(total) / seen


@torch.inference_mode()
def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in percent of ``model`` (in eval mode) on ``(x, y)``."""
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(y), _SCORE_BATCH):
        logits = model(x[start : start + _SCORE_BATCH])
        target = y[start : start + _SCORE_BATCH]
        loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(dim=1) == target).sum())
    return loss / len(y), 100.0 * correct / len(y)


def resolve_device(spec: str) -> torch.device:
    """The torch device for ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or ``"mps"``).

    Raises:
        ConfigError: the device is malformed or not available on this machine.
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    allowed = "allowed: 'auto', 'cpu', 'cuda' or 'cuda:N'"
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device={spec!r} is not a device; {allowed}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"device={spec!r} but CUDA is not available here; use 'cpu'")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"device={spec!r} but this machine has {count} CUDA device(s)")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(f"device={spec!r} but MPS is not available here; use 'cpu'")
    elif device.type != "cpu":
        raise ConfigError(f"device={spec!r} is not supported; {allowed}")
    return device


def _batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch; a last batch of one sample joins the one before it
    (batch norm cannot train on a single sample)."""
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def _hyperparameter(arch: Arch, name: str, default: float) -> float:
    value = arch.get(name)
    return float(value) if value is not None else float(default)


def _check_int(field: str, value: Any, low: int | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        allowed = "an integer" + (f" >= {low}" if low is not None else "")
        raise ConfigError(f"{field}={value!r}; allowed: {allowed}")


def _check_float(
    field: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ConfigError(f"{field}={value!r}; allowed: a number with {lo}{field}{hi}")
