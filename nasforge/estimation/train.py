"""``TrainEvaluator``: train each architecture for real and measure its accuracy.

The whole dataset lives on the device as tensors (when it fits) and batches are drawn by index
from a seeded ``torch.Generator``: the datasets NAS trains thousands of models on are small, and
a ``DataLoader`` with worker processes would cost more than the training of a small network.
The loop itself is in ``_train_loop.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasforge.data import DATASETS, ArrayDataset, load_dataset
from nasforge.errors import ConfigError, UnknownNameError, one_of
from nasforge.estimation._train_loop import (
    NonFiniteLossError,
    Precision,
    TrainData,
    TrialOutOfMemoryError,
    batch_bounds,
    build_model,
    free_memory,
    is_out_of_memory,
    place_data,
    resolve_device,
    score,
    seeded,
    train_epoch,
)
from nasforge.estimation.base import Evaluator, Reporter, TrialContext
from nasforge.space import Arch, Space

#: the keys ``ctx.fidelity`` may carry for this evaluator
FIDELITY_KEYS: tuple[str, ...] = ("epochs", "train_fraction", "n_cells", "channels")

#: fidelity keys that change the network, passed to the space's ``build`` as keyword overrides
_SIZE_KEYS: tuple[str, ...] = ("n_cells", "channels")


@dataclass(frozen=True)
class _TrialSettings:
    """What one trial trains with, after arch dims, fidelity and constructor options."""

    epochs: int
    train_fraction: float
    lr: float
    weight_decay: float
    #: network-size overrides for ``space.build``: key -> (value, the option or fidelity key)
    sizes: Mapping[str, tuple[int, str]]


class TrainEvaluator(Evaluator):
    """Build the model of each arch with its space and train it with SGD.

    Training: SGD with Nesterov momentum, a cosine learning-rate schedule over all steps,
    cross-entropy. A random ``val_fraction`` of the training set (fixed by ``data_seed``) is held
    out for ``val_acc``, the number searches should optimise; ``test_acc`` is on the dataset's
    test set. The trial's seed fixes the initial weights, the batch order and any randomness in
    the forward pass (dropout), and the caller's random state is left as it was, so on the CPU
    the same seed gives the same metrics.

    After each epoch the evaluator reports ``val_acc`` and ``train_loss`` at step ``epoch``
    (1, 2, ...), where a scheduler may prune it.

    **Lower fidelity** (the cheaper estimates surveyed by Elsken et al. 2019, section 5: shorter
    training, a subset of the data, fewer cells and filters, as Zoph et al. 2018 and Real et al.
    2019 searched). ``ctx.fidelity`` may carry ``epochs``, ``train_fraction`` (the share of
    the training set used; a smaller share is always a subset of a larger one), ``n_cells`` and
    ``channels`` (a smaller or larger macro network around the same cell, built by the space's
    ``build(arch, task, n_cells=..., channels=...)``, as :class:`~nasforge.spaces.NB201Space`
    accepts; another space raises :class:`~nasforge.errors.ConfigError`). Precedence, first
    wins: the arch's own dimensions (``lr``, ``weight_decay``, ``width`` of the NB201 space's
    ``hyperparameters``), then ``ctx.fidelity``, then this evaluator's options, then the
    space's options.

    **Robustness.** A CUDA out-of-memory error (or a failed CPU allocation) raises
    :class:`TrialOutOfMemoryError`, and a NaN or infinite training loss
    :class:`NonFiniteLossError`, each after the model and optimizer are freed and with a
    message that names the cause and a remedy; an experiment records the trial ``failed`` with
    that message and goes on. The data stays in host memory (pinned) and is copied batch by
    batch when it would take too much of a CUDA device. Mixed precision (``amp``) is on by
    default on CUDA.

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
        n_cells: cells per stage of the network, replacing the space's ``n_cells``
            (``None``: the space's).
        channels: width C of the network's first stage, replacing the space's ``channels``
            (``None``: the space's).
        device: ``"auto"`` (the trial context's device, else CUDA when available, else CPU),
            ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.
        data_seed: seed of the validation split, of the ``train_fraction`` subset (and of the
            test split of ``(x, y)`` data).
        threads: torch intra-op CPU threads while a trial runs (restored afterwards); ``None``
            leaves torch's setting. Small networks gain little from several threads, and when
            other processes share the cores several threads can make training many times
            slower: use 1 per trial when anything else runs beside it.
        amp: automatic mixed precision. ``"auto"``: on for CUDA devices (bfloat16, or float16
            with loss scaling on GPUs without bfloat16), off elsewhere; ``True``: also on the
            CPU (bfloat16; slower than float32 on most CPUs); ``False``: float32 everywhere.
        max_device_data_mb: the data is copied to the device whole when it takes at most this
            many megabytes, else it stays in host memory and each batch is copied over.
            ``None``: at most a quarter of a CUDA device's free memory; always on the CPU.

    Example:
        >>> import numpy as np
        >>> from nasforge.spaces import NB201Space
        >>> space = NB201Space(n_cells=1, channels=8)
        >>> ev = TrainEvaluator("digits", epochs=1)
        >>> arch = space.sample(np.random.default_rng(0))
        >>> sorted(ev.evaluate(arch, TrialContext(space=space, seed=0)))
        ['epochs', 'params', 'test_acc', 'train_loss', 'val_acc', 'val_loss']
        >>> cheap = TrialContext(space=space, fidelity={"train_fraction": 0.25, "channels": 4})
        >>> full = TrialContext(space=space)
        >>> ev.evaluate(arch, cheap)["params"] < ev.evaluate(arch, full)["params"]
        True
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
        n_cells: int | None = None,
        channels: int | None = None,
        device: str = "auto",
        data_seed: int = 0,
        threads: int | None = None,
        amp: bool | str = "auto",
        max_device_data_mb: float | None = None,
    ) -> None:
        if isinstance(dataset, str) and dataset not in DATASETS:
            raise UnknownNameError("dataset", dataset, DATASETS.names())
        _check_int("epochs", epochs, 1)
        _check_int("batch_size", batch_size, 2)
        _check_int("data_seed", data_seed, None)
        for field, value in (("threads", threads), ("n_cells", n_cells), ("channels", channels)):
            if value is not None:
                _check_int(field, value, 1)
        _check_float("lr", lr, low=0.0, low_open=True)
        _check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
        _check_float("weight_decay", weight_decay, low=0.0)
        _check_float("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
        _check_float("train_fraction", train_fraction, low=0.0, high=1.0, low_open=True)
        if max_device_data_mb is not None:
            _check_float("max_device_data_mb", max_device_data_mb, low=0.0)
        if not isinstance(device, str):
            raise ConfigError(f"device={device!r}; allowed: 'auto', 'cpu', 'cuda' or 'cuda:N'")
        if not (isinstance(amp, bool) or amp == "auto"):
            raise ConfigError(f"amp={amp!r}; allowed: 'auto', True or False")
        self.dataset = dataset
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.train_fraction = train_fraction
        self.n_cells = n_cells
        self.channels = channels
        self.device = device
        self.data_seed = data_seed
        self.threads = threads
        self.amp = amp
        self.max_device_data_mb = max_device_data_mb
        self._data: ArrayDataset | None = None
        self._on_device: dict[str, TrainData] = {}

    def __repr__(self) -> str:
        name = self.dataset if isinstance(self.dataset, str) else type(self.dataset).__name__
        return f"TrainEvaluator(dataset={name!r}, epochs={self.epochs}, lr={self.lr})"

    def __getstate__(self) -> dict[str, Any]:
        # tensors stay behind when the evaluator is sent to a worker process
        return {**self.__dict__, "_on_device": {}}

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        return self._fit(arch, ctx, None)[1]

    def max_step(self, fidelity: Mapping[str, Any]) -> int | None:
        """The epochs a trial trains at ``fidelity`` (it reports after each one)."""
        epochs = fidelity.get("epochs")
        if epochs is None:
            return self.epochs
        epochs = _whole(epochs)
        _check_int("fidelity 'epochs'", epochs, 1)
        return int(epochs)

    def fingerprint(self) -> dict[str, str]:
        """The dataset's name and a SHA-256 of its arrays (loads the data)."""
        data = self.load_data()
        return {"data": str(data.name), "data_sha256": data.sha256()}

    def fit(
        self,
        arch: Arch,
        space: Space,
        seed: int = 0,
        epochs: int | None = None,
        device: str | None = None,
        on_epoch: Reporter | None = None,
    ) -> tuple[nn.Module, dict[str, float]]:
        """Train ``arch`` from scratch as a trial would and return the model with its metrics.

        The same code path as :meth:`evaluate` (same seed, same metrics), for retraining a
        found architecture: ``epochs`` replaces this evaluator's, ``device`` its device, and
        ``on_epoch(epoch, {"val_acc", "train_loss"})`` is called after each epoch. The model is
        returned on the training device, in eval mode.
        """
        fidelity = {} if epochs is None else {"epochs": epochs}
        ctx = TrialContext(seed=seed, space=space, fidelity=fidelity, reporter=on_epoch)
        return self._fit(arch, ctx, device)

    def _fit(
        self, arch: Arch, ctx: TrialContext, device: str | None
    ) -> tuple[nn.Module, dict[str, float]]:
        if self.threads is None:
            return self._evaluate(arch, ctx, device)
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._evaluate(arch, ctx, device)
        finally:
            torch.set_num_threads(previous)

    def _settings(self, arch: Arch, ctx: TrialContext) -> _TrialSettings:
        """What a trial of ``arch`` trains with: arch dims, then fidelity, then options.

        Raises:
            ConfigError: ``ctx.fidelity`` has an unknown key or a value out of range.
        """
        fidelity = {key: value for key, value in ctx.fidelity.items() if value is not None}
        for key in fidelity:
            if key not in FIDELITY_KEYS:
                raise ConfigError(
                    f"fidelity has unknown key {key!r}; allowed: {one_of(FIDELITY_KEYS)}"
                )
        epochs = self.epochs
        if "epochs" in fidelity:
            epochs = _whole(fidelity["epochs"])
            _check_int("fidelity 'epochs'", epochs, 1)
        train_fraction = self.train_fraction
        if "train_fraction" in fidelity:
            train_fraction = fidelity["train_fraction"]
            _check_float(
                "fidelity 'train_fraction'", train_fraction, low=0.0, high=1.0, low_open=True
            )
        sizes: dict[str, tuple[int, str]] = {}
        for key in _SIZE_KEYS:
            if key in fidelity:
                value = _whole(fidelity[key])
                _check_int(f"fidelity {key!r}", value, 1)
                sizes[key] = (value, f"fidelity {key!r}")
            elif getattr(self, key) is not None:
                sizes[key] = (getattr(self, key), key)
        return _TrialSettings(
            epochs=epochs,
            train_fraction=float(train_fraction),
            lr=_hyperparameter(arch, "lr", self.lr),
            weight_decay=_hyperparameter(arch, "weight_decay", self.weight_decay),
            sizes=sizes,
        )

    def _evaluate(
        self, arch: Arch, ctx: TrialContext, device_spec: str | None
    ) -> tuple[nn.Module, dict[str, float]]:
        if ctx.space is None:
            raise ConfigError("TrainEvaluator needs the trial's space (ctx.space) to build a model")
        if device_spec is None:
            device_spec = self.device if self.device != "auto" else ctx.device
        device = resolve_device(device_spec)
        settings = self._settings(arch, ctx)
        # The failure is raised only after the ``except`` block: the caught exception's traceback
        # holds the frames of ``_train`` and with them the model, optimizer and activations.
        failure: Exception
        try:
            return self._train(arch, ctx, ctx.space, device, settings)
        except NonFiniteLossError as exc:
            failure = exc.with_traceback(None)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            failure = TrialOutOfMemoryError(self._out_of_memory(exc, device, settings))
            exc.with_traceback(None)  # in case someone else keeps the exception object
        free_memory(device)
        raise failure

    def _train(
        self,
        arch: Arch,
        ctx: TrialContext,
        space: Space,
        device: torch.device,
        settings: _TrialSettings,
    ) -> tuple[nn.Module, dict[str, float]]:
        data = self._tensors(device)
        amp = self.amp is True or (self.amp == "auto" and device.type == "cuda")
        precision = Precision(device, amp)
        with seeded(ctx.seed, device):
            model = build_model(space, arch, data.task, settings.sizes).to(device)
            n_params = sum(p.numel() for p in model.parameters())
            optimizer = torch.optim.SGD(
                model.parameters(),
                lr=settings.lr,
                momentum=self.momentum,
                nesterov=self.momentum > 0,
                weight_decay=settings.weight_decay,
            )
            rows = data.train_rows(settings.train_fraction)
            batches = batch_bounds(len(data.y_train if rows is None else rows), self.batch_size)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, settings.epochs * len(batches)
            )
            generator = torch.Generator().manual_seed(ctx.seed)
            train_loss = val_loss = val_acc = math.nan
            for epoch in range(1, settings.epochs + 1):
                train_loss, bad_step = train_epoch(
                    model, data, rows, batches, optimizer, scheduler, generator, precision
                )
                if bad_step is not None:
                    raise NonFiniteLossError(
                        f"non-finite loss at epoch {epoch} step {bad_step} (of {len(batches)} "
                        f"per epoch; epoch mean {train_loss}) with lr={settings.lr}: the run "
                        "diverged; lower lr, or check the data for NaN/inf"
                    )
                val_loss, val_acc = score(model, data.x_val, data.y_val, device, precision)
                ctx.report(epoch, {"val_acc": val_acc, "train_loss": train_loss})
            _, test_acc = score(model, data.x_test, data.y_test, device, precision)
        return model, {
            "val_acc": val_acc,
            "test_acc": test_acc,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "params": float(n_params),
            "epochs": float(settings.epochs),
        }

    def _out_of_memory(
        self, exc: BaseException, device: torch.device, settings: _TrialSettings
    ) -> str:
        sizes = "".join(f", {source}={value}" for value, source in settings.sizes.values())
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return (
            f"out of memory on {device} with batch_size={self.batch_size}{sizes}: lower "
            f"batch_size, or the network's channels/n_cells (space or fidelity); error: {said}"
        )

    def load_data(self) -> ArrayDataset:
        """The dataset (loaded on first use, then kept)."""
        if self._data is None:
            if isinstance(self.dataset, (str, ArrayDataset)):
                self._data = load_dataset(self.dataset)
            else:  # user data without a test set has one split off with the data seed
                self._data = load_dataset(self.dataset, seed=self.data_seed)
        return self._data

    def _tensors(self, device: torch.device) -> TrainData:
        key = str(device)
        if key not in self._on_device:
            data = self.load_data()
            x_train, y_train, x_val, y_val = data.split_validation(
                self.val_fraction, self.data_seed
            )
            if len(y_train) < 2:
                raise ConfigError(
                    f"val_fraction={self.val_fraction} leaves {len(y_train)} training sample; "
                    "allowed: a split that leaves at least 2"
                )
            subset_order = torch.randperm(
                len(y_train), generator=torch.Generator().manual_seed(self.data_seed)
            )
            limit = None if self.max_device_data_mb is None else self.max_device_data_mb * 1e6
            arrays = (x_train, y_train, x_val, y_val, data.x_test, data.y_test)
            self._on_device[key] = place_data(data.task, arrays, subset_order, device, limit)
        return self._on_device[key]


def _whole(value: Any) -> Any:
    """A whole float (``5.0`` from YAML) as an int; anything else unchanged for the checks."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


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


__all__ = [
    "FIDELITY_KEYS",
    "NonFiniteLossError",
    "TrainEvaluator",
    "TrialOutOfMemoryError",
    "resolve_device",
    "score",
]
