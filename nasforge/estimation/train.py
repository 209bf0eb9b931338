"""``TrainEvaluator``: train each architecture for real and measure its accuracy.

The whole dataset lives on the device as tensors (when it fits) and batches are drawn by index
from a seeded ``torch.Generator``: the datasets NAS trains thousands of models on are small, and
a ``DataLoader`` with worker processes would cost more than the training of a small network.
Devices, data placement, the epoch loop and mixed precision are the public toolkit in
:mod:`nasforge.training`; this module adds what makes it a trial: settings from the arch, the
fidelity and the options, reports, measures, and failures that name their cause.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nasforge.data import DATASETS, ArrayDataset, dataset_spec, load_dataset
from nasforge.errors import ConfigError, UnknownNameError, one_of
from nasforge.estimation._trial_settings import (
    FIDELITY_KEYS,
    SIZE_OPTIONS,
    Sizes,
    check_fidelity,
    check_float,
    check_int,
    model_settings,
    network_key,
    trial_settings,
    whole,
)
from nasforge.estimation.base import Evaluator, Reporter, TrialContext, check_device_form
from nasforge.estimation.measures import (
    Measure,
    MeasureCache,
    cached_metrics,
    check_measures,
    resolve_measures,
    run_measures,
)
from nasforge.space import Arch, Space, training_values
from nasforge.space.training import INITS, OPTIMIZERS, SCHEDULES
from nasforge.training import (
    NonFiniteLossError,
    Precision,
    TrainData,
    TrainRecipe,
    TrialOutOfMemoryError,
    build_model,
    cpu_threads,
    free_memory,
    initialise,
    is_out_of_memory,
    prepare_data,
    resolve_device,
    score,
    seeded,
    set_dropout,
    train_model,
)

#: the metrics of training, before those of the measures (and ``epochs`` after them)
TRAIN_METRICS: tuple[str, ...] = ("val_acc", "test_acc", "train_loss", "val_loss")


class TrainEvaluator(Evaluator):
    """Build the model of each arch with its space and train it (by default with SGD).

    Training: by default SGD with Nesterov momentum, a cosine learning-rate schedule over all
    steps, cross-entropy. A random ``val_fraction`` of the training set (fixed by
    ``data_seed``) is held out for ``val_acc``, the number searches should optimise;
    ``test_acc`` is on the dataset's test set. The trial's seed fixes the initial weights,
    the batch order and any randomness in the forward pass (dropout), and the caller's random
    state is left as it was, so on the CPU the same seed gives the same metrics.

    After each epoch the evaluator reports ``val_acc`` and ``train_loss`` at step ``epoch``
    (1, 2, ...), where a scheduler may prune it.

    **Measures** of the trained network are added to its metrics (:mod:`~nasforge.estimation.
    measures`): by default its parameter count ``params``; a search may optimise or constrain
    them as objectives. :attr:`metric_names` is ``val_acc``, ``test_acc``, ``train_loss``,
    ``val_loss``, the measures' metrics, then ``epochs``. The metrics of ``per_arch``
    measures (:attr:`cheap_metric_names`) come from the network alone: a search with a hard
    constraint on one measures it on the untrained network first (:meth:`cheap_metrics`) and
    trains only an arch that keeps it.

    **Lower fidelity** (the cheaper estimates surveyed by Elsken et al. 2019, section 5: shorter
    training, a subset of the data, fewer cells and filters, as Zoph et al. 2018 and Real et al.
    2019 searched). ``ctx.fidelity`` may carry ``epochs``, ``train_fraction`` (the share of
    the training set used; a smaller share is always a subset of a larger one) and any network
    size the trial's space declares in its :attr:`~nasforge.space.ModelSpace.size_options`
    (for :class:`~nasforge.spaces.NB201Space`: ``n_cells`` and ``channels``, a smaller or
    larger macro network around the same cell, built by the space's ``build(arch, task,
    n_cells=..., channels=...)``; ``n_cells`` or ``channels`` for a space that does not
    declare it raises :class:`~nasforge.errors.ConfigError`). Precedence, first wins: the
    arch's own dimensions (``lr``, ``weight_decay``, ``width`` of the NB201 space's
    ``hyperparameters``), then ``ctx.fidelity``, then this evaluator's options, then the
    space's options.

    **Training dimensions.** An arch of a space with training dimensions
    (:func:`~nasforge.space.with_training`) trains with its own ``train.optimizer``,
    ``train.momentum``, ``train.lr``, ``train.schedule``, ``train.weight_decay``,
    ``train.batch_size``; its network gets ``train.dropout`` (the ``p`` of every dropout
    module: a network without one refuses a dropout above 0) and ``train.init`` (drawn after
    ``build``, from the trial's seed). What is not searched comes from this evaluator's
    options. Such a trial's metrics also hold the numbers it trained with: ``train.lr``,
    ``train.weight_decay``, ``train.batch_size``, ``train.momentum`` and ``train.dropout``
    (when set); its categorical choices are in the arch or are this evaluator's options.

    **Robustness.** A CUDA out-of-memory error (or a failed CPU allocation) raises
    :class:`TrialOutOfMemoryError`, and a NaN or infinite training loss
    :class:`NonFiniteLossError`, each after the model and optimizer are freed and with a
    message that names the cause and a remedy; an experiment records the trial ``failed`` with
    that message and goes on. The data stays in host memory (pinned) and is copied batch by
    batch when it would take too much of a CUDA device. Mixed precision (``amp``) is on by
    default on CUDA.

    Args:
        dataset: a dataset name (``"mnist1d"``, ``"digits"``, ``"cifar10"``, ...), a name with
            options ``{"name": "cifar10", "options": {"max_samples": 5000}}``, or user data as
            :func:`nasforge.data.load_dataset` accepts: arrays ``(x, y)`` or
            ``(x_train, y_train, x_test, y_test)``, or a ``torch.utils.data.Dataset``. Training
            batches of an image dataset with augmentation (CIFAR's random crop and flip) are
            augmented on the device; validation and test batches never.
        epochs: training epochs.
        batch_size: samples per step.
        lr: initial learning rate.
        momentum: SGD momentum (Nesterov when above 0 and ``optimizer`` is ``None``).
        weight_decay: L2 penalty (decoupled for AdamW).
        optimizer: ``None`` (SGD, with Nesterov momentum when ``momentum`` > 0), or one of
            ``"sgd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, ``"adamw"``.
        schedule: learning-rate schedule over all steps: ``"cosine"``, ``"constant"`` or
            ``"step"`` (x0.1 after 1/2 and 3/4 of the steps).
        grad_clip: clip each step's gradients to this norm (``None``: no clipping). DARTS's
            recipe clips to 5; cells of stacked pooling and skips, which a one-shot search
            often derives, can diverge at ``lr`` 0.1 without it (see BENCHMARKS.md).
        label_smoothing: share of each training target spread uniformly over the classes
            (0: plain cross-entropy; DARTS's ImageNet recipe uses 0.1). Validation and test
            losses stay plain cross-entropy.
        dropout: the ``p`` of every dropout module of the network (``None``: as built).
        init: weight initialisation after build: ``"default"`` (PyTorch's), ``"kaiming"``,
            ``"xavier"`` or ``"lecun"``.
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
            leaves torch's setting (one per core). The default, 1, is what degrades gracefully:
            small networks gain little from several threads, and while another CPU-bound
            process shares the cores, several threads made a trial many times slower (measured
            by ``benchmarks/main_job.py``; see BENCHMARKS.md); one thread barely notices it. Give
            more (or ``None``) for large networks on an otherwise idle machine. Only the CPU's
            intra-op threads: a trial on a GPU is not slowed by it.
        amp: automatic mixed precision. ``"auto"``: on for CUDA devices (bfloat16, or float16
            with loss scaling on GPUs without bfloat16), off elsewhere; ``True``: also on the
            CPU (bfloat16; slower than float32 on most CPUs); ``False``: float32 everywhere.
        max_device_data_mb: the data is copied to the device whole when it takes at most this
            many megabytes, else it stays in host memory and each batch is copied over.
            ``None``: at most a quarter of a CUDA device's free memory; always on the CPU.
        measures: measurements of the trained network added to the metrics: names of
            :func:`~nasforge.estimation.measures.list_measures` (``"params"``: the parameter
            count; ``"flops"``, ``"peak_memory"``, ``"latency"``: hardware cost),
            ``{"name": ..., "options": {...}}`` mappings or
            :class:`~nasforge.estimation.measures.Measure` objects; ``()`` for none. Those that
            depend on the network alone are measured once per network.
        inherit: weight inheritance (Real et al. 2017; Zhang et al. 2018's knowledge
            inheritance): each trial's trained weights are kept with it, and a child (an arch
            a strategy mutated from a trial, ``ctx.parent``) starts from every tensor of its
            parent's whose name and shape match its own, then trains ``epochs`` more. The
            trial's lineage records the names reused (:mod:`nasforge.experiment.lineage`).
            Genome spaces name their layers by a stable id, so a child keeps what it kept.
        keep_weights: keep each trial's trained weights in the store (a ``weights`` artifact,
            as ``inherit`` does, without starting children from them), so that
            :func:`nasforge.export.ensemble` can combine the best trials' networks without
            training them again. A 32-channel NB201 network on MNIST-1D takes 0.7-1 MB.

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

    runtime_options = ("device", "threads", "max_device_data_mb", "keep_weights")

    def __init__(
        self,
        dataset: str | object = "mnist1d",
        epochs: int = 20,
        batch_size: int = 128,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        optimizer: str | None = None,
        schedule: str = "cosine",
        grad_clip: float | None = None,
        label_smoothing: float = 0.0,
        dropout: float | None = None,
        init: str = "default",
        val_fraction: float = 0.1,
        train_fraction: float = 1.0,
        n_cells: int | None = None,
        channels: int | None = None,
        device: str = "auto",
        data_seed: int = 0,
        threads: int | None = 1,
        amp: bool | str = "auto",
        max_device_data_mb: float | None = None,
        measures: Sequence[str | Measure | Mapping[str, Any]] = ("params",),
        inherit: bool = False,
        keep_weights: bool = False,
    ) -> None:
        if isinstance(dataset, str) and dataset not in DATASETS:
            raise UnknownNameError("dataset", dataset, DATASETS.names())
        if isinstance(dataset, Mapping):  # {name, options}: checked now, loaded on first use
            dataset_spec(dataset)
        check_int("epochs", epochs, 1)
        check_int("batch_size", batch_size, 2)
        check_int("data_seed", data_seed, None)
        for field, value in (("threads", threads), ("n_cells", n_cells), ("channels", channels)):
            if value is not None:
                check_int(field, value, 1)
        check_float("lr", lr, low=0.0, low_open=True)
        check_float("momentum", momentum, low=0.0, high=1.0, high_open=True)
        check_float("weight_decay", weight_decay, low=0.0)
        names: tuple[tuple[str, str | None, tuple[str | None, ...]], ...] = (
            ("optimizer", optimizer, (None, *OPTIMIZERS)),
            ("schedule", schedule, SCHEDULES),
            ("init", init, INITS),
        )
        for name, chosen, allowed in names:
            if chosen not in allowed:
                raise ConfigError(f"{name}={chosen!r}; allowed: {one_of(allowed)}")
        if grad_clip is not None:
            check_float("grad_clip", grad_clip, low=0.0, low_open=True)
        check_float("label_smoothing", label_smoothing, low=0.0, high=1.0, high_open=True)
        if dropout is not None:
            check_float("dropout", dropout, low=0.0, high=1.0, high_open=True)
        check_float("val_fraction", val_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
        check_float("train_fraction", train_fraction, low=0.0, high=1.0, low_open=True)
        if max_device_data_mb is not None:
            check_float("max_device_data_mb", max_device_data_mb, low=0.0)
        check_device_form(device)
        if not (isinstance(amp, bool) or amp == "auto"):
            raise ConfigError(f"amp={amp!r}; allowed: 'auto', True or False")
        for flag, value in (("inherit", inherit), ("keep_weights", keep_weights)):
            if not isinstance(value, bool):
                raise ConfigError(f"{flag}={value!r}; allowed: true or false")
        measured = resolve_measures(measures, reserved=(*TRAIN_METRICS, "epochs"))
        self.dataset = dataset
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.schedule = schedule
        self.grad_clip = grad_clip
        self.label_smoothing = label_smoothing
        self.dropout = dropout
        self.init = init
        self.val_fraction = val_fraction
        self.train_fraction = train_fraction
        self.n_cells = n_cells
        self.channels = channels
        self.device = device
        self.data_seed = data_seed
        self.threads = threads
        self.amp = amp
        self.max_device_data_mb = max_device_data_mb
        self.measures = measures
        self.inherit = inherit
        self.inherits = inherit
        self.keep_weights = keep_weights
        self.metric_names = (
            *TRAIN_METRICS,
            *(name for measure in measured for name in measure.metric_names),
            "epochs",
        )
        self._measures = measured
        # a per_arch measure depends on the network alone, not on its trained weights
        self.cheap_metric_names = tuple(
            name for measure in measured if measure.per_arch for name in measure.metric_names
        )
        self._measured: MeasureCache = {}
        self._data: ArrayDataset | None = None
        self._on_device: dict[str, TrainData] = {}

    def __repr__(self) -> str:
        name = self.dataset if isinstance(self.dataset, str) else type(self.dataset).__name__
        if isinstance(self.dataset, Mapping):
            name = str(self.dataset.get("name"))
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
        epochs = whole(epochs)
        check_int("fidelity 'epochs'", epochs, 1)
        return int(epochs)

    def check_fidelity(self, fidelity: Mapping[str, Any], space: Space) -> None:
        """Refuse an unknown key or a bad value (the check every trial makes), and a network
        size, of ``fidelity`` or of this evaluator's options, that ``space`` does not build
        with."""
        check_fidelity(fidelity, space, self.size_overrides())

    def check_device(self, device: str) -> None:
        """Refuse a device that is not on this machine: this evaluator's ``device`` option, or
        when that is ``"auto"`` the trial context's ``device``, and a measure's own device (a
        latency's)."""
        resolve_device(self.device if self.device != "auto" else device)
        check_measures(self._measures)

    def fingerprint(self) -> dict[str, str]:
        """The dataset's name and a SHA-256 of its arrays (loads the data)."""
        data = self.load_data()
        return {"data": str(data.name), "data_sha256": data.sha256()}

    def size_overrides(self) -> dict[str, int]:
        """The ``n_cells`` and ``channels`` options that are set (they replace the space's)."""
        options = {"n_cells": self.n_cells, "channels": self.channels}
        return {key: value for key, value in options.items() if value is not None}

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
        with cpu_threads(self.threads):
            return self._evaluate(arch, ctx, device)

    def _evaluate(
        self, arch: Arch, ctx: TrialContext, device_spec: str | None
    ) -> tuple[nn.Module, dict[str, float]]:
        space, device, recipe, sizes = self._plan(arch, ctx, device_spec)
        # The failure is raised only after the ``except`` block: the caught exception's traceback
        # holds the frames of ``_train`` and with them the model, optimizer and activations.
        failure: Exception
        try:
            return self._train(arch, ctx, space, device, recipe, sizes)
        except NonFiniteLossError as exc:
            failure = exc.with_traceback(None)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            failure = TrialOutOfMemoryError(
                self._out_of_memory(exc, device, sizes, recipe.batch_size)
            )
            exc.with_traceback(None)  # in case someone else keeps the exception object
        free_memory(device)
        raise failure

    def _plan(
        self, arch: Arch, ctx: TrialContext, device_spec: str | None
    ) -> tuple[Space, torch.device, TrainRecipe, Sizes]:
        """The space, device, recipe and network sizes of a trial of ``arch``."""
        if ctx.space is None:
            raise ConfigError("TrainEvaluator needs the trial's space (ctx.space) to build a model")
        if device_spec is None:
            device_spec = self.device if self.device != "auto" else ctx.device
        device = resolve_device(device_spec)
        options = TrainRecipe(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            train_fraction=self.train_fraction,
            optimizer=self.optimizer,
            schedule=self.schedule,
            grad_clip=self.grad_clip,
            label_smoothing=self.label_smoothing,
        )
        recipe, sizes = trial_settings(
            arch, ctx.fidelity, ctx.space, options, self.size_overrides()
        )
        return ctx.space, device, recipe, sizes

    def cheap_metrics(
        self, arch: Arch, ctx: TrialContext, names: Sequence[str]
    ) -> dict[str, float]:
        """The metrics among ``names`` of its ``per_arch`` measures (:attr:`cheap_metric_names`),
        measured on the untrained network of the trial (same sizes, same device, eval mode),
        without putting the data on the device or training.

        The values are kept where training looks for them, so the trained network is not
        measured again.
        """
        wanted = set(names) & set(self.cheap_metric_names)
        if not wanted:
            return {}
        with cpu_threads(self.threads):
            space, device, _, sizes = self._plan(arch, ctx, None)
            task = self.load_data().task
            chosen = [m for m in self._measures if m.per_arch and wanted & set(m.metric_names)]
            network = network_key(space, arch, sizes)
            measured = cached_metrics(chosen, task, device, network, self._measured)
            if measured is None:  # kept in the cache, where training looks for them
                with seeded(ctx.seed, device):
                    model = build_model(space, arch, task, sizes).to(device).eval()
                    measured = run_measures(chosen, model, task, device, network, self._measured)
                del model
        return {name: value for name, value in measured.items() if name in wanted}

    def _train(
        self,
        arch: Arch,
        ctx: TrialContext,
        space: Space,
        device: torch.device,
        recipe: TrainRecipe,
        sizes: Sizes,
    ) -> tuple[nn.Module, dict[str, float]]:
        data = self._tensors(device)
        precision = Precision(device, self.amp)
        dropout, init = model_settings(arch, self.dropout, self.init)
        with seeded(ctx.seed, device):
            model = build_model(space, arch, data.task, sizes)
            initialise(model, init)
            if dropout is not None and not set_dropout(model, dropout) and dropout > 0:
                raise ConfigError(
                    f"dropout={dropout} cannot reach the network of space {space.name!r}: it "
                    "has no dropout module; allowed: a space whose network has one (nb201), "
                    "or no dropout (training dropout: null)"
                )
            model = model.to(device)
            if self.inherit and ctx.parent_state is not None:
                ctx.note_inherited(inherit_weights(model, ctx.parent_state, device))
            result = train_model(model, data, recipe, ctx.seed, precision, ctx.report)
            _, test_acc = score(model, data.x_test, data.y_test, device, precision)
            network = network_key(space, arch, sizes)
            measured = run_measures(
                self._measures, model, data.task, device, network, self._measured
            )
            if self.inherit or self.keep_weights:
                ctx.keep_state(save_weights(model))
        return model, {
            "val_acc": result.val_acc,
            "test_acc": test_acc,
            "train_loss": result.train_loss,
            "val_loss": result.val_loss,
            **measured,
            "epochs": float(recipe.epochs),
            **_training_record(arch, recipe, dropout),
        }

    def _out_of_memory(
        self, exc: BaseException, device: torch.device, sizes: Sizes, batch_size: int
    ) -> str:
        built = "".join(f", {source}={value}" for value, source in sizes.values())
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        return (
            f"out of memory on {device} with batch_size={batch_size}{built}: lower "
            f"batch_size, or the network's channels/n_cells (space or fidelity); error: {said}"
        )

    def load_data(self) -> ArrayDataset:
        """The dataset (loaded on first use, then kept)."""
        if self._data is None:
            if isinstance(self.dataset, (str, ArrayDataset, Mapping)):
                self._data = load_dataset(self.dataset)
            else:  # user data without a test set has one split off with the data seed
                self._data = load_dataset(self.dataset, seed=self.data_seed)
        return self._data

    def _tensors(self, device: torch.device) -> TrainData:
        key = str(device)
        if key not in self._on_device:
            limit = None if self.max_device_data_mb is None else self.max_device_data_mb * 1e6
            self._on_device[key] = prepare_data(
                self.load_data(), device, self.val_fraction, self.data_seed, limit
            )
        return self._on_device[key]


def save_weights(model: nn.Module) -> bytes:
    """``model``'s state dict on the CPU, serialised with ``torch.save`` (for inheritance)."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def inherit_weights(model: nn.Module, state: bytes, device: torch.device) -> dict[str, Any]:
    """Load into ``model`` every tensor of the serialised ``state`` whose name and shape match
    its own; returns ``{"reused": [names], "tensors": how many the model has}``.

    Example:
        >>> parent, child = nn.Linear(3, 2), nn.Linear(4, 2)
        >>> inherit_weights(child, save_weights(parent), torch.device("cpu"))
        {'reused': ['bias'], 'tensors': 2}
        >>> bool(torch.equal(child.bias, parent.bias))
        True
    """
    stored = torch.load(io.BytesIO(state), map_location=device, weights_only=True)
    own = model.state_dict()
    reused = [k for k, t in stored.items() if k in own and own[k].shape == t.shape]
    model.load_state_dict({k: stored[k] for k in reused}, strict=False)
    return {"reused": reused, "tensors": len(own)}


def _training_record(arch: Arch, recipe: TrainRecipe, dropout: float | None) -> dict[str, float]:
    """The numbers a trial of an arch with training dimensions trained with (``{}`` for an
    arch without them: its settings are the evaluator's options)."""
    if not training_values(arch):
        return {}
    record = {
        "train.lr": recipe.lr,
        "train.weight_decay": recipe.weight_decay,
        "train.batch_size": float(recipe.batch_size),
    }
    if recipe.optimizer in ("momentum", "nesterov") or recipe.optimizer is None:
        record["train.momentum"] = recipe.momentum
    if dropout is not None:
        record["train.dropout"] = dropout
    return record


__all__ = [
    "FIDELITY_KEYS",
    "SIZE_OPTIONS",
    "TRAIN_METRICS",
    "NonFiniteLossError",
    "TrainEvaluator",
    "TrialOutOfMemoryError",
    "resolve_device",
    "score",
]
