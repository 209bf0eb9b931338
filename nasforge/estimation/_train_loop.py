"""The inner loop of :class:`~nasforge.estimation.train.TrainEvaluator`: device, model and data
placement, one epoch of SGD (with mixed precision on CUDA), scoring, and what turns an
out-of-memory error or a non-finite loss into a failure that names its cause.

The evaluator is in ``train.py``; this module knows tensors and modules, not trials or spaces.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.space import Arch, ModelSpace, Space, Task

#: samples per forward pass when scoring (no gradients, so larger than training batches)
SCORE_BATCH = 1024

#: without a user limit, data goes to a CUDA device when it takes at most this share of the
#: device's free memory, leaving the rest to activations of the networks being trained
DEVICE_DATA_SHARE = 0.25


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite: the run diverged (or the data holds NaN/inf)."""


class TrialOutOfMemoryError(MemoryError):
    """Training ran out of memory; the model and its optimizer were freed before this was raised."""


@dataclass(frozen=True)
class TrainData:
    """The splits of one dataset as tensors, and where batches are computed.

    ``on_host`` is true when the tensors stayed in host memory (pinned when the device is CUDA)
    because they would take too much of the device; each batch is then copied over as it is used.
    ``subset_order`` is the fixed (``data_seed``) order in which ``train_fraction`` takes training
    samples, so a smaller fraction is always a subset of a larger one.
    """

    task: Task
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    subset_order: torch.Tensor
    device: torch.device
    on_host: bool

    def train_rows(self, fraction: float) -> torch.Tensor | None:
        """Indices of the training samples a ``fraction`` uses (``None``: all of them)."""
        if fraction >= 1.0:
            return None
        keep = max(2, round(fraction * len(self.y_train)))
        return self.subset_order[:keep]

    def batch(self, x: torch.Tensor, index: torch.Tensor | slice) -> torch.Tensor:
        """``x[index]`` on the training device (a no-op copy when the data already is there)."""
        return x[index].to(self.device, non_blocking=True)


def place_data(
    task: Task,
    arrays: tuple[np.ndarray, ...],
    subset_order: torch.Tensor,
    device: torch.device,
    max_device_bytes: float | None,
) -> TrainData:
    """Put ``(x_train, y_train, x_val, y_val, x_test, y_test)`` on ``device`` when they fit.

    They fit when their bytes are at most ``max_device_bytes``, or, when that is ``None``, at
    most :data:`DEVICE_DATA_SHARE` of the free memory of a CUDA device (always on other devices).
    """
    tensors = [torch.as_tensor(a) for a in arrays]
    nbytes = sum(t.element_size() * t.nelement() for t in tensors)
    if max_device_bytes is not None:
        fits = nbytes <= max_device_bytes
    elif device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        fits = nbytes <= DEVICE_DATA_SHARE * free
    else:
        fits = True
    if fits:
        tensors = [t.to(device) for t in tensors]
    elif device.type == "cuda":  # page-locked memory makes the per-batch copies asynchronous
        tensors = [t.pin_memory() for t in tensors]
    x_train, y_train, x_val, y_val, x_test, y_test = tensors
    return TrainData(
        task, x_train, y_train, x_val, y_val, x_test, y_test, subset_order, device, not fits
    )


class Precision:
    """Automatic mixed precision: autocast on CUDA (and on the CPU when asked), else float32.

    Mixed precision with loss scaling follows Micikevicius et al. 2018, "Mixed Precision
    Training"; torch's ``autocast`` keeps the weights and the reductions in float32.

    On CUDA, bfloat16 when the GPU supports it (it has float32's exponent range, so no loss
    scaling is needed), else float16 with a ``GradScaler`` that scales the loss so that small
    gradients do not underflow. On the CPU, bfloat16. Other devices train in float32.
    """

    def __init__(self, device: torch.device, enabled: bool) -> None:
        self.enabled = enabled and device.type in ("cuda", "cpu")
        self.device_type = device.type
        self.dtype = torch.bfloat16
        self.scaler: torch.amp.GradScaler | None = None
        if self.enabled and device.type == "cuda":
            with torch.cuda.device(device):
                if not torch.cuda.is_bf16_supported():
                    self.dtype = torch.float16
                    self.scaler = torch.amp.GradScaler("cuda")

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward pass and optimizer step (the scaler skips a step whose gradients overflow)."""
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def train_epoch(
    model: nn.Module,
    data: TrainData,
    rows: torch.Tensor | None,
    batches: list[tuple[int, int]],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    precision: Precision,
) -> tuple[float, int | None]:
    """One pass over the training ``rows`` (all when ``None``) in a random order.

    Returns the mean loss and the first step (1-based) whose loss was NaN or infinite, if any.
    Losses are checked once per epoch, not per step, so that CUDA need not synchronise per step.
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
        index = order[start:stop]
        x, y = data.batch(data.x_train, index), data.batch(data.y_train, index)
        with precision.autocast():
            loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        precision.step(loss, optimizer)
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


def build_model(
    space: Space, arch: Arch, task: Task, sizes: Mapping[str, tuple[int, str]]
) -> nn.Module:
    """``space.build(arch, task)`` with network-size overrides ``{key: (value, where it came
    from)}``, each of which must be one of the space's declared ``size_options``."""
    if not sizes:
        return space.build(arch, task)
    declared = space.size_options if isinstance(space, ModelSpace) else {}
    for key, (value, source) in sizes.items():
        if key not in declared:
            raise ConfigError(
                f"{source}={value!r} needs a space that builds with another {key}, but space "
                f"{space.name!r} ({type(space).__name__}) does not; allowed: a space such as "
                f"'nb201', or no {key}"
            )
    assert isinstance(space, ModelSpace)
    return space.build(arch, task, **{key: value for key, (value, _) in sizes.items()})


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


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each batch; a last batch of one sample joins the one before it
    (batch norm cannot train on a single sample)."""
    bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation failed (CUDA, the CPU allocator, or Python's own)."""
    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def free_memory(device: torch.device) -> None:
    """Collect unreachable tensors and give CUDA's cached blocks back to the driver."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global generators for a trial (initial weights, dropout) and restore them
    afterwards, so a trial neither depends on nor disturbs the caller's random state."""
    devices: list[int] = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
