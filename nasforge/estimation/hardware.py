"""What a network costs to run, whatever its weights: FLOPs and peak activation memory.

Both are :attr:`~nasforge.estimation.measures.Measure.per_arch` measures (an evaluator measures
each network once), chosen by name (``flops``, ``mflops``, ``peak_memory``) or constructed
with options; the latency is in :mod:`nasforge.estimation.latency`. Each runs the network on an
input drawn from its own seeded generator, in eval mode and without gradients unless it says
otherwise, and leaves the model's mode as it found it.

Example:
    >>> import torch
    >>> from nasforge.space import Task
    >>> FlopCount().measure(torch.nn.Linear(3, 2), Task((3,), 2), None)  # 2 * 3 * 2
    {'flops': 12.0}
"""

from __future__ import annotations

import contextlib
import copy
import weakref
from collections.abc import Hashable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from nasforge.errors import ConfigError
from nasforge.estimation._trial_settings import check_int
from nasforge.estimation.measures import Measure
from nasforge.space import Task

#: the seed of the inputs the hardware measures run networks on (the values do not change a
#: count or a timing, but a fixed input keeps every run the same)
INPUT_SEED = 0

_MIB = 2**20


def example_input(task: Task, batch_size: int, device: torch.device | None) -> torch.Tensor:
    """A batch of ``batch_size`` standard-normal inputs of ``task.input_shape`` on ``device``,
    drawn from a generator seeded with :data:`INPUT_SEED` (the caller's random state is not
    touched)."""
    generator = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn((batch_size, *task.input_shape), generator=generator)
    return x if device is None else x.to(device)


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters (else buffers) are; the CPU for a model without either."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def on_device(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` when it is on ``device``, else a copy moved there (the model is not moved:
    the evaluator's model stays where it trained)."""
    if device.type == "cuda" and device.index is None:  # "cuda" is the current CUDA device
        device = torch.device("cuda", torch.cuda.current_device())
    return model if model_device(model) == device else copy.deepcopy(model).to(device)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode (batch-norm statistics neither used from the batch nor updated),
    with every module's mode restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


class FlopCount(Measure):
    """The floating-point operations of one forward pass of one sample (batch 1), as ``flops``
    or, with ``millions=True`` (measure ``mflops``), in millions as ``mflops``.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode` on the network in eval mode:
    matrix products and convolutions, a multiply-add counting as 2 FLOPs (so ``Linear(3, 2)``
    is 12); additions, activations, pooling and normalisation are not counted. Note that
    NAS-Bench-201's own ``flops`` column counts multiply-adds (half of this). The count does not
    depend on the device or the batch's values.

    Args:
        millions: report millions of FLOPs as ``mflops`` rather than FLOPs as ``flops``.

    Example:
        >>> conv = torch.nn.Conv2d(3, 4, kernel_size=3, padding=1)  # 4*5*5 outputs, 3*3*3 each
        >>> FlopCount(millions=True).measure(conv, Task((3, 5, 5), 4), None)
        {'mflops': 0.0054}
    """

    name = "flops"
    metric_names = ("flops",)
    per_arch = True

    def __init__(self, millions: bool = False) -> None:
        if not isinstance(millions, bool):
            raise ConfigError(f"millions={millions!r}; allowed: true or false")
        self.millions = millions
        self.name = "mflops" if millions else "flops"
        self.metric_names = (self.name,)

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        x = example_input(task, 1, model_device(model))
        counter = FlopCounterMode(display=False)
        with eval_mode(model), torch.no_grad(), counter:
            model(x)
        flops = float(counter.get_total_flops())
        return {self.name: flops / 1e6 if self.millions else flops}

    def cache_key(self) -> Hashable:
        return ("flops", self.millions)

    def __repr__(self) -> str:
        return f"FlopCount(millions={self.millions})"


def mflops_measure() -> FlopCount:
    """The measure registered as ``mflops``: ``FlopCount(millions=True)``."""
    return FlopCount(millions=True)


class PeakMemory(Measure):
    """The peak activation memory of one forward pass of ``batch_size`` samples, in MiB, as
    ``peak_memory_mib``: the most memory the tensors of the pass (input, intermediate results,
    output) take at once, beyond the parameters and buffers.

    How it is measured depends on where the model is:

    - **CUDA**: ``torch.cuda.max_memory_allocated`` during the pass, less what was allocated
      before it (the allocator's real peak, operator workspaces included);
    - **elsewhere** (the CPU): an exact count of the tensors the pass's operators return,
      tracked with a ``TorchDispatchMode``: each new storage adds its bytes when an operator
      returns it and gives them back when it is freed. Scratch memory an operator uses inside
      its kernel and the allocator's rounding are not seen, so this is a lower bound of what
      the process allocates (usually close: the activations dominate).

    By default the pass is inference (eval mode, no gradients), where each intermediate result
    is freed once the next operator has used it. ``grad=True`` measures the forward pass of
    training instead (still in eval mode, so batch-norm statistics are not updated), in which
    autograd keeps the activations the backward pass needs: the memory that limits the batch
    size of training.

    Args:
        batch_size: samples in the batch.
        grad: measure the forward pass with gradients (training) rather than inference.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Linear(256, 1024), torch.nn.ReLU())
        >>> # the input (0.25 MiB), Linear's output (1 MiB) and ReLU's (1 MiB) at once
        >>> PeakMemory(batch_size=256).measure(net, Task((256,), 1024), None)
        {'peak_memory_mib': 2.25}
    """

    name = "peak_memory"
    metric_names = ("peak_memory_mib",)
    per_arch = True

    def __init__(self, batch_size: int = 1, grad: bool = False) -> None:
        check_int("batch_size", batch_size, 1)
        if not isinstance(grad, bool):
            raise ConfigError(f"grad={grad!r}; allowed: true or false")
        self.batch_size = batch_size
        self.grad = grad

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        where = model_device(model)
        with eval_mode(model), torch.set_grad_enabled(self.grad):
            if where.type == "cuda":
                peak = _cuda_peak(model, task, self.batch_size, where)
            else:
                peak = _tracked_peak(model, task, self.batch_size, where)
        return {"peak_memory_mib": peak / _MIB}

    def cache_key(self) -> Hashable:
        return ("peak_memory", self.batch_size, self.grad)

    def __repr__(self) -> str:
        return f"PeakMemory(batch_size={self.batch_size}, grad={self.grad})"


def _cuda_peak(model: nn.Module, task: Task, batch_size: int, device: torch.device) -> int:
    """Bytes allocated on ``device`` at the peak of a forward pass, beyond those before it."""
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    out = model(example_input(task, batch_size, device))
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - before
    del out
    return int(peak)


def _tracked_peak(model: nn.Module, task: Task, batch_size: int, device: torch.device) -> int:
    """Bytes of the storages a forward pass creates, at their peak (see :class:`PeakMemory`)."""
    known = [t.untyped_storage() for t in (*model.parameters(), *model.buffers())]
    tracker = _LiveTensors(known)
    with tracker:
        out = model(example_input(task, batch_size, device))
        del out
    return tracker.peak


class _LiveTensors(TorchDispatchMode):
    """Counts the bytes of the storages operators return while it is active, and their peak.

    A storage is counted once (views and in-place results share it) from when an operator
    returns it until Python frees it; the storages of ``known`` (parameters, buffers) are never
    counted.
    """

    def __init__(self, known: list[Any]) -> None:
        super().__init__()
        self._known = known  # kept alive, so their ids stay theirs
        self._seen = {id(storage) for storage in known}
        self.live = 0
        self.peak = 0

    def _free(self, key: int, nbytes: int) -> None:
        self._seen.discard(key)
        self.live -= nbytes

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        for tensor in tree_flatten((args, kwargs or {}))[0]:  # the input batch, when first seen
            self._track(tensor)
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            self._track(tensor)
        return out

    def _track(self, tensor: Any) -> None:
        if not isinstance(tensor, torch.Tensor):
            return
        storage = tensor.untyped_storage()
        key = id(storage)
        if key in self._seen:
            return
        nbytes = storage.nbytes()
        self._seen.add(key)
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, key, nbytes)


__all__ = [
    "INPUT_SEED",
    "FlopCount",
    "PeakMemory",
    "eval_mode",
    "example_input",
    "mflops_measure",
    "model_device",
    "on_device",
]
