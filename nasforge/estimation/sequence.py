"""``SequenceEvaluator``: train a recurrent cell on a sequence task and score it.

The training evaluator's loop is for classifying whole samples with cross-entropy; sequence
tasks also regress (the adding problem) and predict a token per step (copy memory, character
language modelling). This evaluator has its own short loop, built from the training toolkit
(devices, seeding, precision, optimisers and schedules by name), and the task's own head and
loss: a linear map from the top layer's last hidden state (``regression``, ``classify``) or
from every step's (``per_step``).

**Same parameter count.** With ``params`` set, each cell gets the hidden size whose network
(cells and head) has the parameter count nearest to ``params`` (the sizes are searched by
bisection; the count grows with the hidden size), so an LSTM, a GRU and a found cell compare
at equal size rather than equal width.

Metrics (validation ones for the search, test ones for the report):

- ``adding``: ``val_mse``, ``test_mse``;
- ``copy`` and ``mnist1d``: ``val_acc``, ``test_acc`` (percent; copy: on the copied steps);
- ``chars``: ``val_bpc``, ``test_bpc`` (bits per character);

and always ``val_loss``, ``train_loss``, ``params``, ``hidden``, ``epochs``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's usual name
from torch import nn

from nasforge.data.sequence import SEQUENCE_TASKS, SequenceData, load_sequence_task
from nasforge.errors import ConfigError, one_of
from nasforge.estimation._trial_settings import check_float, check_int, whole
from nasforge.estimation.base import Evaluator, TrialContext, check_device_form
from nasforge.space import Arch, Space
from nasforge.space.training import OPTIMIZERS, SCHEDULES
from nasforge.training import (
    NonFiniteLossError,
    Precision,
    count_parameters,
    cpu_threads,
    make_optimizer,
    make_schedule,
    resolve_device,
    seeded,
)

#: the metrics of each task besides ``val_loss``, ``train_loss``, ``params``, ``hidden``,
#: ``epochs``
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "adding": ("val_mse", "test_mse"),
    "copy": ("val_acc", "test_acc"),
    "mnist1d": ("val_acc", "test_acc"),
    "chars": ("val_bpc", "test_bpc"),
}
#: the largest hidden size :func:`hidden_for_params` considers by default
MAX_HIDDEN = 2048
_EVAL_BATCH = 512


class SequenceModel(nn.Module):
    """A recurrent stack and a linear head, for a task of :class:`SequenceData`'s ``kind``
    (token inputs are one-hot encoded)."""

    def __init__(self, stack: nn.Module, hidden: int, out_dim: int, data: SequenceData) -> None:
        super().__init__()
        self.stack = stack
        self.head = nn.Linear(hidden, out_dim)
        self.vocab = data.vocab
        self.per_step = data.kind == "per_step"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.vocab is not None:
            x = F.one_hot(x, self.vocab).float()
        out, _ = self.stack(x)
        logits: torch.Tensor = self.head(out if self.per_step else out[:, -1])
        return logits


def _recurrent(
    space: Space, arch: Arch, features: int, hidden: int, layers: int, dropout: float = 0.0
) -> nn.Module:
    recurrent = getattr(space, "recurrent", None)
    if recurrent is None:
        raise ConfigError(
            f"evaluator 'sequence' trains recurrent cells; space {space.name!r} has none; "
            "allowed: the rnn-cell space"
        )
    module: nn.Module = recurrent(arch, features, hidden=hidden, layers=layers, dropout=dropout)
    return module


def hidden_for_params(
    space: Space,
    arch: Arch,
    data: SequenceData,
    params: int,
    layers: int = 1,
    max_hidden: int = MAX_HIDDEN,
) -> int:
    """The hidden size, at most ``max_hidden``, whose :class:`SequenceModel` of ``arch`` has
    the parameter count nearest to ``params`` (the smaller size on a tie)."""

    def count(hidden: int) -> int:
        with torch.device("meta"):
            stack = _recurrent(space, arch, data.features, hidden, layers)
            return count_parameters(SequenceModel(stack, hidden, data.out_dim, data))

    low, high = 1, max_hidden
    while low < high:  # the smallest hidden size with at least ``params`` parameters
        mid = (low + high) // 2
        if count(mid) >= params:
            high = mid
        else:
            low = mid + 1
    if low > 1 and params - count(low - 1) <= count(low) - params:
        return low - 1
    return low


class SequenceEvaluator(Evaluator):
    """Train the cell of each arch (space ``rnn-cell``) on a sequence task (see the module
    docstring).

    Training: Adam (by default) with a cosine schedule, gradients clipped to norm ``clip``,
    batches drawn from a generator seeded by the trial's seed, which also draws the initial
    weights; on the CPU the same seed gives the same metrics. Reports the task's validation
    metric after each epoch (step = epoch).

    Args:
        task: ``"adding"``, ``"copy"``, ``"mnist1d"`` or ``"chars"``.
        length: steps per sequence (``None``: the task's default; mnist1d: 40).
        samples: training sequences (``None``: the task's default).
        epochs: passes over the training sequences.
        batch_size: sequences per step.
        hidden: hidden size of every cell (``None``: from ``params``, else the space's).
        params: a target parameter count; each cell's hidden size is chosen to match it.
        max_hidden: the widest hidden size ``params`` may choose. A cell with few weights
            (one ``linear`` node reading ``x`` only) needs a very wide state to reach a count
            that an LSTM reaches at 30 units, and runs many times slower; a search may cap it
            (e.g. 256) and accept fewer parameters for such cells.
        layers: stacked cells.
        dropout: dropout between stacked layers.
        lr: learning rate.
        optimizer: a name of :data:`~nasforge.space.training.OPTIMIZERS`.
        schedule: ``"cosine"``, ``"constant"`` or ``"step"``.
        clip: the gradient norm clipped to (``None``: no clipping).
        weight_decay: L2 penalty.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        threads: torch CPU threads during a trial (``None``: as set); 1 by default, as for
            the training evaluator (it degrades gracefully beside other CPU-bound work).
        data_seed: seed of the generated sequences.

    Example:
        >>> from nasforge.spaces.rnn_cell import RnnCellSpace
        >>> space = RnnCellSpace()
        >>> ev = SequenceEvaluator("adding", length=10, samples=64, epochs=1, hidden=8)
        >>> metrics = ev.evaluate(space.reference("gru"), TrialContext(space=space))
        >>> sorted(metrics)
        ['epochs', 'hidden', 'params', 'test_mse', 'train_loss', 'val_loss', 'val_mse']
    """

    runtime_options = ("device", "threads")

    def __init__(
        self,
        task: str = "adding",
        length: int | None = None,
        samples: int | None = None,
        epochs: int = 3,
        batch_size: int = 64,
        hidden: int | None = None,
        params: int | None = None,
        max_hidden: int = MAX_HIDDEN,
        layers: int = 1,
        dropout: float = 0.0,
        lr: float = 3e-3,
        optimizer: str = "adam",
        schedule: str = "cosine",
        clip: float | None = 1.0,
        weight_decay: float = 0.0,
        device: str = "auto",
        threads: int | None = 1,
        data_seed: int = 0,
    ) -> None:
        if task not in SEQUENCE_TASKS:
            raise ConfigError(f"task={task!r}; allowed: {one_of(list(SEQUENCE_TASKS))}")
        for field, value, low in (("length", length, 2), ("samples", samples, 8)):
            if value is not None:
                check_int(field, value, low)
        check_int("epochs", epochs, 1)
        check_int("batch_size", batch_size, 1)
        check_int("layers", layers, 1)
        check_int("data_seed", data_seed, None)
        check_int("max_hidden", max_hidden, 1)
        for field, value in (("hidden", hidden), ("params", params), ("threads", threads)):
            if value is not None:
                check_int(field, value, 1)
        if hidden is not None and params is not None:
            raise ConfigError("hidden and params are both set; allowed: one of them, or neither")
        check_float("dropout", dropout, low=0.0, high=1.0, high_open=True)
        check_float("lr", lr, low=0.0, low_open=True)
        check_float("weight_decay", weight_decay, low=0.0)
        if clip is not None:
            check_float("clip", clip, low=0.0, low_open=True)
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer={optimizer!r}; allowed: {one_of(OPTIMIZERS)}")
        if schedule not in SCHEDULES:
            raise ConfigError(f"schedule={schedule!r}; allowed: {one_of(SCHEDULES)}")
        check_device_form(device)
        self.task = task
        self.length = length
        self.samples = samples
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden = hidden
        self.params = params
        self.max_hidden = max_hidden
        self.layers = layers
        self.dropout = dropout
        self.lr = lr
        self.optimizer = optimizer
        self.schedule = schedule
        self.clip = clip
        self.weight_decay = weight_decay
        self.device = device
        self.threads = threads
        self.data_seed = data_seed
        self.metric_names = (
            *TASK_METRICS[task],
            "val_loss",
            "train_loss",
            "params",
            "hidden",
            "epochs",
        )
        self._data: SequenceData | None = None

    def __repr__(self) -> str:
        return f"SequenceEvaluator(task={self.task!r}, epochs={self.epochs})"

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_data": None}  # workers generate the data again

    def data(self) -> SequenceData:
        """The task's sequences (generated on first use, then kept)."""
        if self._data is None:
            self._data = load_sequence_task(self.task, self.length, self.samples, self.data_seed)
        return self._data

    def fingerprint(self) -> dict[str, str]:
        data = self.data()
        return {"data": f"sequence:{data.name}:{data.steps}", "data_sha256": data.sha256()}

    def max_step(self, fidelity: Mapping[str, Any]) -> int | None:
        """The epochs a trial trains at ``fidelity`` (it reports after each one)."""
        return int(whole(fidelity.get("epochs", self.epochs)))

    def check_fidelity(self, fidelity: Mapping[str, Any], space: Space) -> None:
        for key, value in fidelity.items():
            if key != "epochs":
                raise ConfigError(f"fidelity has unknown key {key!r}; allowed: 'epochs'")
            check_int("fidelity 'epochs'", whole(value), 1)

    def check_device(self, device: str) -> None:
        resolve_device(self.device if self.device != "auto" else device)

    def hidden_size(self, space: Space, arch: Arch) -> int:
        """The hidden size a trial of ``arch`` trains with."""
        if self.params is not None:
            return hidden_for_params(
                space, arch, self.data(), self.params, self.layers, self.max_hidden
            )
        if self.hidden is not None:
            return self.hidden
        return int(getattr(space, "hidden", 64))

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        if ctx.space is None:
            raise ConfigError("evaluator 'sequence' needs the trial's space (ctx.space)")
        epochs = int(whole(ctx.fidelity.get("epochs", self.epochs)))
        device = resolve_device(self.device if self.device != "auto" else ctx.device)
        with cpu_threads(self.threads):
            return self._train(arch, ctx, ctx.space, epochs, device)

    def _train(
        self, arch: Arch, ctx: TrialContext, space: Space, epochs: int, device: torch.device
    ) -> dict[str, float]:
        data = self.data()
        hidden = self.hidden_size(space, arch)
        precision = Precision(device, False)
        x_train, y_train = _tensor(data.x_train, device), _tensor(data.y_train, device)
        with seeded(ctx.seed, device):
            stack = _recurrent(space, arch, data.features, hidden, self.layers, self.dropout)
            model = SequenceModel(stack, hidden, data.out_dim, data).to(device)
            optimizer = make_optimizer(
                model.parameters(), self.optimizer, self.lr, 0.9, self.weight_decay
            )
            n = len(x_train)
            per_epoch = math.ceil(n / self.batch_size)
            schedule = make_schedule(optimizer, self.schedule, per_epoch * epochs)
            generator = torch.Generator().manual_seed(ctx.seed)
            metrics: dict[str, float] = {}
            for epoch in range(1, epochs + 1):
                model.train()
                order = torch.randperm(n, generator=generator).to(device)
                total = 0.0
                for start in range(0, n, self.batch_size):
                    rows = order[start : start + self.batch_size]
                    with precision.autocast():
                        loss = _loss(model(x_train[rows]), y_train[rows], data)
                    if not torch.isfinite(loss):
                        raise NonFiniteLossError(
                            f"training loss became {loss.item()} at epoch {epoch}: the cell "
                            "diverged; lower lr or keep clip"
                        )
                    optimizer.zero_grad(set_to_none=True)
                    precision.step(loss, optimizer, self.clip)
                    schedule.step()
                    total += float(loss.detach()) * len(rows)
                metrics = {"train_loss": total / n, **self._scores(model, data, "val", device)}
                primary = TASK_METRICS[self.task][0]
                ctx.report(epoch, {primary: metrics[primary], "train_loss": metrics["train_loss"]})
            metrics.update(self._scores(model, data, "test", device))
        metrics.pop("test_loss", None)
        return {
            **{name: metrics[name] for name in TASK_METRICS[self.task]},
            "val_loss": metrics["val_loss"],
            "train_loss": metrics["train_loss"],
            "params": float(count_parameters(model)),
            "hidden": float(hidden),
            "epochs": float(epochs),
        }

    def _scores(
        self, model: nn.Module, data: SequenceData, split: str, device: torch.device
    ) -> dict[str, float]:
        """``{split}_loss`` and the task's metric on a split, in eval mode."""
        x_all = getattr(data, f"x_{split}")
        y_all = getattr(data, f"y_{split}")
        model.eval()
        loss_sum, hits, counted = 0.0, 0.0, 0
        with torch.no_grad():
            for start in range(0, len(x_all), _EVAL_BATCH):
                x = _tensor(x_all[start : start + _EVAL_BATCH], device)
                y = _tensor(y_all[start : start + _EVAL_BATCH], device)
                out = model(x)
                loss_sum += float(_loss(out, y, data)) * len(x)
                if data.kind == "classify":
                    hits += float((out.argmax(-1) == y).sum())
                    counted += len(y)
                elif data.kind == "per_step":
                    tail = data.scored_steps or y.shape[1]
                    hits += float((out[:, -tail:].argmax(-1) == y[:, -tail:]).sum())
                    counted += y.shape[0] * tail
        loss = loss_sum / len(x_all)
        scores = {f"{split}_loss": loss}
        if self.task == "adding":
            scores[f"{split}_mse"] = loss
        elif self.task == "chars":
            scores[f"{split}_bpc"] = loss / math.log(2)
        else:
            scores[f"{split}_acc"] = 100.0 * hits / max(counted, 1)
        return scores


def _tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(array).to(device)


def _loss(out: torch.Tensor, y: torch.Tensor, data: SequenceData) -> torch.Tensor:
    if data.kind == "regression":
        return F.mse_loss(out.squeeze(-1).float(), y.float())
    if data.kind == "per_step":
        return F.cross_entropy(out.float().flatten(0, 1), y.flatten())
    return F.cross_entropy(out.float(), y)


__all__ = ["TASK_METRICS", "SequenceEvaluator", "SequenceModel", "hidden_for_params"]
