"""The one-shot methods: DARTS, GDAS, DrNAS, ENAS and random one-shot (SPOS), on one supernet loop.

Each is a :class:`~nasforge.oneshot.OneShotMethod` registered by name (``strategy: darts``) and
differs from the others only where the papers differ:

- how a training step picks what the supernet computes (:attr:`SupernetSearch.mode`: a weighted
  sum of every candidate, one Gumbel-drawn candidate, a Dirichlet-weighted sum, or one sampled
  path of the space);
- how the architecture is learned (:meth:`SupernetSearch.arch_step`: gradient steps of the
  architecture parameters on held-out batches, first or second order; a REINFORCE controller;
  nothing, for random one-shot);
- how the result is derived (by default the candidates the trained supernet relies on most,
  or the strongest; the controller's best sample; a multi-trial search that uses the supernet
  as its evaluator).

The loop they share (:class:`SupernetSearch`) splits the evaluator's training data into a
weight half and an architecture half (``train_portion``), trains the supernet's weights with
SGD and a cosine schedule, and after every epoch derives an architecture, estimates its accuracy
on the validation split through the supernet, records it as a trial (``val_acc`` is the
supernet's estimate; ``standalone`` is 0) and stores the architecture weights of every choice
(``session.attached("oneshot_epoch")``), then checkpoints everything a resume needs (weights,
optimisers, the epoch, the method's own state), so a killed search goes on from its last epoch and
ends as an uninterrupted one would. At the end the honesty report trains the derived
architecture and others across the supernet's ranking alone and compares
(:mod:`nasforge.oneshot.report`).

Before training, the supernet's peak memory is predicted from the space and the batch size; a
search that would not fit the device stops there, proposing a batch that does.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from nasforge.errors import ConfigError, SpaceError, one_of
from nasforge.interrupt import raise_if_stop_requested
from nasforge.objectives import Objectives
from nasforge.oneshot.base import EPOCH_KIND, OneShotMethod, SearchSession
from nasforge.oneshot.report import REPORT_KIND
from nasforge.oneshot.supernet import WEIGHTED_MODES
from nasforge.space import Arch, Categorical, Space
from nasforge.strategies.base import positive_int
from nasforge.strategies.metaqnn import check_fraction
from nasforge.training.loop import SCORE_BATCH
from nasforge.trial import Trial, TrialStatus

#: what a one-shot method measures of the archs it records; the experiment's objectives must
#: be among them
ONE_SHOT_METRICS: tuple[str, ...] = ("val_acc", "val_loss")

#: the collapse remedies a gradient-based method can use
REMEDIES: tuple[str, ...] = ("beta-decay", "random-smoothing")
#: how a gradient method picks its final architecture from the supernet
SELECTIONS: tuple[str, ...] = ("magnitude", "perturbation")
#: the artifact kind marking a search without an honesty report as ended (its final arch)
FINAL_KIND = "oneshot_final"
#: validation signals perturbation-based selection scores each removal on
PERTURBATION_SAMPLES = 1024
#: training samples (of the weight half) a path's batch norms recompute their statistics on
#: before the path is scored (``bn_recalibrate``)
RECALIBRATION_SAMPLES = 512


def _number(method: str, name: str, value: Any, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        shown = f"[{low}, {high}]" if math.isfinite(high) else f">= {low}"
        raise ConfigError(f"strategy {method!r}: {name} must be a number {shown}, got {value!r}")
    return float(value)


class SupernetSearch(OneShotMethod):
    """The loop every supernet method shares (see the module docstring).

    Args:
        space: a space written with choice points (``nb201``, ``darts``, ``chain``, ``mobile``,
            ``inception``, ``pytorch``).
        seed: the search's seed (weights, data order, samples, architecture initialisation).
        epochs: passes over the weight half of the training data.
        batch_size: samples per step (of each half).
        lr: the weights' SGD learning rate, annealed by a cosine to ``lr_min``.
        lr_min: the learning rate at the end.
        momentum: the weights' SGD momentum.
        weight_decay: the weights' weight decay.
        arch_lr: the architecture parameters' Adam learning rate.
        arch_weight_decay: their weight decay.
        train_portion: the share of the training data that trains the weights; the rest trains
            the architecture (DARTS: half).
        grad_clip: the weights' gradient-norm clip.
        bn_affine: whether batch norms inside candidate operations learn a scale and shift while
            searching (DARTS: no); stored with the run.
        bn_track_stats: whether they keep running statistics (DARTS: no).
        bn_recalibrate: before a path is scored (the supernet's estimate of an arch, ENAS's
            reward), the batch norms that keep running statistics (those outside the candidate
            operations, such as the cells' input projections, and all with ``bn_track_stats``)
            recompute them on :data:`RECALIBRATION_SAMPLES` training samples through that path,
            as SPOS does, instead of using averages over every path trained; restored after.
            Off by default: it raised the estimates (random one-shot on ``nb201``: 61% against
            46% on average) but not their ranking of standalone archs beyond noise, and it
            slows ENAS's rewards (BENCHMARKS.md). Stored with the run.
        pool_norm: whether the weighted sum of candidates normalises pooling candidates'
            outputs (a batch norm without affine or running statistics, as in DARTS's search
            network); by default on for the methods that train on a weighted sum (``darts``,
            ``drnas``) and off for the others, whose supernet runs one candidate at a time.
            Stored with the run.
        fixed: values of choices the supernet holds fixed (widths, depths, numbers); by default
            the first candidate, the lower bound and the largest depth.
        channels: the supernet's ``channels`` (default: the evaluator's, else the space's).
        n_cells: its ``n_cells`` likewise.
        partial_channels: PC-DARTS's partial channel connections (1 in K channels through the
            mixed operations), for spaces that take it (``darts``).
        warmup_epochs: epochs that train only the weights before the architecture starts to
            learn (a common guard against early preference for parameter-free operations,
            which learn faster while the weights of the others are still random). By default
            the method's :attr:`warmup_share` of ``epochs``, rounded down: a third for
            ``darts`` (as PC-DARTS's 15 of 50), none for the others.
        report_archs: archs the honesty report trains alone (0: no report).
        report_pool: archs sampled from the space and ranked by the supernet, among which the
            report picks.
        memory_check: predict the peak memory first and refuse a search that would not fit.
    """

    #: the supernet's relaxation while training weights (:data:`nasforge.oneshot.supernet.MODES`)
    mode: ClassVar[str] = "softmax"
    #: whether the architecture parameters are trained by gradient on the architecture half
    learns_alphas: ClassVar[bool] = True
    #: the share of ``epochs`` that trains the weights alone when ``warmup_epochs`` is not given
    warmup_share: ClassVar[float] = 0.0

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        *,
        objectives: Objectives | None = None,
        epochs: int = 10,
        batch_size: int = 64,
        lr: float = 0.025,
        lr_min: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 3e-4,
        arch_lr: float = 3e-3,
        arch_weight_decay: float = 1e-3,
        train_portion: float = 0.5,
        grad_clip: float = 5.0,
        bn_affine: bool = False,
        bn_track_stats: bool = False,
        bn_recalibrate: bool = False,
        pool_norm: bool | None = None,
        fixed: Mapping[str, Any] | None = None,
        channels: int | None = None,
        n_cells: int | None = None,
        partial_channels: int | None = None,
        warmup_epochs: int | None = None,
        report_archs: int = 5,
        report_pool: int = 30,
        memory_check: bool = True,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        name = self.name
        self.epochs = positive_int(name, "epochs", epochs)
        self.batch_size = positive_int(name, "batch_size", batch_size)
        self.lr = _number(name, "lr", lr, 1e-12)
        self.lr_min = _number(name, "lr_min", lr_min, 0.0, self.lr)
        self.momentum = check_fraction(name, "momentum", momentum, 0.0, 0.999)
        self.weight_decay = _number(name, "weight_decay", weight_decay, 0.0)
        self.arch_lr = _number(name, "arch_lr", arch_lr, 1e-12)
        self.arch_weight_decay = _number(name, "arch_weight_decay", arch_weight_decay, 0.0)
        self.train_portion = check_fraction(name, "train_portion", train_portion, 0.05, 0.95)
        self.grad_clip = _number(name, "grad_clip", grad_clip, 1e-12)
        if pool_norm is None:
            pool_norm = self.mode in WEIGHTED_MODES
        for option, flag in (
            ("bn_affine", bn_affine),
            ("bn_track_stats", bn_track_stats),
            ("bn_recalibrate", bn_recalibrate),
            ("pool_norm", pool_norm),
            ("memory_check", memory_check),
        ):
            if not isinstance(flag, bool):
                raise ConfigError(
                    f"strategy {name!r}: {option} must be true or false, got {flag!r}"
                )
        self.bn_affine, self.bn_track_stats = bn_affine, bn_track_stats
        self.bn_recalibrate = bn_recalibrate
        self.pool_norm = pool_norm
        self.memory_check = memory_check
        if fixed is not None and not isinstance(fixed, Mapping):
            raise ConfigError(f"strategy {name!r}: fixed must be a mapping of choice -> value")
        unknown = [k for k in (fixed or {}) if k not in space.names]
        if unknown:
            raise ConfigError(
                f"strategy {name!r}: fixed names {unknown[0]!r}, not a choice of space "
                f"{space.name!r}; allowed: {one_of(space.names)}"
            )
        self.fixed = dict(fixed or {})
        self.sizes: dict[str, int] = {}
        for option, value in (
            ("channels", channels),
            ("n_cells", n_cells),
            ("partial_channels", partial_channels),
        ):
            if value is not None:
                self.sizes[option] = positive_int(name, option, value)
        if warmup_epochs is None:
            warmup_epochs = int(self.epochs * self.warmup_share)
        self.warmup_epochs = positive_int(name, "warmup_epochs", warmup_epochs, 0)
        if self.warmup_epochs >= self.epochs and self.learns_alphas:
            raise ConfigError(
                f"strategy {name!r}: warmup_epochs={warmup_epochs} leaves no epoch to learn the "
                f"architecture; allowed: fewer than epochs ({self.epochs})"
            )
        self.report_archs = positive_int(name, "report_archs", report_archs, 0)
        self.report_pool = positive_int(name, "report_pool", report_pool, 1)
        missing = [n for n in self.objectives.names if n not in ONE_SHOT_METRICS]
        if missing:
            raise ConfigError(
                f"objectives: strategy {name!r} is a one-shot method, which estimates "
                f"{one_of(ONE_SHOT_METRICS)} through its supernet, not {missing[0]!r}"
            )
        self.supernet_: Any = None
        self.report_: Any = None

    def planned_trials(self) -> int:
        """One trial per epoch, then the report's archs (random one-shot: and its search)."""
        return self.epochs + self.report_archs + getattr(self, "search_trials", 0)

    # ---- hooks the methods fill in ----------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """What the search ran with, stored with its epochs and its report."""
        return {
            "method": self.name,
            "mode": self.mode,
            "bn_affine": self.bn_affine,
            "bn_track_stats": self.bn_track_stats,
            "bn_recalibrate": self.bn_recalibrate,
            "pool_norm": self.pool_norm,
            "epochs": self.epochs,
            "warmup_epochs": self.warmup_epochs,
            "batch_size": self.batch_size,
        }

    def start_epoch(self, epoch: int) -> None:
        """Called before each epoch (GDAS anneals its temperature here)."""

    def before_weight_step(self, generator: torch.Generator) -> None:
        """Set what the supernet computes in the next weight step (path methods draw a path)."""

    def after_weight_step(self) -> None:
        """Undo what :meth:`before_weight_step` set for that step only."""

    def arch_loss(self, loss: torch.Tensor, epoch: int) -> torch.Tensor:
        """The architecture loss from the validation loss (remedies add their term)."""
        return loss

    def arch_step(
        self, x_arch: torch.Tensor, y_arch: torch.Tensor, x_w: torch.Tensor, y_w: torch.Tensor
    ) -> None:
        """One step of the architecture parameters on an architecture-half batch (first
        order: the gradient of the validation loss at the current weights)."""
        supernet = self.supernet_
        self._arch_optimizer.zero_grad(set_to_none=True)
        # bfloat16 needs no loss scaling; float16 (a scaler) would underflow these gradients
        bf16 = self._precision.scaler is None
        with self._precision.autocast() if bf16 else contextlib.nullcontext():
            loss = nn.functional.cross_entropy(supernet(x_arch), y_arch)
        self.arch_loss(loss.float(), self._epoch).backward()
        self._arch_optimizer.step()

    def end_epoch(self, data: Any, generator: torch.Generator) -> None:
        """Called after each epoch's weight training (ENAS trains its controller here)."""

    def derive(self) -> Arch:
        """The epoch's architecture: the supernet's strongest candidates."""
        return self.supernet_.derive()  # type: ignore[no-any-return]

    def collapse_advice(self) -> str | None:
        """What the collapse warning proposes."""
        return None

    def extra_state(self) -> dict[str, Any]:
        """The method's own state for the checkpoint."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`extra_state`."""

    def final(
        self, session: SearchSession, data: Any, on_trial: Callable[[Trial], None] | None
    ) -> tuple[Arch, list[tuple[Arch, float]], list[Trial]]:
        """The result after the last epoch: the derived arch, the archs ranked by the supernet
        (with their estimates) for the report, and trials recorded on the way."""
        derived = self.final_arch(data)
        if not self.report_archs:  # no report to rank them for
            return derived, [], []
        pool = self._estimate(data, self._sample_archs(self.report_pool, derived))
        return derived, pool, []

    def final_arch(self, data: Any) -> Arch:
        """The architecture the search ends with (by default the last epoch's)."""
        return self.derive()

    # ---- the loop -------------------------------------------------------------------------------

    def search(
        self,
        session: SearchSession,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> list[Trial]:
        from nasforge.oneshot.supernet import (
            Supernet,
            available_memory,
            estimate_memory,
            memory_advice,
            supernet_definition,
        )
        from nasforge.training import Precision, cpu_threads, resolve_device, seeded

        started = time.monotonic()
        evaluator = session.evaluator
        load = getattr(evaluator, "load_data", None)
        if not callable(load) or load() is None:
            raise ConfigError(
                f"evaluator: strategy {self.name!r} trains a supernet on the evaluator's data; "
                f"allowed: evaluator 'train' (not {type(evaluator).__name__})"
            )
        spec = getattr(evaluator, "device", "auto")
        device = resolve_device(spec if spec != "auto" else session.device)
        recorded: list[Trial] = []

        def tell(trial: Trial) -> None:
            recorded.append(trial)
            if on_trial is not None:
                on_trial(trial)

        with cpu_threads(getattr(evaluator, "threads", None)):
            data = self._data(evaluator, device)
            sizes = {**_evaluator_sizes(evaluator), **self.sizes}
            with seeded(self.seed, device):
                supernet = Supernet(
                    self.space,
                    data.task,
                    fixed=self.fixed,
                    bn_affine=self.bn_affine,
                    bn_track_stats=self.bn_track_stats,
                    sizes=sizes,
                    alpha_seed=self.seed,
                    pool_norm=self.pool_norm,
                ).to(device)
            supernet.set_mode(self.mode)
            self.supernet_ = supernet
            predicted = estimate_memory(supernet, data.task, self.batch_size)
            if self.memory_check:
                advice = memory_advice(
                    predicted["peak_bytes"],
                    available_memory(device),
                    self.batch_size,
                    str(device),
                    partial_channels="partial_channels" in supernet_definition(self.space)[1],
                )
                if advice is not None:
                    raise ConfigError(f"strategy {self.name!r}: {advice}")
            self._predicted = predicted
            self._precision = Precision(device, getattr(evaluator, "amp", "auto"))
            self._setup_optimizers(data)
            stored = session.trials(intermediate=False)
            done_epochs = self._resume(session, tell)
            if done_epochs >= self.epochs and (
                session.attached(REPORT_KIND) or session.attached(FINAL_KIND)
            ):
                return recorded  # the search ended before: nothing to do again
            for epoch in range(done_epochs + 1, self.epochs + 1):
                if _out_of_budget(stored, recorded, max_trials, started, max_time):
                    return recorded
                self._epoch = epoch
                with seeded(self.seed * 1009 + epoch, device):
                    generator = torch.Generator().manual_seed(self.seed * 7919 + epoch)
                    supernet.set_generator(torch.Generator().manual_seed(self.seed * 31 + epoch))
                    self.start_epoch(epoch)
                    train_loss = self._train_epoch(data, generator)
                    self.end_epoch(data, generator)
                    derived = self.derive()
                    val_loss, val_acc = self._score(data, derived)
                entry = {
                    "epoch": epoch,
                    "derived": derived.key,
                    "weights": supernet.weights(),
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "supernet_val_acc": val_acc,
                    "search_s": self._elapsed + time.monotonic() - started,
                }
                self._checkpoint(session, epoch, entry, started)
                self._record_epoch(session, entry, tell)
            if _out_of_budget(stored, recorded, max_trials, started, max_time):
                return recorded
            with seeded(self.seed * 1009 + self.epochs + 1, device):
                derived, pool, _ = self.final(session, data, tell)
                if self.report_archs == 0:
                    self._record_final(session, data, derived, tell)
            self._report(session, derived, pool, tell)
        return recorded

    # ---- parts of the loop ----------------------------------------------------------------------

    def _data(self, evaluator: Any, device: torch.device) -> Any:
        from nasforge.training import prepare_data

        return prepare_data(
            evaluator.load_data(),
            device,
            getattr(evaluator, "val_fraction", 0.1),
            getattr(evaluator, "data_seed", 0),
        )

    def _setup_optimizers(self, data: Any) -> None:
        from nasforge.training import batch_bounds

        supernet = self.supernet_
        n = len(data.y_train)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed))
        split = max(1, min(n - 1, round(self.train_portion * n)))
        self._rows_w, self._rows_a = order[:split], order[split:]
        self._batches = batch_bounds(len(self._rows_w), self.batch_size)
        self._optimizer = torch.optim.SGD(
            supernet.weight_parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
        )
        self._schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self._optimizer, self.epochs * len(self._batches), eta_min=self.lr_min
        )
        self._arch_optimizer = torch.optim.Adam(
            supernet.arch_parameters(),
            lr=self.arch_lr,
            betas=(0.5, 0.999),
            weight_decay=self.arch_weight_decay,
        )
        self._epoch = 0
        self._elapsed = 0.0

    def _train_epoch(self, data: Any, generator: torch.Generator) -> float:
        supernet = self.supernet_
        supernet.train()
        order_w = self._rows_w[torch.randperm(len(self._rows_w), generator=generator)]
        order_a = self._rows_a[torch.randperm(len(self._rows_a), generator=generator)]
        total, seen = 0.0, 0
        for step, (start, stop) in enumerate(self._batches):
            raise_if_stop_requested()  # a stop a finaliser swallowed ends the search here
            index = order_w[start:stop].to(data.x_train.device)
            x_w, y_w = data.train_batch(index, generator)  # augmented, as a trial trains
            if self.learns_alphas and self._epoch > self.warmup_epochs:
                a_start = (step * self.batch_size) % max(1, len(order_a))
                a_index = order_a[a_start : a_start + self.batch_size].to(data.x_train.device)
                x_a, y_a = data.batch(data.x_train, a_index), data.batch(data.y_train, a_index)
                self.arch_step(x_a, y_a, x_w, y_w)
            self.before_weight_step(generator)
            loss = self._weight_step(x_w, y_w, self._optimizer)
            self.after_weight_step()
            self._schedule.step()
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"strategy {self.name!r}: non-finite supernet loss at epoch {self._epoch} "
                    f"step {step + 1} with lr={self.lr}; lower lr"
                )
            total += float(loss.detach()) * (stop - start)
            seen += stop - start
        return total / max(1, seen)

    def _weight_step(
        self, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer
    ) -> torch.Tensor:
        """One step of the supernet's weights on a batch; returns its loss."""
        optimizer.zero_grad(set_to_none=True)
        with self._precision.autocast():
            loss = nn.functional.cross_entropy(self.supernet_(x), y)
        self._precision.step(loss, optimizer, clip_norm=self.grad_clip)
        return loss

    def _estimate_metrics(self, data: Any, arch: Arch, **marks: float) -> dict[str, float]:
        """The metrics of a trial that is the supernet's estimate of ``arch`` (not trained
        alone), with ``marks`` beside them."""
        loss, acc = self._score(data, arch)
        estimate = {"val_acc": acc, "val_loss": loss, "supernet_val_acc": acc, "standalone": 0.0}
        return {**estimate, **marks}

    def _score(self, data: Any, arch: Arch) -> tuple[float, float]:
        """The supernet's estimate of ``arch``: its path, scored on the validation split."""
        from nasforge.training import score

        supernet = self.supernet_
        mode = supernet.mode
        supernet.set_mode("path")
        supernet.use(supernet.path_of(arch))
        try:
            with self._recalibrated(data):
                return score(supernet, data.x_val, data.y_val, data.device, self._precision)
        finally:
            supernet.set_mode(mode)

    @contextlib.contextmanager
    def _recalibrated(self, data: Any) -> Iterator[None]:
        """Within the block, the batch norms with running statistics hold those of the path
        in use, computed on fixed training samples (``bn_recalibrate``); then their own again.
        Their running averages mix every path trained, which misleads the estimate of one."""
        norms = [
            m
            for m in (self.supernet_.modules() if self.bn_recalibrate else ())
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
        ]
        if not norms:  # off (no walk over the modules on every score), or nothing to redo
            yield
            return
        kept = [(m.momentum, {k: b.clone() for k, b in m.named_buffers()}) for m in norms]
        rows = self._rows_w[:RECALIBRATION_SAMPLES].to(data.x_train.device)
        try:
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # a plain average over the batches below
            self.supernet_.train()
            with torch.no_grad(), self._precision.autocast():
                for start in range(0, len(rows), SCORE_BATCH):
                    self.supernet_(data.batch(data.x_train, rows[start : start + SCORE_BATCH]))
            yield
        finally:
            for m, (momentum, buffers) in zip(norms, kept, strict=True):
                m.momentum = momentum
                for name, value in buffers.items():
                    getattr(m, name).copy_(value)

    def _estimate(self, data: Any, archs: list[Arch]) -> list[tuple[Arch, float]]:
        return [(arch, self._score(data, arch)[1]) for arch in archs]

    def _sample_archs(self, count: int, first: Arch | None = None) -> list[Arch]:
        """Up to ``count`` distinct archs of the space with the supernet's fixed values."""
        rng = np.random.default_rng(self.seed + 17)
        seen: dict[str, Arch] = {}
        if first is not None:
            seen[first.key] = first
        for _ in range(count * 20):
            if len(seen) >= count:
                break
            arch = self._with_held(self.space.sample(rng))
            if arch is not None:
                seen.setdefault(arch.key, arch)
        return list(seen.values())

    def _with_held(self, arch: Arch) -> Arch | None:
        from nasforge.oneshot.supernet import arch_from

        try:
            values = {name: arch[name] for name in self.space.names}
            return arch_from(self.space, {**values, **self.supernet_.held})
        except SpaceError:
            return None

    # ---- storing ---------------------------------------------------------------------------------

    def _checkpoint(
        self, session: SearchSession, epoch: int, entry: Mapping[str, Any], started: float
    ) -> None:
        buffer = io.BytesIO()
        torch.save(
            {
                "epoch": epoch,
                "entry": dict(entry),
                "supernet": self.supernet_.state_dict(),
                "optimizer": self._optimizer.state_dict(),
                "schedule": self._schedule.state_dict(),
                "arch_optimizer": self._arch_optimizer.state_dict(),
                "extra": self.extra_state(),
                "elapsed": self._elapsed + time.monotonic() - started,
            },
            buffer,
        )
        session.checkpoint(buffer.getvalue(), {"epoch": epoch, "method": self.name})

    def _resume(self, session: SearchSession, tell: Callable[[Trial], None]) -> int:
        """Load the last checkpoint (if any) and record its epoch if a kill came between the
        two; returns the number of epochs done."""
        stored = session.last_checkpoint()
        if stored is None:
            return 0
        state = torch.load(io.BytesIO(stored), map_location="cpu", weights_only=False)
        self.supernet_.load_state_dict(state["supernet"])
        self._optimizer.load_state_dict(state["optimizer"])
        self._schedule.load_state_dict(state["schedule"])
        self._arch_optimizer.load_state_dict(state["arch_optimizer"])
        self.load_extra_state(state["extra"])
        self._elapsed = float(state["elapsed"])
        entry = state["entry"]
        epochs = {e.get("epoch") for e in session.attached(EPOCH_KIND)}
        if entry["epoch"] not in epochs:
            self._record_epoch(session, entry, tell)
        return int(state["epoch"])

    def _record_epoch(
        self, session: SearchSession, entry: Mapping[str, Any], tell: Callable[[Trial], None]
    ) -> None:
        arch = self.space.parse(entry["derived"])
        metrics = {
            "val_acc": entry["supernet_val_acc"],
            "val_loss": entry["val_loss"],
            "supernet_val_acc": entry["supernet_val_acc"],
            "train_loss": entry["train_loss"],
            "epoch": float(entry["epoch"]),
            "search_s": entry["search_s"],
            "standalone": 0.0,
        }
        trial = session.record(arch, metrics)
        session.attach(EPOCH_KIND, {**entry, "trial": trial.number}, trial=trial.number)
        tell(trial)

    def _record_final(
        self, session: SearchSession, data: Any, derived: Arch, tell: Callable[[Trial], None]
    ) -> None:
        """Without an honesty report (``report_archs: 0``), the final arch becomes a trial of
        its own, with the supernet's estimate and ``final: 1``, unless a trial of the run
        already has it (the last epoch's, by magnitude): a pick by perturbation differs from
        every epoch's arch, and retrain and export must find it."""
        info: dict[str, Any] = {"derived": derived.key, "trial": None}
        if all(t.arch.key != derived.key for t in session.trials(intermediate=False)):
            trial = session.record(derived, self._estimate_metrics(data, derived, final=1.0))
            info["trial"] = trial.number
            tell(trial)
        session.attach(FINAL_KIND, info, trial=info["trial"])

    def _report(
        self,
        session: SearchSession,
        derived: Arch,
        pool: list[tuple[Arch, float]],
        tell: Callable[[Trial], None],
    ) -> None:
        if self.report_archs == 0:
            return
        from nasforge.oneshot.report import honesty_report

        supernet = self.supernet_
        names = {name for names in supernet.op_labels.values() for name in names}
        op_dims = {
            dim.name: [str(v) for v in dim.values()]
            for dim in self.space.dims
            if isinstance(dim, Categorical) and {str(v) for v in dim.values()} <= names
        }
        settings = {
            **self.settings(),
            "fixed": {k: _plain(v) for k, v in supernet.held.items()},
            "predicted_peak_mib": self._predicted["peak_bytes"] / 2**20,
        }
        self.report_ = honesty_report(
            session,
            self.name,
            derived,
            pool,
            k=self.report_archs,
            op_dims=op_dims,
            parameter_free=supernet.parameter_free(),
            settings=settings,
            on_trial=tell,
            progress=False,
            metric="val_acc",
            advice=self.collapse_advice(),
        )


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _evaluator_sizes(evaluator: Any) -> dict[str, int]:
    overrides = getattr(evaluator, "size_overrides", None)
    return dict(overrides()) if callable(overrides) else {}


def _out_of_budget(
    stored: list[Trial],
    recorded: list[Trial],
    max_trials: int | None,
    started: float,
    max_time: float | None,
) -> bool:
    if max_trials is not None and len(stored) + len(recorded) >= max_trials:
        return True
    return max_time is not None and time.monotonic() - started >= max_time


# ---- gradient-based: DARTS, GDAS, DrNAS -------------------------------------------------------


class _GradientSearch(SupernetSearch):
    """A method whose architecture parameters learn by gradient, with an optional remedy for
    the collapse to parameter-free operations.

    Args:
        remedy: ``"beta-decay"`` (beta-DARTS, Ye et al. 2022: a penalty on the log-sum-exp of
            each choice's architecture parameters, whose weight grows linearly to
            ``remedy_weight`` over the search), ``"random-smoothing"`` (SDARTS-RS, Chen & Hsieh
            2020: every weight step sees the architecture parameters plus uniform noise in
            ``[-remedy_weight, remedy_weight]``, so the weights learn to work for a
            neighbourhood of architectures and the loss landscape the architecture descends is
            smoother, which the paper links to the collapse), or ``None``.
        remedy_weight: beta-decay's final weight (default 0.5), or random smoothing's noise
            bound (default 0.3).
        selection: how the final architecture is picked: ``"perturbation"`` (the default;
            DARTS-PT, Wang et al. 2021, "Rethinking Architecture Selection in Differentiable
            NAS": each candidate is removed from the trained supernet in turn and the one
            whose removal costs the most validation accuracy is kept, so the choice rests on
            what the supernet relies on rather than on weights that the discretisation gap
            makes misleading). Departures:
            no fine-tuning between decisions, all choices scored on the same supernet, the
            space's own rule then applied to these importances (on ``darts``: each node's two
            edges whose best operation matters most); accuracy on the first
            :data:`PERTURBATION_SAMPLES` validation signals, ties broken by the loss. Each
            epoch's recorded arch is by magnitude; only the final one is by perturbation.
            Or ``"magnitude"``, the papers' own rule: each choice's largest architecture weight.
            Perturbation is the default because it picked the better arch in every comparison
            measured (BENCHMARKS.md, one-shot: 3 methods on 2 spaces, each over search seeds),
            where magnitude fell below the mean of random archs on the ``darts`` space for all
            three methods and collapsed GDAS on ``nb201`` once in three seeds; its cost is one
            scoring pass per candidate (one to four minutes on ``darts`` on two CPU cores).
        tune_steps: with ``selection: perturbation``, DARTS-PT's fine-tuning: the choices are
            decided one at a time, in an order drawn from the seed; each is fixed to the
            candidate it keeps (never ``none`` where the space's rule excludes it), and the
            supernet's weights then train ``tune_steps`` steps (batches of ``batch_size`` from
            the weight half, SGD from ``lr`` down a cosine to ``lr_min`` over all the steps,
            the architecture parameters frozen) before the next choice is scored, so each
            decision is judged by a supernet that has adapted to the ones before it. 0 (the
            default): every choice is scored on the same trained supernet at once.
    """

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        *,
        remedy: str | None = None,
        remedy_weight: float | None = None,
        selection: str = "perturbation",
        tune_steps: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(space, seed, **options)
        if selection not in SELECTIONS:
            raise ConfigError(
                f"strategy {self.name!r}: selection={selection!r}; allowed: {one_of(SELECTIONS)}"
            )
        self.selection = selection
        self.tune_steps = positive_int(self.name, "tune_steps", tune_steps, 0)
        if self.tune_steps and selection != "perturbation":
            raise ConfigError(
                f"strategy {self.name!r}: tune_steps={tune_steps} fine-tunes between the "
                f"decisions of selection 'perturbation', not {selection!r}; allowed: 0, or "
                "selection: perturbation"
            )
        if remedy is not None and remedy not in REMEDIES:
            raise ConfigError(
                f"strategy {self.name!r}: remedy={remedy!r}; allowed: {one_of(REMEDIES)} or null"
            )
        self.remedy = remedy
        if remedy_weight is None:
            remedy_weight = 0.3 if remedy == "random-smoothing" else 0.5
        self.remedy_weight = _number(self.name, "remedy_weight", remedy_weight, 0.0)

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "remedy": self.remedy,
            "remedy_weight": self.remedy_weight if self.remedy else None,
            "selection": self.selection,
            "tune_steps": self.tune_steps,
        }

    def before_weight_step(self, generator: torch.Generator) -> None:
        if self.remedy == "random-smoothing":
            bound = self.remedy_weight
            self.supernet_.perturb(
                {
                    label: ((2 * torch.rand(a.shape, generator=generator) - 1) * bound).to(a.device)
                    for label, a in self.supernet_.alphas.items()
                }
            )

    def after_weight_step(self) -> None:
        self.supernet_.perturb(None)

    def final_arch(self, data: Any) -> Arch:
        if self.selection == "magnitude":
            return super().final_arch(data)
        importance = self.tuned_importance if self.tune_steps else self.importance
        return self.supernet_.derive(importance(data))  # type: ignore[no-any-return]

    def importance(
        self,
        data: Any,
        weights: Mapping[str, Mapping[str, float]] | None = None,
        labels: Sequence[str] | None = None,
    ) -> dict[str, dict[str, float]]:
        """Each candidate's importance to the trained supernet: the validation accuracy lost
        (percentage points, plus a thousandth of the loss gained, to break ties) when it alone
        is removed from its mixed operation, the other weights kept (``selection:
        perturbation``). A candidate that contributes nothing (``none``) has importance 0.

        ``weights``: the mixture scored (default: the supernet's own distribution);
        ``labels``: the choices scored (default: all)."""
        from nasforge.training import score

        supernet = self.supernet_
        weights = dict(supernet.weights() if weights is None else weights)
        x, y = data.x_val[:PERTURBATION_SAMPLES], data.y_val[:PERTURBATION_SAMPLES]

        def quality(given: Mapping[str, Mapping[str, float]]) -> float:
            with supernet.weighed(given):  # score runs in inference mode
                loss, accuracy = score(supernet, x, y, data.device, self._precision)
            return accuracy - 1e-3 * loss

        base = quality(weights)
        free = supernet.zero_candidates()
        out: dict[str, dict[str, float]] = {}
        for label in weights if labels is None else labels:
            probs = weights[label]
            out[label] = {}
            for name in probs:
                if name in free:
                    out[label][name] = 0.0
                    continue
                without = {**weights, label: {**probs, name: 0.0}}
                out[label][name] = base - quality(without)
        return out

    def tuned_importance(self, data: Any) -> dict[str, dict[str, float]]:
        """DARTS-PT's progressive selection (``tune_steps``): each choice's importances,
        scored after the choices before it were fixed and the weights fine-tuned."""
        supernet = self.supernet_
        weights = supernet.weights()
        generator = torch.Generator().manual_seed(self.seed * 6271 + 5)
        labels = list(weights)
        order = [labels[i] for i in torch.randperm(len(labels), generator=generator).tolist()]
        optimizer = torch.optim.SGD(
            supernet.weight_parameters(),
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
        )
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, len(order) * self.tune_steps, eta_min=self.lr_min
        )
        own_rule = callable(getattr(self.space, "derive", None))
        free = supernet.zero_candidates() if own_rule else set()
        out: dict[str, dict[str, float]] = {}
        for label in order:
            raise_if_stop_requested()
            scores = self.importance(data, weights, [label])[label]
            out[label] = scores
            keepable = {n: v for n, v in scores.items() if n not in free} or scores
            kept = max(keepable, key=keepable.__getitem__)
            weights = {**weights, label: {n: float(n == kept) for n in weights[label]}}
            supernet.train()
            with supernet.weighed(weights):
                for _ in range(self.tune_steps):
                    raise_if_stop_requested()
                    pick = torch.randint(len(self._rows_w), (self.batch_size,), generator=generator)
                    x, y = data.train_batch(self._rows_w[pick].to(data.x_train.device), generator)
                    self._weight_step(x, y, optimizer)
                    schedule.step()
        return out

    def collapse_advice(self) -> str | None:
        # measured (BENCHMARKS.md, one-shot): on `darts` only perturbation selection after a
        # warm-up avoided DARTS's collapse, and beta-decay GDAS's with perturbation (no search
        # seed of three collapsed, against two of three without it); on `nb201` beta-decay
        # collapsed GDAS on all three, so the advice is a thing to try, not a default
        if self.selection == "magnitude":
            return "try selection: perturbation with a warm-up (warmup_epochs), or a remedy"
        if self.remedy is None and self.warmup_epochs == 0 and self.warmup_share:
            return "try warmup_epochs (the default: a third of epochs), or remedy: beta-decay"
        if self.remedy is None:
            return "try remedy: beta-decay, or random-one-shot"
        return "try a larger remedy_weight, or random-one-shot"

    def arch_loss(self, loss: torch.Tensor, epoch: int) -> torch.Tensor:
        if self.remedy != "beta-decay":
            return loss
        weight = self.remedy_weight * epoch / self.epochs
        alphas = self.supernet_.arch_parameters()
        penalty = torch.stack([torch.logsumexp(a, dim=-1) for a in alphas]).mean()
        return loss + weight * penalty


class Darts(_GradientSearch):
    """DARTS (Liu, Simonyan & Yang 2019): every candidate weighted by the softmax of its
    architecture parameters, which learn by gradient on held-out data.

    Two defaults depart from the paper, both measured (BENCHMARKS.md, one-shot): the final
    architecture is picked by perturbation (DARTS-PT), and the first third of the epochs train
    the weights alone. ``selection: magnitude`` with ``warmup_epochs: 0`` is the paper's DARTS.

    Args:
        order: 1 (first order: the validation gradient at the current weights) or 2 (second
            order: the gradient through one virtual SGD step of the weights, its
            Hessian-vector product by finite differences, as the paper's equation 8).
        **options: those of :class:`_GradientSearch` and :class:`SupernetSearch`.
    """

    name = "darts"
    mode = "softmax"
    #: a third of the epochs train the weights alone first: measured on the ``darts`` space
    #: (BENCHMARKS.md, one-shot), perturbation selection after 5 weights-only epochs of 15
    #: beat the mean of random archs on four search seeds of five, without them it fell below
    warmup_share = 1 / 3

    def __init__(self, space: Space, seed: int = 0, *, order: int = 1, **options: Any) -> None:
        super().__init__(space, seed, **options)
        if order not in (1, 2) or isinstance(order, bool):
            raise ConfigError(f"strategy 'darts': order={order!r}; allowed: 1 or 2")
        self.order = order

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "order": self.order}

    def arch_step(
        self, x_arch: torch.Tensor, y_arch: torch.Tensor, x_w: torch.Tensor, y_w: torch.Tensor
    ) -> None:
        if self.order == 1:
            super().arch_step(x_arch, y_arch, x_w, y_w)
            return
        supernet = self.supernet_
        weights = supernet.weight_parameters()
        alphas = supernet.arch_parameters()
        xi = self._optimizer.param_groups[0]["lr"]
        saved = [w.detach().clone() for w in weights]
        # the virtual step w' = w - xi * dL_train/dw
        train_loss = nn.functional.cross_entropy(supernet(x_w), y_w)
        grads = torch.autograd.grad(train_loss, weights, allow_unused=True)
        with torch.no_grad():
            for w, g in zip(weights, grads, strict=True):
                if g is not None:
                    w.sub_(xi * (g + self.weight_decay * w))
        val_loss = self.arch_loss(
            nn.functional.cross_entropy(supernet(x_arch), y_arch), self._epoch
        )
        found = torch.autograd.grad(val_loss, [*alphas, *weights], allow_unused=True)
        d_alpha, d_w = found[: len(alphas)], found[len(alphas) :]
        # the Hessian-vector product by central differences around w
        norm = math.sqrt(sum(float((g * g).sum()) for g in d_w if g is not None))
        eps = 0.01 / max(norm, 1e-12)
        hessian = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, w0, g in zip(weights, saved, d_w, strict=True):
                    w.copy_(w0 if g is None else w0 + sign * eps * g)
            loss = nn.functional.cross_entropy(supernet(x_w), y_w)
            hessian.append(torch.autograd.grad(loss, alphas, allow_unused=True))
        with torch.no_grad():
            for w, w0 in zip(weights, saved, strict=True):
                w.copy_(w0)
        self._arch_optimizer.zero_grad(set_to_none=True)
        for a, da, hp, hm in zip(alphas, d_alpha, *hessian, strict=True):
            grad = torch.zeros_like(a) if da is None else da.clone()
            if hp is not None and hm is not None:
                grad -= xi * (hp - hm) / (2 * eps)
            a.grad = grad
        self._arch_optimizer.step()


class Gdas(_GradientSearch):
    """GDAS (Dong & Yang 2019): one candidate per choice drawn by a hard Gumbel-softmax in
    each forward pass, so a step costs one path; the temperature anneals linearly from
    ``tau_max`` to ``tau_min`` over the epochs."""

    name = "gdas"
    mode = "gumbel"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        *,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        **options: Any,
    ) -> None:
        super().__init__(space, seed, **options)
        self.tau_max = _number(self.name, "tau_max", tau_max, 1e-6)
        self.tau_min = _number(self.name, "tau_min", tau_min, 1e-6, self.tau_max)

    def start_epoch(self, epoch: int) -> None:
        share = (epoch - 1) / max(1, self.epochs - 1)
        self.supernet_.set_mode("gumbel", tau=self.tau_max - share * (self.tau_max - self.tau_min))


class DrNas(_GradientSearch):
    """DrNAS (Chen et al. 2021): mixing weights drawn from a Dirichlet distribution whose
    concentration the architecture parameters give (reparameterised, so they learn by
    gradient), with a penalty (``anchor``) that keeps the concentration near uniform early."""

    name = "drnas"
    mode = "dirichlet"

    def __init__(self, space: Space, seed: int = 0, *, anchor: float = 1e-3, **options: Any):
        super().__init__(space, seed, **options)
        self.anchor = _number(self.name, "anchor", anchor, 0.0)

    def arch_loss(self, loss: torch.Tensor, epoch: int) -> torch.Tensor:
        loss = super().arch_loss(loss, epoch)
        if self.anchor == 0:
            return loss
        kl = []
        for alpha in self.supernet_.arch_parameters():
            q = torch.distributions.Dirichlet(nn.functional.elu(alpha) + 1.0)
            p = torch.distributions.Dirichlet(torch.ones_like(alpha))
            kl.append(torch.distributions.kl_divergence(q, p))
        return loss + self.anchor * torch.stack(kl).sum()


# ---- path-based: random one-shot (SPOS) and ENAS ----------------------------------------------


class _PathSearch(SupernetSearch):
    """Methods that train the supernet one sampled path of the space at a time."""

    mode = "path"
    learns_alphas = False

    def draw(self, generator: torch.Generator) -> Arch:
        """The arch whose path the next weight step trains."""
        rng = np.random.default_rng(int(torch.randint(0, 2**62, (), generator=generator)))
        for _ in range(100):
            arch = self._with_held(self.space.sample(rng))
            if arch is not None:
                return arch
        raise SpaceError(
            f"strategy {self.name!r}: no arch of space {self.space.name!r} obeys the fixed "
            f"values {self.fixed!r}"
        )

    def before_weight_step(self, generator: torch.Generator) -> None:
        supernet = self.supernet_
        supernet.use(supernet.path_of(self.draw(generator)))


class RandomOneShot(_PathSearch):
    """Random one-shot (Bender et al. 2018) / single-path one-shot (SPOS, Guo et al. 2020):
    train the supernet on uniformly sampled paths, then search it with a multi-trial strategy
    that uses the supernet as its evaluator (each candidate's path scored on the validation
    split: a performance estimator).

    Args:
        search_strategy: the multi-trial strategy searching the trained supernet (any
            registered strategy; default regularized evolution).
        search_trials: the archs it evaluates on the supernet, each recorded as a trial.
        search_options: options of that strategy.
        **options: those of :class:`SupernetSearch`.
    """

    name = "random-one-shot"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        *,
        search_strategy: str = "regularized-evolution",
        search_trials: int = 100,
        search_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(space, seed, **options)
        from nasforge.strategies import list_strategies

        if search_strategy not in list_strategies():
            raise ConfigError(
                f"strategy {self.name!r}: search_strategy={search_strategy!r}; allowed: a "
                f"multi-trial strategy ({one_of(list_strategies())})"
            )
        self.search_strategy = search_strategy
        self.search_trials = positive_int(self.name, "search_trials", search_trials)
        self.search_options = dict(search_options or {})

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "search_strategy": self.search_strategy}

    def final(
        self, session: SearchSession, data: Any, on_trial: Callable[[Trial], None] | None
    ) -> tuple[Arch, list[tuple[Arch, float]], list[Trial]]:
        from nasforge.strategies import Strategy, create_strategy

        strategy = create_strategy(
            self.search_strategy,
            self.space,
            seed=self.seed,
            objectives=self.objectives,
            **self.search_options,
        )
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy {self.name!r}: search_strategy {self.search_strategy!r} is not a "
                "multi-trial strategy"
            )
        # a resumed search replays the searched archs it recorded before the kill
        before = [
            t
            for t in session.trials(intermediate=False)
            if t.metrics.get("phase") == 1.0 and t.status == TrialStatus.COMPLETE
        ]
        evaluated: list[tuple[Arch, float]] = []
        recorded: list[Trial] = []
        for i in range(self.search_trials):
            arch = strategy.ask()
            arch = self._with_held(arch) or arch
            if i < len(before):
                trial = before[i]
            else:
                trial = session.record(arch, self._estimate_metrics(data, arch, phase=1.0))
                recorded.append(trial)
                if on_trial is not None:
                    on_trial(trial)
            strategy.tell(trial)
            evaluated.append((trial.arch, float(trial.metrics["supernet_val_acc"])))
        best = max(evaluated, key=lambda pair: pair[1])[0]
        pool = sorted({a.key: (a, e) for a, e in evaluated}.values(), key=lambda p: -p[1])
        return best, pool[: self.report_pool], recorded

    def derive(self) -> Arch:
        """Between epochs: the best of a few sampled paths (the search comes at the end)."""
        return self._epoch_best

    def end_epoch(self, data: Any, generator: torch.Generator) -> None:
        ranked = self._estimate(data, self._sample_archs(8))
        self._epoch_best = max(ranked, key=lambda pair: pair[1])[0]


class Enas(_PathSearch):
    """ENAS (Pham et al. 2018): an LSTM controller samples the paths the shared weights train
    on; after each epoch it learns by REINFORCE from the shared weights' validation accuracy
    on its samples (the NAS-RL controller of the ``reinforce`` strategy). The result is the best
    of ``derive_samples`` samples of the trained controller.

    Args:
        controller_steps: controller updates per epoch (each one sample and one reward).
        controller_lr: the controller's Adam learning rate.
        entropy_weight: the entropy bonus that keeps it exploring.
        temperature, tanh_constant: the controller's logits divided by ``temperature``, then
            squashed to ``tanh_constant * tanh(.)`` (ENAS's code; ``tanh_constant: null``
            leaves them unbounded), see :class:`~nasforge.strategies.reinforce.ReinforceController`.
        derive_samples: samples the result is chosen from.
        **options: those of :class:`SupernetSearch`.
    """

    name = "enas"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        *,
        controller_steps: int = 50,
        controller_lr: float = 0.005,
        entropy_weight: float = 1e-3,
        temperature: float = 1.0,
        tanh_constant: float | None = None,
        derive_samples: int = 20,
        **options: Any,
    ) -> None:
        super().__init__(space, seed, **options)
        from nasforge.strategies.reinforce import ReinforceController

        self.controller_steps = positive_int(self.name, "controller_steps", controller_steps)
        self.derive_samples = positive_int(self.name, "derive_samples", derive_samples)
        self.controller = ReinforceController(
            space,
            seed,
            learning_rate=_number(self.name, "controller_lr", controller_lr, 1e-12),
            entropy_weight=_number(self.name, "entropy_weight", entropy_weight, 0.0),
            temperature=_number(self.name, "temperature", temperature, 1e-6),
            tanh_constant=(
                None
                if tanh_constant is None
                else _number(self.name, "tanh_constant", tanh_constant, 1e-6)
            ),
            objectives=self.objectives,
        )
        self._rewards = 0

    def settings(self) -> dict[str, Any]:
        controller = self.controller
        return {
            **super().settings(),
            "temperature": controller.temperature,
            "tanh_constant": controller.tanh_constant,
        }

    def draw(self, generator: torch.Generator) -> Arch:
        for _ in range(100):
            arch = self._with_held(self.controller.sample())
            if arch is not None:
                return arch
        return super().draw(generator)

    def end_epoch(self, data: Any, generator: torch.Generator) -> None:
        """Train the controller: each step samples an arch, rewards it with its shared
        weights' accuracy on an architecture-half batch."""
        from nasforge.training import score

        supernet = self.supernet_
        rows = self._rows_a
        for _ in range(self.controller_steps):
            arch = self.draw(generator)
            pick = torch.randint(
                len(rows), (min(len(rows), 4 * self.batch_size),), generator=generator
            )
            index = rows[pick].to(data.x_train.device)
            supernet.use(supernet.path_of(arch))
            x, y = data.batch(data.x_train, index), data.batch(data.y_train, index)
            with self._recalibrated(data):
                _, reward = score(supernet, x, y, data.device, self._precision)
            self._rewards += 1
            self.controller.tell(_reward_trial(self._rewards, arch, reward))
        supernet.train()
        samples = [self.draw(generator) for _ in range(self.derive_samples)]
        unique = list({a.key: a for a in samples}.values())
        self._best = max(self._estimate(data, unique), key=lambda pair: pair[1])[0]

    def derive(self) -> Arch:
        return self._best

    def extra_state(self) -> dict[str, Any]:
        return {"controller": self.controller, "rewards": self._rewards, "best": self._best.key}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.controller = state["controller"]
        self._rewards = int(state["rewards"])
        self._best = self.space.parse(state["best"])


def _reward_trial(number: int, arch: Arch, reward: float) -> Trial:
    return Trial(
        number=number,
        arch=arch,
        status=TrialStatus.COMPLETE,
        metrics={"val_acc": reward},
        scores=(reward,),
    )


__all__ = [
    "REMEDIES",
    "Darts",
    "DrNas",
    "Enas",
    "Gdas",
    "RandomOneShot",
    "SupernetSearch",
]
