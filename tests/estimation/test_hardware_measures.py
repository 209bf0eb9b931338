"""Hardware measures (FLOPs, peak memory, latency) and the cost evaluator: the counts against
hand counts, the latency's warm-up and repeats against a fake clock, each network measured
once, and a search over costs that trains nothing."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import nasforge as nf
from nasforge.errors import ConfigError
from nasforge.estimation import EVALUATORS, Measure, TrialContext, create_evaluator
from nasforge.estimation.cost import CostEvaluator
from nasforge.estimation.hardware import FlopCount, PeakMemory
from nasforge.estimation.latency import Latency
from nasforge.estimation.measures import create_measure, resolve_measures
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import build_experiment, parse_config
from nasforge.space import Task
from nasforge.spaces import NB201Space

ARCH = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
TASK = Task((1, 16), 3)


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return NB201Space(n_cells=1, channels=4)


class FakeClock:
    """A clock that moves only when the fake network runs; counts how often it is read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


class Ticking(nn.Module):
    """Each forward pass advances the clock by the next of ``durations`` (seconds)."""

    def __init__(self, clock: FakeClock, durations: list[float]) -> None:
        super().__init__()
        self.clock = clock
        self.durations = list(durations)
        self.passes = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.clock.now += self.durations[self.passes]
        self.passes += 1
        return x


class Counting(Measure):
    """A per-arch measure that counts its calls."""

    name = "counting"
    metric_names = ("calls",)
    per_arch = True

    def __init__(self) -> None:
        self.calls = 0

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        self.calls += 1
        return {"calls": float(self.calls)}


# FLOPs


def test_flops_of_a_linear_and_convolutions_are_the_hand_count() -> None:
    assert FlopCount().measure(nn.Linear(5, 3), Task((5,), 3), None) == {"flops": 2 * 5 * 3}
    # 8 channels of 5x5 outputs (9x9 input, stride 2), each 3*3*3 multiply-adds
    conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    assert FlopCount().measure(conv, Task((3, 9, 9), 8), None) == {"flops": 2 * 8 * 25 * 27}
    # grouped 1-D: 4 output channels of length 8, each (2 / 2 groups) * 3 multiply-adds
    grouped = nn.Conv1d(2, 4, kernel_size=3, groups=2)
    assert FlopCount().measure(grouped, Task((2, 10), 4), None) == {"flops": 2 * 4 * 8 * 3}
    mflops = create_measure("mflops").measure(conv, Task((3, 9, 9), 8), None)
    assert mflops == {"mflops": pytest.approx(2 * 8 * 25 * 27 / 1e6)}


def test_flops_grow_with_the_network_and_leave_its_mode(space: NB201Space) -> None:
    arch = space.parse(ARCH)
    small, large = space.build(arch, TASK), NB201Space(n_cells=1, channels=8).build(arch, TASK)
    small.train()
    flops = FlopCount().measure(small, TASK, None)["flops"]
    assert small.training and all(m.training for m in small.modules())
    assert 0 < flops < FlopCount().measure(large, TASK, None)["flops"]


def test_params_in_millions() -> None:
    assert create_measure("params_m").measure(nn.Linear(999, 1000), Task((999,), 1000), None) == {
        "params_m": 1.0
    }


# latency


def test_warm_up_passes_are_not_timed_and_exactly_repeats_are() -> None:
    clock = FakeClock()
    # three warm-up passes that take 100 s each: timed, they would be the median
    net = Ticking(clock, [100.0] * 3 + [0.004, 0.001, 0.005, 0.002, 0.003])
    latency = Latency(device="cpu", threads=1, warmup=3, repeats=5, clock=clock)
    metrics = latency.measure(net, Task((2,), 2), None)
    assert net.passes == 8 and clock.reads == 2 * 5  # start and end of each timed pass only
    assert metrics["latency_ms"] == pytest.approx(3.0)  # median of 1..5 ms
    assert metrics["latency_iqr_ms"] == pytest.approx(4.0 - 2.0)  # 75th - 25th percentile


def test_no_warm_up_and_one_repeat() -> None:
    clock = FakeClock()
    net = Ticking(clock, [0.25])
    metrics = Latency(warmup=0, repeats=1, clock=clock).measure(net, Task((2,), 2), None)
    assert metrics == {"latency_ms": 250.0, "latency_iqr_ms": 0.0} and clock.reads == 2


def test_the_timings_call_sync_inside_each_timing() -> None:
    clock, events = FakeClock(), []
    latency = Latency(warmup=2, repeats=3, clock=clock)

    def run() -> None:
        events.append("run")

    def sync() -> None:
        clock.now += 1.0  # the device finishing its work: inside the timing
        events.append("sync")

    assert latency.timings(run, sync) == [1.0, 1.0, 1.0]
    assert events == ["run", "run", "sync"] + ["run", "sync"] * 3


def test_latency_on_the_cpu_restores_threads_and_mode(space: NB201Space) -> None:
    model = space.build(space.parse(ARCH), TASK).train()
    threads = torch.get_num_threads()
    metrics = Latency(device="cpu", threads=1, warmup=1, repeats=3).measure(model, TASK, None)
    assert set(metrics) == {"latency_ms", "latency_iqr_ms"}
    assert metrics["latency_ms"] > 0 and metrics["latency_iqr_ms"] >= 0
    assert torch.get_num_threads() == threads and model.training


def test_latency_in_onnxruntime_on_a_tiny_model() -> None:
    pytest.importorskip("onnxruntime")
    model = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))
    latency = Latency(
        device="onnxruntime", threads=1, batch_size=2, warmup=1, repeats=3, metric="ort_latency"
    )
    latency.check()
    metrics = latency.measure(model, TASK, None)
    assert set(metrics) == {"ort_latency_ms", "ort_latency_iqr_ms"}
    assert math.isfinite(metrics["ort_latency_ms"]) and metrics["ort_latency_ms"] > 0


# peak memory


def test_peak_memory_counts_the_live_activations_exactly() -> None:
    net = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 8))
    # input (256 KiB), first Linear's output and ReLU's (1 MiB each) at once
    assert PeakMemory(batch_size=256).measure(net, Task((256,), 8), None) == {
        "peak_memory_mib": 2.25
    }


def test_peak_memory_is_positive_and_grows_with_the_batch(space: NB201Space) -> None:
    model = space.build(space.parse(ARCH), TASK)
    one = PeakMemory(batch_size=1).measure(model, TASK, None)["peak_memory_mib"]
    many = PeakMemory(batch_size=32).measure(model, TASK, None)["peak_memory_mib"]
    training = PeakMemory(batch_size=32, grad=True).measure(model, TASK, None)["peak_memory_mib"]
    assert 0 < one < many < training  # training keeps activations for the backward pass
    assert model.training  # as built: its mode is restored


# each network measured once


def test_a_network_is_measured_once_and_not_even_built_again(
    space: NB201Space, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting()
    evaluator = CostEvaluator(["flops", counting], input_shape=[1, 16], num_classes=3)
    builds: list[int] = []
    build = NB201Space.build
    monkeypatch.setattr(NB201Space, "build", lambda *a, **k: builds.append(1) or build(*a, **k))
    arch = space.parse(ARCH)
    first = evaluator.evaluate(arch, TrialContext(space=space, seed=0))
    again = evaluator.evaluate(arch, TrialContext(space=space, seed=5))  # another seed, same net
    assert first == again == {"flops": first["flops"], "calls": 1.0}
    assert counting.calls == 1 and len(builds) == 1
    smaller = TrialContext(space=space, fidelity={"channels": 2})
    assert evaluator.evaluate(arch, smaller)["calls"] == 2.0  # another network size
    other = space.parse(ARCH.replace("none~1|+", "skip_connect~1|+"))
    assert evaluator.evaluate(other, TrialContext(space=space))["calls"] == 3.0  # another arch


def test_equal_measures_share_results_and_options_tell_them_apart() -> None:
    assert Latency(threads=2).cache_key() == Latency(threads=2).cache_key()
    assert Latency(threads=2).cache_key() != Latency(threads=1).cache_key()
    assert Latency(metric="a").cache_key() != Latency(metric="b").cache_key()
    assert PeakMemory(batch_size=2).cache_key() != PeakMemory(batch_size=2, grad=True).cache_key()
    assert FlopCount().cache_key() != FlopCount(millions=True).cache_key()


# the cost evaluator


def test_a_cost_search_returns_the_costs_and_trains_nothing(
    space: NB201Space, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cost evaluation ran a backward pass")

    monkeypatch.setattr(torch.Tensor, "backward", no_training)
    options = {"measures": ["params_m", "mflops", "peak_memory"], "dataset": "digits"}
    exp = nf.Experiment(
        space,
        strategy="random",
        evaluator="cost",
        evaluator_options=options,
        objectives={"params_m": "min", "mflops": "min"},
        storage="sqlite:///:memory:",
    )
    exp.run(max_trials=5, progress=False)
    trials = exp.trials()
    assert len(trials) == 5 and all(t.status.value == "complete" for t in trials)
    for trial in trials:
        assert set(trial.metrics) == {"params_m", "mflops", "peak_memory_mib"}
        assert trial.metrics["params_m"] > 0 and trial.metrics["peak_memory_mib"] > 0
    assert exp.pareto_front()
    assert exp.evaluator.fingerprint() == {"task": "input_shape=[1, 8, 8], num_classes=10"}


def test_the_cost_evaluator_from_yaml_with_measure_options(tmp_path: Path) -> None:
    measures = ["flops", {"name": "latency", "options": {"threads": 1, "repeats": 3}}]
    parsed = parse_config(
        {
            "space": {"name": "nb201", "options": {"n_cells": 1, "channels": 4}},
            "strategy": "random",
            "evaluator": {
                "name": "cost",
                "options": {"input_shape": [1, 16], "num_classes": 3, "measures": measures},
            },
            "objectives": {"latency_ms": "min", "flops": "min"},
            "storage": f"sqlite:///{tmp_path / 'runs.db'}",
        }
    )
    experiment = build_experiment(parsed)
    assert experiment.evaluator.metric_names == ("flops", "latency_ms", "latency_iqr_ms")
    found = EVALUATORS.options_of(experiment.evaluator)
    assert found is not None and found[1]["measures"] == measures  # rebuilt on resume
    assert create_evaluator("cost", **found[1]).metric_names == experiment.evaluator.metric_names


def test_a_training_evaluator_takes_hardware_measures() -> None:
    evaluator = TrainEvaluator("digits", measures=["params", "flops", {"name": "latency"}])
    assert evaluator.metric_names[4:7] == ("params", "flops", "latency_ms")


# bad options


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Latency(device="gpu"), "device='gpu'; allowed: 'cpu', 'cuda', 'cuda:N' or"),
        (lambda: Latency(device="auto"), "device='auto'; allowed: 'cpu'"),
        (lambda: Latency(threads=0), "threads=0; allowed: an integer >= 1"),
        (lambda: Latency(repeats=0), "repeats=0; allowed: an integer >= 1"),
        (lambda: Latency(warmup=-1), "warmup=-1; allowed: an integer >= 0"),
        (lambda: Latency(batch_size=True), "batch_size=True; allowed: an integer >= 1"),
        (lambda: Latency(metric="lat ms"), "metric='lat ms'; allowed: a name of letters"),
        (lambda: PeakMemory(batch_size=0), "batch_size=0; allowed: an integer >= 1"),
        (lambda: PeakMemory(grad="yes"), "grad='yes'; allowed: true or false"),
        (lambda: FlopCount(millions=1), "millions=1; allowed: true or false"),
        (lambda: CostEvaluator([]), "measures=[]; allowed: at least one measure"),
        (lambda: CostEvaluator(input_shape=[1, 8]), "input_shape is given alone; allowed:"),
        (lambda: CostEvaluator(num_classes=3), "num_classes is given alone; allowed:"),
        (lambda: CostEvaluator(input_shape=[8], num_classes=3), "input_shape=[8]; allowed:"),
        (
            lambda: CostEvaluator(dataset="digits", input_shape=[1, 8], num_classes=3),
            "dataset='digits' and input_shape are both given; allowed: one of them",
        ),
        (lambda: CostEvaluator(channels=0), "channels=0; allowed: an integer >= 1"),
        (lambda: CostEvaluator(device="gpu"), "device='gpu' is not a device; allowed:"),
        (
            lambda: resolve_measures([{"name": "latency", "options": {"repeat": 3}}]),
            "measures[0]: measure 'latency' has no option 'repeat'; allowed: device, threads,",
        ),
        (
            lambda: resolve_measures([{"name": "latency", "options": {"device": "tpu"}}]),
            "measures[0]: device='tpu'; allowed:",
        ),
        (lambda: resolve_measures([{"latency": {}}]), "measures[0] has unknown key 'latency';"),
        (
            lambda: resolve_measures(["latency", {"name": "latency"}]),
            "metric 'latency_ms' of measure 'latency' is also returned by measure 'latency'",
        ),
    ],
)
def test_bad_options_are_refused_in_one_line(make: object, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        make()  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_a_fidelity_that_trains_is_refused(space: NB201Space) -> None:
    evaluator = CostEvaluator(input_shape=[1, 16], num_classes=3)
    with pytest.raises(ConfigError, match=r"^fidelity has unknown key 'epochs'; allowed: "):
        evaluator.check_fidelity({"epochs": 3}, space)
    with pytest.raises(ConfigError, match=r"fidelity 'channels'=0; allowed: an integer >= 1"):
        evaluator.check_fidelity({"channels": 0}, space)
    evaluator.check_fidelity({"channels": 2}, space)
    with pytest.raises(ConfigError, match=r"^fidelity has unknown key 'epochs'"):
        nf.Experiment(
            space,
            strategy="random",
            evaluator=evaluator,
            objectives={"flops": "min"},
            fidelity={"epochs": 3},
            storage="sqlite:///:memory:",
        )


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_latency_device_that_is_not_here_is_refused_before_the_search() -> None:
    with pytest.raises(ConfigError, match=r"^latency device='cuda' but CUDA is not available"):
        Latency(device="cuda").check()
    evaluator = CostEvaluator([{"name": "latency", "options": {"device": "cuda:1"}}])
    with pytest.raises(ConfigError, match=r"^latency device='cuda:1' but CUDA"):
        evaluator.check_device("cpu")
