"""Where training runs and what a run may change of the process: the device, torch's global
random generators, CPU threads, and the memory an out-of-memory failure leaves behind."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import torch

from nasforge.errors import ConfigError

#: the device specs :func:`resolve_device` accepts, for error messages
DEVICE_SPECS = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(spec: str) -> torch.device:
    """The torch device for ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or ``"mps"``).

    ``"auto"`` is the first CUDA device when there is one, else the CPU.

    Raises:
        ConfigError: the device is malformed or not available on this machine.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    allowed = f"allowed: {DEVICE_SPECS}"
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


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's generators for one run (initial weights, dropout) and restore them after.

    Inside, the CPU generator and the generator of ``device`` (a CUDA or MPS device) start from
    ``seed``; on leaving, both are back in the caller's state, so a run neither depends on nor
    disturbs the caller's random numbers. Other devices' generators are not touched.

    Example:
        >>> _ = torch.manual_seed(1)
        >>> with seeded(0, torch.device("cpu")):
        ...     first = torch.rand(1)
        >>> with seeded(0, torch.device("cpu")):
        ...     bool(torch.equal(torch.rand(1), first))
        True
        >>> _ = torch.manual_seed(1)
        >>> bool(torch.equal(torch.rand(1), torch.rand(1)))  # the caller's state went on
        False
    """
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        with torch.random.fork_rng(devices=[index], device_type="cuda"):
            torch.random.default_generator.manual_seed(seed)
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
            yield
    elif device.type == "mps":
        with torch.random.fork_rng(devices=[0], device_type="mps"):
            torch.random.default_generator.manual_seed(seed)
            torch.mps.manual_seed(seed)
            yield
    else:
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)
            yield


@contextlib.contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run with ``count`` torch intra-op CPU threads and restore the setting after (``None``:
    leave it as it is).

    Small networks gain little from several threads, and when other processes share the cores
    several threads can make training many times slower.

    Example:
        >>> before = torch.get_num_threads()
        >>> with cpu_threads(1):
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation failed (CUDA, the CPU allocator, or Python's own).

    Example:
        >>> is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
        True
        >>> is_out_of_memory(RuntimeError("shapes cannot be multiplied"))
        False
    """
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
