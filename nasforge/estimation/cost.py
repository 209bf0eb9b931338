"""``CostEvaluator``: what an architecture costs to run, measured on its untrained network.

Parameters, FLOPs, peak memory and latency depend on the network, not on its weights, so they
can be known before (or instead of) training: for a search over hardware cost alone, or for
constraints checked before a candidate is trained. The evaluator builds each arch's network as
:class:`~nasforge.estimation.train.TrainEvaluator` would (the same network sizes and the same
code), runs its measures (:mod:`nasforge.estimation.measures`) and trains nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from nasforge.data import DATASETS, ArrayDataset, load_dataset
from nasforge.errors import ConfigError, UnknownNameError, one_of
from nasforge.estimation._trial_settings import (
    FIDELITY_KEYS,
    check_fidelity,
    check_int,
    network_key,
)
from nasforge.estimation.base import Evaluator, TrialContext, check_device_form
from nasforge.estimation.measures import (
    Measure,
    MeasureCache,
    cached_metrics,
    check_measures,
    resolve_measures,
    run_measures,
)
from nasforge.space import Arch, ModelSpace, Space, Task
from nasforge.training import build_model, resolve_device, seeded


class CostEvaluator(Evaluator):
    """Measure each arch's untrained network: parameters, FLOPs, memory, latency; no training.

    The network is built by the trial's space at this evaluator's network sizes (``n_cells``,
    ``channels``; a fidelity may set the sizes the space declares, nothing else), seeded by
    the trial's seed, put in eval mode on ``device``, and measured by ``measures``: names of
    :func:`~nasforge.estimation.measures.list_measures` (``params``, ``params_m``, ``flops``,
    ``mflops``, ``peak_memory``, ``latency``), ``{"name": ..., "options": {...}}`` mappings
    (``{"name": "latency", "options": {"device": "onnxruntime", "threads": 4}}``) or
    :class:`~nasforge.estimation.measures.Measure` objects. The metrics are the measures'.

    Every value of a measure that depends on the network alone (all the built-in ones) is
    measured once per network, task and device: a strategy proposing an arch again gets the
    stored value, and a network whose every measure is stored is not even built.

    The task (input shape and number of classes) is a dataset's, or given directly with
    ``input_shape`` and ``num_classes`` (no data is loaded then).

    Args:
        measures: what to measure (at least one).
        dataset: a dataset name (``"mnist1d"``, ``"digits"``) or data as
            :func:`nasforge.data.load_dataset` accepts, whose task the networks are built for;
            ``None``: MNIST-1D's, unless ``input_shape`` and ``num_classes`` are given.
        input_shape: the shape of one input sample, ``(channels, length)`` or
            ``(channels, height, width)``, with ``num_classes`` instead of a dataset.
        num_classes: the number of outputs, with ``input_shape``.
        n_cells: cells per stage of the network, replacing the space's (``None``: the
            space's).
        channels: width C of the network's first stage, replacing the space's.
        device: where the network is built and measured (``peak_memory`` uses CUDA's allocator
            on a GPU); ``"auto"`` is the trial context's device. A latency names its own
            device.

    Example:
        >>> from nasforge.spaces import NB201Space
        >>> space = NB201Space(n_cells=1, channels=8)
        >>> ev = CostEvaluator(["params", "mflops"], input_shape=[1, 40], num_classes=10)
        >>> arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|"
        ...                    "+|skip_connect~0|none~1|none~2|")
        >>> ev.evaluate(arch, TrialContext(space=space))
        {'params': 15314.0, 'mflops': 0.15616}
    """

    def __init__(
        self,
        measures: Sequence[str | Measure | Mapping[str, Any]] = ("params", "flops"),
        dataset: str | object | None = None,
        input_shape: Sequence[int] | None = None,
        num_classes: int | None = None,
        n_cells: int | None = None,
        channels: int | None = None,
        device: str = "cpu",
    ) -> None:
        if isinstance(measures, (list, tuple)) and not measures:
            raise ConfigError("measures=[]; allowed: at least one measure")
        measured = resolve_measures(measures)
        if isinstance(dataset, str) and dataset not in DATASETS:
            raise UnknownNameError("dataset", dataset, DATASETS.names())
        if (input_shape is None) != (num_classes is None):
            given = "input_shape" if num_classes is None else "num_classes"
            raise ConfigError(
                f"{given} is given alone; allowed: input_shape and num_classes together, or "
                "neither (the dataset's task)"
            )
        if input_shape is not None:
            if dataset is not None:
                raise ConfigError(
                    f"dataset={_name(dataset)!r} and input_shape are both given; allowed: "
                    "one of them (input_shape with num_classes says the task without data)"
                )
            _check_shape(input_shape)
            check_int("num_classes", num_classes, 1)
        for field, value in (("n_cells", n_cells), ("channels", channels)):
            if value is not None:
                check_int(field, value, 1)
        check_device_form(device)
        self.measures = measures
        self.dataset = dataset
        self.input_shape = input_shape
        self.num_classes = num_classes
        self.n_cells = n_cells
        self.channels = channels
        self.device = device
        self.metric_names = tuple(name for m in measured for name in m.metric_names)
        self._measures = measured
        self._measured: MeasureCache = {}
        self._data: ArrayDataset | None = None

    def __repr__(self) -> str:
        names = ", ".join(measure.name for measure in self._measures)
        return f"CostEvaluator(measures=[{names}], task={self.task()})"

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        if ctx.space is None:
            raise ConfigError("CostEvaluator needs the trial's space (ctx.space) to build a model")
        self.check_fidelity(ctx.fidelity, ctx.space)
        _, sizes = check_fidelity(ctx.fidelity, ctx.space, self.size_overrides())
        device = resolve_device(self.device if self.device != "auto" else ctx.device)
        task = self.task()
        network = network_key(ctx.space, arch, sizes)
        known = cached_metrics(self._measures, task, device, network, self._measured)
        if known is not None:
            return known
        with seeded(ctx.seed, torch.device("cpu")):  # the initial weights; global state kept
            model = build_model(ctx.space, arch, task, sizes)
        model = model.to(device).eval()
        return run_measures(self._measures, model, task, device, network, self._measured)

    def task(self) -> Task:
        """What the networks are built for: ``input_shape`` and ``num_classes``, else the
        dataset's task (the dataset is loaded on first use)."""
        if self.input_shape is not None and self.num_classes is not None:
            return Task(tuple(int(n) for n in self.input_shape), int(self.num_classes))
        data = self.load_data()
        assert data is not None
        return data.task

    def load_data(self) -> ArrayDataset | None:
        """The dataset whose task the networks are built for (loaded on first use); ``None``
        when ``input_shape`` and ``num_classes`` say the task."""
        if self.input_shape is not None:
            return None
        if self._data is None:
            self._data = load_dataset("mnist1d" if self.dataset is None else self.dataset)
        return self._data

    def max_step(self, fidelity: Mapping[str, Any]) -> int | None:
        """``None``: a cost evaluation reports no steps."""
        return None

    def check_fidelity(self, fidelity: Mapping[str, Any], space: Space) -> None:
        """Refuse a fidelity key other than a network size ``space`` declares (nothing is
        trained, so ``epochs`` and ``train_fraction`` would change nothing), and a bad size."""
        declared = tuple(space.size_options) if isinstance(space, ModelSpace) else ()
        for key, value in fidelity.items():
            if value is not None and (key in FIDELITY_KEYS or key not in declared):
                allowed = one_of(declared) if declared else "none"
                raise ConfigError(
                    f"fidelity has unknown key {key!r}; allowed: {allowed} (a cost evaluator "
                    "trains nothing; it measures the network at the sizes given)"
                )
        check_fidelity(fidelity, space, self.size_overrides())

    def check_device(self, device: str) -> None:
        """Refuse this evaluator's device (or, when it is ``"auto"``, the trial context's) and
        any measure's device (a latency's) that is not on this machine."""
        resolve_device(self.device if self.device != "auto" else device)
        check_measures(self._measures)

    def fingerprint(self) -> dict[str, str]:
        """The task the networks are built for (their costs depend on nothing else of the
        data)."""
        task = self.task()
        return {"task": f"input_shape={list(task.input_shape)}, num_classes={task.num_classes}"}

    def size_overrides(self) -> dict[str, int]:
        """The ``n_cells`` and ``channels`` options that are set (they replace the space's)."""
        options = {"n_cells": self.n_cells, "channels": self.channels}
        return {key: value for key, value in options.items() if value is not None}


def _check_shape(shape: object) -> None:
    ok = (
        isinstance(shape, (list, tuple))
        and len(shape) in (2, 3)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    )
    if not ok:
        raise ConfigError(
            f"input_shape={shape!r}; allowed: (channels, length) or (channels, height, width), "
            "positive integers"
        )


def _name(dataset: object) -> str:
    return dataset if isinstance(dataset, str) else type(dataset).__name__


__all__ = ["CostEvaluator"]
