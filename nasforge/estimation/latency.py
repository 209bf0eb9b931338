"""The latency of a network on a named device: the CPU at a stated thread count, a CUDA device,
or ONNX Runtime running the graph ``torch.onnx`` exports.

A latency is only meaningful with its conditions, so each is an option of the measure and part
of its cache key: the device, the thread count, the batch size, the warm-up passes and the
number of timed passes. The metric is the median time of one forward pass in milliseconds
(``latency_ms``), robust to the odd slow pass a shared machine causes; the spread of the timings
is kept beside it as their interquartile range (``latency_iqr_ms``), so that a search can tell a
real difference from noise. Warm-up passes (allocations, caches, CUDA kernel selection, ONNX
Runtime's first-run work) are run but not timed. On CUDA the device is synchronised before each
timing starts and before it ends: a kernel launch returns before the kernel has run.

The clock is an option (``clock=time.perf_counter``): a test passes a fake one to check that
warm-up passes are not timed and that exactly ``repeats`` passes are.

Example:
    >>> import torch
    >>> from nasforge.space import Task
    >>> latency = Latency(device="cpu", threads=1, warmup=2, repeats=5)
    >>> sorted(latency.measure(torch.nn.Linear(8, 2), Task((8,), 2), None))
    ['latency_iqr_ms', 'latency_ms']
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import time
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.estimation._trial_settings import check_int
from nasforge.estimation.hardware import eval_mode, example_input, model_device, on_device
from nasforge.estimation.measures import Measure
from nasforge.space import Task
from nasforge.training import cpu_threads, resolve_device

#: the devices a latency may be measured on, for error messages
LATENCY_DEVICES = "'cpu', 'cuda', 'cuda:N' or 'onnxruntime'"
_DEVICE = re.compile(r"cpu|cuda(:[0-9]+)?|onnxruntime")
_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Latency(Measure):
    """The median time of one forward pass of ``batch_size`` samples on ``device``, in
    milliseconds, as ``latency_ms``, and the interquartile range of the timings as
    ``latency_iqr_ms``.

    The network runs in eval mode under ``torch.inference_mode`` (on a copy when it is on
    another device); ``warmup`` passes are run untimed, then ``repeats`` passes are each timed
    with ``clock``. Devices:

    - ``"cpu"``: PyTorch with ``threads`` intra-op threads (set for the measurement and
      restored after);
    - ``"cuda"``, ``"cuda:N"``: PyTorch on that GPU, synchronised around each timing
      (``threads`` does not apply);
    - ``"onnxruntime"``: the network exported with ``torch.onnx.export`` (the exporter
      ``nasforge export --format onnx`` uses, at this batch size) and run by ONNX Runtime's CPU
      execution provider with ``threads`` intra-op threads and one inter-op thread.

    Args:
        device: where to time it (see above).
        threads: CPU threads (for ``"cpu"`` and ``"onnxruntime"``). One by default: the
            figure of a single core, and the only one that is stable when other processes share
            the machine.
        batch_size: samples per pass (1: the latency of one request).
        warmup: untimed passes before the timed ones.
        repeats: timed passes; the median and spread are of these.
        metric: the prefix of the metric names (``"cpu_latency"`` gives ``cpu_latency_ms`` and
            ``cpu_latency_iqr_ms``), so that one evaluator can measure several devices.
        clock: a function returning seconds, monotonic (a fake one in tests).

    Example:
        >>> from nasforge.space import Task
        >>> Latency(device="onnxruntime", threads=2, metric="ort_latency").metric_names
        ('ort_latency_ms', 'ort_latency_iqr_ms')
    """

    name = "latency"
    metric_names = ("latency_ms", "latency_iqr_ms")
    per_arch = True

    def __init__(
        self,
        device: str = "cpu",
        threads: int = 1,
        batch_size: int = 1,
        warmup: int = 10,
        repeats: int = 50,
        metric: str = "latency",
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not isinstance(device, str) or not _DEVICE.fullmatch(device):
            raise ConfigError(f"device={device!r}; allowed: {LATENCY_DEVICES}")
        check_int("threads", threads, 1)
        check_int("batch_size", batch_size, 1)
        check_int("warmup", warmup, 0)
        check_int("repeats", repeats, 1)
        if not isinstance(metric, str) or not _METRIC.fullmatch(metric):
            raise ConfigError(
                f"metric={metric!r}; allowed: a name of letters, digits and underscores"
            )
        if not callable(clock):
            raise ConfigError(f"clock={clock!r}; allowed: a function returning seconds")
        self.device = device
        self.threads = threads
        self.batch_size = batch_size
        self.warmup = warmup
        self.repeats = repeats
        self.metric = metric
        self.clock = clock
        self.metric_names = (f"{metric}_ms", f"{metric}_iqr_ms")

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        x = example_input(task, self.batch_size, None)
        if self.device == "onnxruntime":
            run = onnxruntime_runner(model, x, self.threads)
            return self.summary(self.timings(run))
        target = resolve_device(self.device)
        net = on_device(model, target)
        x = x.to(target)
        sync = (lambda: torch.cuda.synchronize(target)) if target.type == "cuda" else None
        threads = self.threads if target.type == "cpu" else None
        with eval_mode(net), torch.inference_mode(), cpu_threads(threads):
            return self.summary(self.timings(lambda: net(x), sync))

    def timings(
        self, run: Callable[[], Any], sync: Callable[[], None] | None = None
    ) -> list[float]:
        """Seconds of each of ``repeats`` calls of ``run``, after ``warmup`` untimed calls.

        ``sync`` (the CUDA device's synchronisation) is called after the warm-up and at the end
        of each timed call, inside its timing: every timing starts with the device idle and ends
        when the pass has finished.
        """
        for _ in range(self.warmup):
            run()
        if sync is not None:
            sync()
        times = []
        for _ in range(self.repeats):
            start = self.clock()
            run()
            if sync is not None:
                sync()
            times.append(self.clock() - start)
        return times

    def summary(self, seconds: list[float]) -> dict[str, float]:
        """The median and interquartile range (linear interpolation) of ``seconds``, in ms."""
        ms = np.asarray(seconds, dtype=float) * 1000.0
        q25, median, q75 = np.percentile(ms, [25, 50, 75])
        return {self.metric_names[0]: float(median), self.metric_names[1]: float(q75 - q25)}

    def check(self) -> None:
        """Refuse a CUDA device that is not here, or ``"onnxruntime"`` without the package."""
        if self.device == "onnxruntime":
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                raise ConfigError(
                    "latency device='onnxruntime' needs the onnxruntime package (pip install "
                    "onnxruntime); allowed here: 'cpu' or 'cuda'"
                ) from None
        else:
            try:
                resolve_device(self.device)
            except ConfigError as exc:
                raise ConfigError(f"latency {exc}") from None

    def cache_key(self) -> Hashable:
        return (
            "latency",
            self.device,
            self.threads,
            self.batch_size,
            self.warmup,
            self.repeats,
            self.metric,
            self.clock,
        )

    def __repr__(self) -> str:
        return (
            f"Latency(device={self.device!r}, threads={self.threads}, "
            f"batch_size={self.batch_size}, warmup={self.warmup}, repeats={self.repeats})"
        )


def onnx_graph(model: nn.Module, x: torch.Tensor) -> bytes:
    """``model`` (on the CPU, in eval mode) exported by ``torch.onnx.export`` for inputs of
    ``x``'s shape, as the bytes of an ONNX model; the exporter's messages are kept quiet.

    Raises:
        RuntimeError: the export failed (the message is the exporter's first line).
    """
    import logging
    import warnings

    cpu = model if model_device(model).type == "cpu" else copy.deepcopy(model).cpu()
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    try:
        quiet.setLevel(logging.ERROR)
        with (
            eval_mode(cpu),
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(cpu, (x.cpu(),), dynamo=True, external_data=False)
    except Exception as exc:
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise RuntimeError(f"latency on onnxruntime: the export to ONNX failed: {said}") from exc
    finally:
        quiet.setLevel(level)
    assert program is not None
    return bytes(program.model_proto.SerializeToString())


def onnxruntime_runner(model: nn.Module, x: torch.Tensor, threads: int) -> Callable[[], Any]:
    """A function running ``model``, exported to ONNX, on input ``x`` in an ONNX Runtime CPU
    session with ``threads`` intra-op threads and one inter-op thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(
        onnx_graph(model, x), options, providers=["CPUExecutionProvider"]
    )
    feed = {session.get_inputs()[0].name: x.cpu().numpy()}
    return lambda: session.run(None, feed)


__all__ = ["LATENCY_DEVICES", "Latency", "onnx_graph", "onnxruntime_runner"]
