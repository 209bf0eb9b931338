"""``ZeroCostEvaluator``: score architectures at initialisation, without training.

Zero-cost proxies (Abdelfattah et al. 2021, "Zero-Cost Proxies for Lightweight NAS") cost one
forward and backward pass of one mini-batch: thousands of times cheaper than training, and
correlated with trained accuracy well enough to rank or pre-filter candidates. The proxies
themselves live in :mod:`nasforge.estimation.proxies`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from nasforge.data import DATASETS, ArrayDataset, dataset_spec, load_dataset
from nasforge.errors import ConfigError, UnknownNameError
from nasforge.estimation._trial_settings import check_int
from nasforge.estimation.base import Evaluator, TrialContext, check_device_form
from nasforge.estimation.proxies import check_proxy_names, compute_proxies
from nasforge.space import Arch, Space
from nasforge.training import count_parameters, cpu_threads, resolve_device, seeded


class ZeroCostEvaluator(Evaluator):
    """Compute zero-cost proxies of each arch's untrained network on one mini-batch.

    The model is built by the trial's space (``ctx.space.build(arch, task)``) with its initial
    weights seeded by the trial's seed; the mini-batch is ``batch_size`` training samples drawn
    with a generator seeded by the same seed, from the training part of the split
    :class:`~nasforge.estimation.train.TrainEvaluator` makes with the same ``val_fraction`` and
    ``data_seed`` (validation samples are never seen). The same seed gives the same scores.

    Metrics: one per proxy (default: all of :func:`~nasforge.estimation.proxies.list_proxies`:
    ``synflow``, ``naswot``, ``jacob_cov``, ``snip``, ``grad_norm``, ``params``), each oriented
    so that **larger is better**, and always ``params`` (the parameter count, which is also a
    proxy; maximise it only on purpose). Degenerate archs get a finite lowest score, never NaN.

    Args:
        dataset: a dataset name (``"mnist1d"``, ``"digits"``, ``"cifar10"``, ...), a name with
            options ``{"name": ..., "options": {...}}``, or user data as
            :func:`nasforge.data.load_dataset` accepts (inputs normalised as the dataset says,
            never augmented).
        proxies: the proxies to compute (default: all).
        batch_size: samples in the mini-batch (Abdelfattah et al. use 64).
        val_fraction: share of the training set held out (not used for scoring).
        device: ``"auto"`` (the trial context's device, else CUDA when available, else CPU),
            ``"cpu"``, ``"cuda"`` or ``"cuda:1"``.
        data_seed: seed of the validation split.
        threads: torch intra-op CPU threads while a trial runs (restored afterwards).

    Example:
        >>> import numpy as np
        >>> from nasforge.spaces import NB201Space
        >>> space = NB201Space(n_cells=1, channels=8)
        >>> ev = ZeroCostEvaluator("digits", proxies=["synflow", "naswot"], batch_size=16)
        >>> arch = space.sample(np.random.default_rng(0))
        >>> sorted(ev.evaluate(arch, TrialContext(space=space, seed=0)))
        ['naswot', 'params', 'synflow']
    """

    runtime_options = ("device", "threads")

    def __init__(
        self,
        dataset: str | object = "mnist1d",
        proxies: list[str] | None = None,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        device: str = "auto",
        data_seed: int = 0,
        threads: int | None = None,
    ) -> None:
        if isinstance(dataset, str) and dataset not in DATASETS:
            raise UnknownNameError("dataset", dataset, DATASETS.names())
        if isinstance(dataset, Mapping):  # {name, options}: checked now, loaded on first use
            dataset_spec(dataset)
        names = check_proxy_names(proxies)
        check_int("batch_size", batch_size, 2)
        check_int("data_seed", data_seed, None)
        if threads is not None:
            check_int("threads", threads, 1)
        if (
            isinstance(val_fraction, bool)
            or not isinstance(val_fraction, (int, float))
            or not 0.0 <= val_fraction < 1.0
        ):
            raise ConfigError(f"val_fraction={val_fraction!r}; allowed: 0 <= val_fraction < 1")
        check_device_form(device)
        self.dataset = dataset
        self.proxies = names
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.device = device
        self.data_seed = data_seed
        self.threads = threads
        self.metric_names = tuple(dict.fromkeys([*names, "params"]))
        self._data: ArrayDataset | None = None
        self._train: tuple[torch.Tensor, torch.Tensor] | None = None

    def __repr__(self) -> str:
        name = self.dataset if isinstance(self.dataset, str) else type(self.dataset).__name__
        if isinstance(self.dataset, Mapping):
            name = str(self.dataset.get("name"))
        return f"ZeroCostEvaluator(dataset={name!r}, proxies={self.proxies!r})"

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_train": None}

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        with cpu_threads(self.threads):
            return self._scores(arch, ctx, self.proxies)

    def check_fidelity(self, fidelity: Mapping[str, Any], space: Space) -> None:
        """Refuse every fidelity key: the proxies train nothing, so none would change a score."""
        for key, value in fidelity.items():
            if value is not None:
                raise ConfigError(
                    f"fidelity has unknown key {key!r}; allowed: none (zero-cost proxies train "
                    "nothing)"
                )

    def check_device(self, device: str) -> None:
        """Refuse a device that is not on this machine: this evaluator's ``device`` option, or
        when that is ``"auto"`` the trial context's ``device``."""
        resolve_device(self.device if self.device != "auto" else device)

    def fingerprint(self) -> dict[str, str]:
        """The dataset's name and a SHA-256 of its arrays (loads the data)."""
        data = self.load_data()
        return {"data": str(data.name), "data_sha256": data.sha256()}

    def _scores(self, arch: Arch, ctx: TrialContext, names: list[str]) -> dict[str, float]:
        if ctx.space is None:
            raise ConfigError(
                "ZeroCostEvaluator needs the trial's space (ctx.space) to build a model"
            )
        device = resolve_device(self.device if self.device != "auto" else ctx.device)
        x, y = self.minibatch(ctx.seed)
        with seeded(ctx.seed, torch.device("cpu")):  # the initial weights; global state kept
            model = ctx.space.build(arch, self.load_data().task)
        metrics = compute_proxies(model, x, y, names, device=device)
        metrics["params"] = float(count_parameters(model))
        return metrics

    def minibatch(self, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``batch_size`` training samples (on the CPU) that a trial of ``seed`` scores on."""
        x_train, y_train = self._training_tensors()
        generator = torch.Generator().manual_seed(int(seed))
        index = torch.randperm(len(y_train), generator=generator)[: self.batch_size]
        return x_train[index], y_train[index]

    def scorer(
        self, space: Space, proxy: str, seed: int = 0, device: str | None = None
    ) -> Callable[[Arch], float]:
        """A function ``arch -> score`` of one proxy, for :class:`~nasforge.strategies.prefilter.
        ZeroCostPrefilter` (strategies never import torch code: this is injected).

        Every arch is scored with the same ``seed`` (initial weights and mini-batch), so the
        score depends on the arch alone.

        Example:
            >>> from nasforge.spaces import NB201Space
            >>> space = NB201Space(n_cells=1, channels=8)
            >>> score = ZeroCostEvaluator("digits", batch_size=16).scorer(space, "naswot")
            >>> score(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
            -1.0
        """
        (name,) = check_proxy_names([proxy], field="proxy")
        ctx = TrialContext(space=space, seed=seed, device=device or self.device)

        def score(arch: Arch) -> float:
            with cpu_threads(self.threads):
                return self._scores(arch, ctx, [name])[name]

        return score

    def load_data(self) -> ArrayDataset:
        """The dataset (loaded on first use, then kept)."""
        if self._data is None:
            if isinstance(self.dataset, (str, ArrayDataset, Mapping)):
                self._data = load_dataset(self.dataset)
            else:
                self._data = load_dataset(self.dataset, seed=self.data_seed)
        return self._data

    def _training_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._train is None:
            data = self.load_data()
            if self.val_fraction > 0:
                x, y, _, _ = data.split_validation(self.val_fraction, self.data_seed)
            else:
                x, y = data.x_train, data.y_train
            if len(y) < self.batch_size:
                raise ConfigError(
                    f"batch_size={self.batch_size} but the training split has {len(y)} "
                    f"samples; allowed: batch_size <= {len(y)}"
                )
            self._train = (torch.as_tensor(data.float_inputs(x)), torch.as_tensor(y))
        return self._train


__all__ = ["ZeroCostEvaluator"]
