"""The training toolkit: devices, data preparation, the epoch loop and mixed precision.

What :class:`~nasforge.estimation.train.TrainEvaluator`, the zero-cost evaluator, retraining
and export share, and what a one-shot method training a supernet builds on. It knows tensors,
modules and spaces, not trials, strategies or experiments: it imports only
:mod:`nasforge.space`, :mod:`nasforge.data`, :mod:`nasforge.errors` and
:mod:`nasforge.interrupt` (the stop flag its loop checks every step) of nasforge.

- devices: :func:`resolve_device` (``"auto"``, ``"cpu"``, ``"cuda:1"``, ...), :func:`seeded`
  (a run's own random state, the caller's restored after), :func:`cpu_threads`,
  :func:`is_out_of_memory`, :func:`free_memory`;
- data: :func:`prepare_data` and :func:`place_data` (splits as tensors on the device, or pinned
  on the host when too large, normalised per channel), :class:`TrainData` (with
  :meth:`TrainData.train_batch`, the augmented training batch), :func:`batch_bounds`,
  :func:`augmentation` (a dataset's :class:`~nasforge.data.Augmentation` as tensor ops);
- the loop: :func:`train_model` (a whole training run as a :class:`TrainRecipe` says),
  :func:`train_epoch` (one pass), :func:`score`, and the failures
  :class:`NonFiniteLossError` and :class:`TrialOutOfMemoryError`;
- :class:`Precision`: automatic mixed precision;
- models: :func:`build_model` (a space's network at other network sizes),
  :func:`count_parameters`;
- by name, as the training dimensions say: :func:`make_optimizer`, :func:`make_schedule`,
  :func:`set_dropout`, :func:`initialise`.

Example:
    >>> from nasforge.data import load_dataset
    >>> from nasforge.spaces import NB201Space
    >>> device = resolve_device("cpu")
    >>> data = prepare_data(load_dataset("digits"), device, val_fraction=0.1, data_seed=0)
    >>> space = NB201Space(n_cells=1, channels=8)
    >>> arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    ...                    "+|skip_connect~0|skip_connect~1|skip_connect~2|")
    >>> with seeded(0, device):
    ...     model = build_model(space, arch, data.task, {}).to(device)
    ...     result = train_model(model, data, TrainRecipe(epochs=1, batch_size=32), seed=0)
    >>> result.val_acc > 80  # chance is 10%
    True
"""

from __future__ import annotations

from nasforge.training.augment import BatchAugmentation, augmentation
from nasforge.training.data import (
    DEVICE_DATA_SHARE,
    TrainData,
    batch_bounds,
    place_data,
    prepare_data,
)
from nasforge.training.devices import (
    cpu_threads,
    free_memory,
    is_out_of_memory,
    resolve_device,
    seeded,
)
from nasforge.training.loop import (
    SCORE_BATCH,
    EpochCallback,
    NonFiniteLossError,
    SGDRecipe,
    TrainRecipe,
    TrainResult,
    TrialOutOfMemoryError,
    score,
    train_epoch,
    train_model,
)
from nasforge.training.models import build_model, count_parameters
from nasforge.training.optim import (
    DROPOUT_MODULES,
    WEIGHT_LAYERS,
    initialise,
    make_optimizer,
    make_schedule,
    set_dropout,
)
from nasforge.training.precision import Precision

__all__ = [
    "DEVICE_DATA_SHARE",
    "DROPOUT_MODULES",
    "SCORE_BATCH",
    "WEIGHT_LAYERS",
    "BatchAugmentation",
    "EpochCallback",
    "NonFiniteLossError",
    "Precision",
    "SGDRecipe",
    "TrainData",
    "TrainRecipe",
    "TrainResult",
    "TrialOutOfMemoryError",
    "augmentation",
    "batch_bounds",
    "build_model",
    "count_parameters",
    "cpu_threads",
    "free_memory",
    "initialise",
    "is_out_of_memory",
    "make_optimizer",
    "make_schedule",
    "place_data",
    "prepare_data",
    "resolve_device",
    "score",
    "seeded",
    "set_dropout",
    "train_epoch",
    "train_model",
]
