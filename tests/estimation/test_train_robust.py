"""The robust training loop: failures that free their memory and name their cause, data kept on
the host when it does not fit the device, mixed precision, and per-trial seeding."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.estimation import TrialContext
from nasforge.estimation.train import NonFiniteLossError, TrainEvaluator, TrialOutOfMemoryError
from nasforge.space import Arch, Task
from nasforge.spaces import NB201Space
from nasforge.training import Precision, place_data

ARCH = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)


def tiny_data() -> tuple[np.ndarray, ...]:
    """An easy 2-class signal: 48 train (36 + 12 validation) and 16 test samples."""
    rng = np.random.default_rng(0)
    y = np.arange(64) % 2
    x = rng.normal(size=(64, 1, 16)) + 2.0 * y[:, None, None]
    return x[:48], y[:48], x[48:], y[48:]


def tiny_evaluator(**options: object) -> TrainEvaluator:
    # 36 training samples in batches of 12: 3 steps per epoch
    return TrainEvaluator(tiny_data(), batch_size=12, val_fraction=0.25, **options)  # type: ignore[arg-type]


class Faulty(nn.Module):
    """Wraps a network; from its ``after``-th training forward on it fails with ``fault``."""

    def __init__(self, net: nn.Module, fault: Callable[[torch.Tensor], torch.Tensor], after: int):
        super().__init__()
        self.net, self.fault, self.after, self.calls = net, fault, after, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        if self.training:
            self.calls += 1
            if self.calls >= self.after:
                return self.fault(out)
        return out


class FaultySpace(NB201Space):
    """NB201 whose networks fail as ``fault`` says; keeps a weak reference to each one built."""

    def __init__(self, fault: Callable[[torch.Tensor], torch.Tensor], after: int = 1) -> None:
        super().__init__(n_cells=1, channels=4)
        self.fault, self.after = fault, after
        self.built: list[weakref.ref[nn.Module]] = []

    def build(self, arch: Arch, task: Task, **sizes: int | None) -> nn.Module:  # type: ignore[override]
        model = Faulty(super().build(arch, task, **sizes), self.fault, self.after)
        self.built.append(weakref.ref(model))
        return model


def raises(exc: BaseException) -> Callable[[torch.Tensor], torch.Tensor]:
    def fault(out: torch.Tensor) -> torch.Tensor:
        raise exc

    return fault


def evaluate(
    evaluator: TrainEvaluator, space: NB201Space, seed: int = 0, **ctx: object
) -> dict[str, float]:
    context = TrialContext(space=space, seed=seed, **ctx)  # type: ignore[arg-type]
    return evaluator.evaluate(space.parse(ARCH), context)


def frames(exc: BaseException) -> list[str]:
    names, tb = [], exc.__traceback__
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return names


def test_nan_loss_names_epoch_step_and_lr_and_frees_the_model() -> None:
    space = FaultySpace(lambda out: out * float("nan"), after=5)  # epoch 2, its step 2
    with pytest.raises(NonFiniteLossError) as info:
        evaluate(tiny_evaluator(epochs=3, lr=0.05), space)
    message = str(info.value)
    assert "non-finite loss at epoch 2 step 2 (of 3 per epoch" in message
    assert "lr=0.05" in message and "lower lr" in message
    # raised again after the training frames (which hold the model) were let go
    assert "_train" not in frames(info.value) and "train_epoch" not in frames(info.value)
    assert [ref() for ref in space.built] == [None]


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"
        ),
        MemoryError(),
    ],
    ids=["cuda", "cpu-allocator", "python"],
)
def test_out_of_memory_names_device_batch_and_remedy_and_frees_the_model(
    error: BaseException,
) -> None:
    space = FaultySpace(raises(error), after=2)
    with pytest.raises(TrialOutOfMemoryError) as info:
        evaluate(tiny_evaluator(epochs=1), space, fidelity={"channels": 2})
    message = str(info.value)
    assert message.startswith("out of memory on cpu with batch_size=12, fidelity 'channels'=2:")
    assert "lower batch_size" in message and "channels/n_cells" in message
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert [ref() for ref in space.built] == [None]


def test_other_runtime_errors_pass_unchanged() -> None:
    space = FaultySpace(raises(RuntimeError("mat1 and mat2 shapes cannot be multiplied")))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied") as info:
        evaluate(tiny_evaluator(epochs=1), space)
    assert not isinstance(info.value, TrialOutOfMemoryError)


def test_data_too_large_for_the_device_stays_on_the_host_with_the_same_result() -> None:
    space = NB201Space(n_cells=1, channels=4)
    on_device, on_host = tiny_evaluator(epochs=2), tiny_evaluator(epochs=2, max_device_data_mb=1e-3)
    assert evaluate(on_host, space) == evaluate(on_device, space)
    cpu = torch.device("cpu")
    assert on_host._tensors(cpu).on_host and not on_device._tensors(cpu).on_host
    # the limit is in bytes of all six arrays together
    x, y, _, _ = tiny_data()
    arrays = (x[:30], y[:30], x[30:40], y[30:40], x[40:], y[40:])
    order = torch.arange(30)
    nbytes = x.nbytes + y.nbytes
    assert not place_data(Task((1, 16), 2), arrays, order, cpu, nbytes).on_host
    assert place_data(Task((1, 16), 2), arrays, order, cpu, nbytes - 1).on_host
    assert not place_data(Task((1, 16), 2), arrays, order, cpu, None).on_host
    with pytest.raises(ConfigError, match="max_device_data_mb=-1"):
        TrainEvaluator(max_device_data_mb=-1)


def test_amp_is_off_on_the_cpu_unless_asked() -> None:
    space = NB201Space(n_cells=1, channels=4)
    plain = evaluate(tiny_evaluator(epochs=2, amp=False), space)
    assert evaluate(tiny_evaluator(epochs=2), space) == plain  # "auto": float32 on the CPU
    mixed = evaluate(tiny_evaluator(epochs=2, amp=True), space)  # bfloat16 autocast
    assert mixed != plain
    assert abs(mixed["train_loss"] - plain["train_loss"]) < 0.1 * plain["train_loss"]
    assert not Precision(torch.device("cpu"), enabled=False).enabled
    assert Precision(torch.device("cpu"), enabled=True).dtype == torch.bfloat16
    for bad in ("yes", 1, None):
        with pytest.raises(ConfigError, match="amp="):
            TrainEvaluator(amp=bad)  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_amp_on_cuda_trains_digits() -> None:
    precision = Precision(torch.device("cuda"), enabled=True)
    assert precision.dtype in (torch.bfloat16, torch.float16)
    assert (precision.scaler is None) == (precision.dtype == torch.bfloat16)
    space = NB201Space(n_cells=1, channels=8)
    metrics = evaluate(TrainEvaluator("digits", epochs=2, device="cuda"), space)
    assert metrics["val_acc"] > 60


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_out_of_memory_gives_the_memory_back() -> None:
    space = FaultySpace(raises(torch.cuda.OutOfMemoryError("CUDA out of memory")))
    before = torch.cuda.memory_allocated()
    with pytest.raises(TrialOutOfMemoryError, match="out of memory on cuda"):
        evaluate(TrainEvaluator(tiny_data(), epochs=1, device="cuda"), space)
    gc.collect()
    # what stays allocated is the cached data, not the model, optimizer or activations
    assert torch.cuda.memory_allocated() - before < 64 * 1024


class DropoutSpace(NB201Space):
    def build(self, arch: Arch, task: Task, **sizes: int | None) -> nn.Module:  # type: ignore[override]
        return nn.Sequential(nn.Dropout(0.5), super().build(arch, task, **sizes))


def test_trial_seed_fixes_dropout_and_leaves_the_global_generator_alone() -> None:
    space, evaluator = DropoutSpace(n_cells=1, channels=4), tiny_evaluator(epochs=1)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = evaluate(evaluator, space)
    assert torch.equal(torch.get_rng_state(), state)
    torch.rand(10)  # a different global state must not change the trial
    assert evaluate(evaluator, space) == first
    assert evaluate(evaluator, space, seed=1) != first
