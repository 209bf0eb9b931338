"""Optimisers, learning-rate schedules, dropout and weight initialisation by name.

The names are those of the training dimensions (:mod:`nasforge.space.training`), so that a
searched ``train.optimizer=adam`` or ``train.init=kaiming`` means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from nasforge.errors import ConfigError, one_of
from nasforge.space.training import INITS, OPTIMIZERS, SCHEDULES

#: the dropout modules whose ``p`` :func:`set_dropout` sets
DROPOUT_MODULES: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)
#: the layers whose weights :func:`initialise` draws (biases are set to 0)
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def make_optimizer(
    params: Iterable[nn.Parameter],
    optimizer: str | None,
    lr: float,
    momentum: float,
    weight_decay: float,
) -> torch.optim.Optimizer:
    """The optimiser called ``optimizer`` (:data:`~nasforge.space.training.OPTIMIZERS`).

    ``None`` is the training loop's long-standing default: SGD with Nesterov momentum when
    ``momentum`` > 0, plain SGD otherwise. ``"sgd"`` ignores ``momentum``; ``"momentum"`` and
    ``"nesterov"`` use it (Nesterov only when it is above 0); Adam and AdamW use their default
    betas, Adam with L2 weight decay, AdamW with decoupled weight decay.

    Example:
        >>> opt = make_optimizer(nn.Linear(2, 2).parameters(), "adamw", 1e-3, 0.9, 0.01)
        >>> type(opt).__name__, opt.defaults["weight_decay"]
        ('AdamW', 0.01)
    """
    if optimizer is None:
        optimizer = "nesterov" if momentum > 0 else "sgd"
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    if optimizer in ("momentum", "nesterov"):
        nesterov = optimizer == "nesterov" and momentum > 0
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ConfigError(f"optimizer={optimizer!r}; allowed: {one_of(OPTIMIZERS)}")


def make_schedule(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule called ``schedule`` over ``total_steps`` optimiser steps
    (stepped once per batch): ``constant``; ``cosine``, annealed to 0 at the last step;
    ``step``, multiplied by 0.1 after half and again after three quarters of the steps.

    Example:
        >>> opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
        >>> sched = make_schedule(opt, "step", 8)
        >>> lrs = []
        >>> for _ in range(8):
        ...     lrs.append(round(opt.param_groups[0]["lr"], 3))
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, total_steps))
    if schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if schedule == "step":
        milestones = sorted({max(1, total_steps // 2), max(1, (3 * total_steps) // 4)})
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
    raise ConfigError(f"schedule={schedule!r}; allowed: {one_of(SCHEDULES)}")


def set_dropout(model: nn.Module, p: float) -> int:
    """Set the drop probability of every dropout module of ``model`` to ``p``; return how
    many there are (0: ``model`` has no dropout for ``p`` to reach)."""
    if not 0.0 <= p < 1.0:
        raise ConfigError(f"dropout={p!r}; allowed: a number with 0 <= dropout < 1")
    found = 0
    for module in model.modules():
        if isinstance(module, DROPOUT_MODULES):
            module.p = float(p)  # type: ignore[assignment]
            found += 1
    return found


def initialise(model: nn.Module, scheme: str) -> None:
    """Draw the weights of ``model``'s convolutions and linear layers by ``scheme``
    (:data:`~nasforge.space.training.INITS`) and set their biases to 0; normalisation layers
    keep theirs. ``default`` keeps PyTorch's initialisation; ``kaiming`` is He-normal for ReLU,
    ``xavier`` Glorot-uniform, ``lecun`` LeCun-normal (std ``1 / sqrt(fan_in)``, as SELU
    networks need). Draws from torch's global generator: run it inside
    :func:`~nasforge.training.seeded`.
    """
    if scheme not in INITS:
        raise ConfigError(f"init={scheme!r}; allowed: {one_of(INITS)}")
    if scheme == "default":
        return
    for module in model.modules():
        if not isinstance(module, WEIGHT_LAYERS):
            continue
        weight: torch.Tensor = module.weight  # type: ignore[assignment]
        if scheme == "kaiming":
            nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
        elif scheme == "xavier":
            nn.init.xavier_uniform_(weight)
        else:
            nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="linear")
        bias: torch.Tensor | None = module.bias  # type: ignore[assignment]
        if bias is not None:
            nn.init.zeros_(bias)


__all__ = [
    "DROPOUT_MODULES",
    "WEIGHT_LAYERS",
    "initialise",
    "make_optimizer",
    "make_schedule",
    "set_dropout",
]
