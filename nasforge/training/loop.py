"""The epoch loop: one pass of training over (a subset of) the data, scoring, and the errors
that turn a diverged run or a failed allocation into a failure that names its cause."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nasforge.interrupt import raise_if_stop_requested
from nasforge.training.data import TrainData, batch_bounds
from nasforge.training.optim import make_optimizer, make_schedule
from nasforge.training.precision import Precision

#: called after each epoch with ``(epoch, {"val_acc": ..., "train_loss": ...})``; may raise
#: (a scheduler's ``TrialPruned``) to stop the training
EpochCallback = Callable[[int, dict[str, float]], None]

#: samples per forward pass when scoring (no gradients, so larger than training batches)
SCORE_BATCH = 1024


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite: the run diverged (or the data holds NaN/inf)."""


class TrialOutOfMemoryError(MemoryError):
    """Training ran out of memory; the model and its optimizer were freed before this was raised."""


def train_epoch(
    model: nn.Module,
    data: TrainData,
    rows: torch.Tensor | None,
    batches: list[tuple[int, int]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    precision: Precision,
    grad_clip: float | None = None,
    label_smoothing: float = 0.0,
) -> tuple[float, int | None]:
    """One pass over the training ``rows`` (all when ``None``) in a random order, with
    cross-entropy, one ``optimizer`` and ``scheduler`` step per batch of ``batches``
    (:func:`~nasforge.training.batch_bounds` of the rows used), the gradients' norm clipped to
    ``grad_clip`` first when given; ``label_smoothing`` (0 to 1) mixes each target with the
    uniform distribution over the classes by that share (Szegedy et al. 2016).

    Returns the mean loss and the first step (1-based) whose loss was NaN or infinite, if any.
    Losses are checked once per epoch, not per step, so that CUDA need not synchronise per step.
    ``generator`` (seeded by the caller) fixes the order of the samples and the random choices
    of the data's augmentation (:meth:`~nasforge.training.TrainData.train_batch`). A stop asked
    by a signal (:func:`~nasforge.interrupt.stop_on_signals`) raises ``KeyboardInterrupt``
    before the next step.
    """
    model.train()
    order = torch.randperm(len(data.y_train) if rows is None else len(rows), generator=generator)
    if rows is not None:
        order = rows[order]
    order = order.to(data.x_train.device)
    total = torch.zeros((), device=data.device)
    losses = torch.empty(len(batches), device=data.device)
    seen = 0
    for step, (start, stop) in enumerate(batches):
        raise_if_stop_requested()  # a stop a finaliser swallowed ends the trial within a step
        index = order[start:stop]
        x, y = data.train_batch(index, generator)
        with precision.autocast():
            loss = nn.functional.cross_entropy(model(x), y, label_smoothing=label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        precision.step(loss, optimizer, clip_norm=grad_clip)
        scheduler.step()
        total += loss.detach() * (stop - start)
        losses[step] = loss.detach()
        seen += stop - start
    mean = float(total) / seen
    if np.isfinite(mean):
        return mean, None
    bad = torch.nonzero(~torch.isfinite(losses))
    return mean, int(bad[0, 0]) + 1 if len(bad) else len(batches)


@torch.inference_mode()
def score(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    device: torch.device | None = None,
    precision: Precision | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in percent of ``model`` (in eval mode) on ``(x, y)``.

    ``device``: where the model is, when the data may be elsewhere (each batch is copied over).

    Example:
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> with torch.no_grad():
        ...     _ = model[1].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
        ...     _ = model[1].bias.zero_()
        >>> x = torch.tensor([[[2.0, 0, 0, 0]], [[0, 2.0, 0, 0]], [[2.0, 0, 0, 0]]])
        >>> loss, accuracy = score(model, x, torch.tensor([0, 1, 1]))
        >>> round(accuracy, 2)
        66.67
    """
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(y), SCORE_BATCH):
        inputs, target = x[start : start + SCORE_BATCH], y[start : start + SCORE_BATCH]
        if device is not None:
            inputs = inputs.to(device, non_blocking=True)
            target = target.to(device, non_blocking=True)
        with precision.autocast() if precision is not None else contextlib.nullcontext():
            logits = model(inputs)
        loss += float(nn.functional.cross_entropy(logits.float(), target, reduction="sum"))
        correct += int((logits.argmax(dim=1) == target).sum())
    return loss / len(y), 100.0 * correct / len(y)


@dataclass(frozen=True)
class TrainRecipe:
    """How :func:`train_model` trains: cross-entropy, ``batch_size`` samples per step, on the
    share ``train_fraction`` of the training set (see :meth:`TrainData.train_rows`), with the
    optimiser ``optimizer`` and the learning-rate ``schedule`` over all steps (names of
    :func:`~nasforge.training.make_optimizer` and :func:`~nasforge.training.make_schedule`).

    By default: SGD with Nesterov momentum (when ``momentum`` > 0) and a cosine schedule, no
    gradient clipping (``grad_clip``: the largest norm of a step's gradients; DARTS's recipe
    clips to 5), no label smoothing (``label_smoothing``: the share of each target spread over
    all classes; DARTS's ImageNet recipe uses 0.1).
    """

    epochs: int
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    train_fraction: float = 1.0
    optimizer: str | None = None
    schedule: str = "cosine"
    grad_clip: float | None = None
    label_smoothing: float = 0.0


#: the name :class:`TrainRecipe` had when SGD was its only optimiser
SGDRecipe = TrainRecipe


@dataclass(frozen=True)
class TrainResult:
    """The losses and validation accuracy (percent) after the last epoch of :func:`train_model`."""

    train_loss: float
    val_loss: float
    val_acc: float


def train_model(
    model: nn.Module,
    data: TrainData,
    recipe: TrainRecipe,
    seed: int,
    precision: Precision | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train ``model`` (on ``data.device``) as ``recipe`` says, scoring it on the validation
    split after each epoch.

    ``seed`` fixes the order of the batches; run this inside :func:`~nasforge.training.seeded`
    for dropout to be reproducible too. ``on_epoch`` is called after each epoch. The model is
    left in eval mode.

    Raises:
        NonFiniteLossError: the loss of a step became NaN or infinite; the message names the
            epoch, the step and the learning rate.
    """
    precision = precision if precision is not None else Precision(data.device, enabled=False)
    optimizer = make_optimizer(
        model.parameters(), recipe.optimizer, recipe.lr, recipe.momentum, recipe.weight_decay
    )
    rows = data.train_rows(recipe.train_fraction)
    batches = batch_bounds(len(data.y_train if rows is None else rows), recipe.batch_size)
    scheduler = make_schedule(optimizer, recipe.schedule, recipe.epochs * len(batches))
    generator = torch.Generator().manual_seed(seed)
    train_loss = val_loss = val_acc = math.nan
    for epoch in range(1, recipe.epochs + 1):
        train_loss, bad_step = train_epoch(
            model,
            data,
            rows,
            batches,
            optimizer,
            scheduler,
            generator,
            precision,
            recipe.grad_clip,
            recipe.label_smoothing,
        )
        if bad_step is not None:
            raise NonFiniteLossError(
                f"non-finite loss at epoch {epoch} step {bad_step} (of {len(batches)} "
                f"per epoch; epoch mean {train_loss}) with lr={recipe.lr}: the run "
                "diverged; lower lr, or check the data for NaN/inf"
            )
        val_loss, val_acc = score(model, data.x_val, data.y_val, data.device, precision)
        if on_epoch is not None:
            on_epoch(epoch, {"val_acc": val_acc, "train_loss": train_loss})
    return TrainResult(train_loss, val_loss, val_acc)
