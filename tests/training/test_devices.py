"""Device resolution, per-run seeding, CPU threads and the out-of-memory classification."""

from __future__ import annotations

import pytest
import torch

from nasforge.errors import ConfigError
from nasforge.training import cpu_threads, free_memory, is_out_of_memory, resolve_device, seeded


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tpu:0", "device='tpu:0' is not a device; allowed: 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ("meta", "device='meta' is not supported; allowed: 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ("gpu", "device='gpu' is not a device; allowed: 'auto', 'cpu', 'cuda' or 'cuda:N'"),
        ("cuda:99", "cuda:99"),
    ],
)
def test_a_bad_device_is_one_line_naming_it(spec: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_device(spec)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_devices_that_are_not_here() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError, match=r"device='cuda' but CUDA is not available here"):
        resolve_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(ConfigError, match=r"device='mps' but MPS is not available here"):
            resolve_device("mps")


def test_seeded_gives_the_same_numbers_and_restores_the_callers_state() -> None:
    cpu = torch.device("cpu")
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with seeded(7, cpu):
        first = torch.rand(5)
    assert torch.equal(torch.get_rng_state(), state)
    torch.rand(3)  # another caller state does not change what the run draws
    with seeded(7, cpu):
        assert torch.equal(torch.rand(5), first)
    with seeded(8, cpu):
        assert not torch.equal(torch.rand(5), first)
    assert torch.equal(torch.rand(5, generator=torch.Generator().manual_seed(7)), first)


def test_seeded_restores_the_state_when_the_run_fails() -> None:
    state = torch.get_rng_state()
    with pytest.raises(RuntimeError, match="boom"), seeded(0, torch.device("cpu")):
        torch.rand(4)
        raise RuntimeError("boom")
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_seeded_on_cuda_seeds_and_restores_that_device() -> None:
    cuda = torch.device("cuda")
    before = torch.cuda.get_rng_state()
    with seeded(3, cuda):
        first = torch.rand(4, device=cuda)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    with seeded(3, cuda):
        assert torch.equal(torch.rand(4, device=cuda), first)


def test_cpu_threads_are_set_inside_and_restored() -> None:
    torch.set_num_threads(2)  # the suite's fixture restores the original count
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with cpu_threads(None):
        assert torch.get_num_threads() == 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
        (RuntimeError("[enforce fail at alloc_cpu.cpp:117] can't allocate memory"), True),
        (RuntimeError("CUDA error: out of memory"), True),
        (MemoryError(), True),
        (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), False),
        (ValueError("out of memory"), False),  # only an allocator's RuntimeError says so
    ],
)
def test_out_of_memory_is_recognised(error: BaseException, expected: bool) -> None:
    assert is_out_of_memory(error) is expected


def test_free_memory_runs_on_the_cpu() -> None:
    free_memory(torch.device("cpu"))
