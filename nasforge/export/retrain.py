"""Retrain a found architecture from scratch with several seeds, and keep the weights.

A search ranks architectures by a noisy, often cheapened estimate (fewer epochs, a subset of
the data, early stopping). What a user ships is the chosen architecture trained again, from
scratch and in full, with more than one seed so that the spread of its test accuracy is known:
the "final evaluation" step of Zoph et al. 2018 ("Learning Transferable Architectures",
section 4) and Liu et al. 2019 (DARTS, section 3.3), and the mean ± std over seeds that
Lindauer & Hutter 2020 ("Best Practices for Scientific Research on NAS") ask results to report.

Each seed's weights and metrics are stored with the experiment as an artifact of
``kind="retrain"``; a later run with the same trial, seed and epochs reuses it instead of
training again, so an interrupted retrain resumes.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.estimation import Evaluator
from nasforge.export.source import ModelSpec, StoredTrial, open_source
from nasforge.space import Space
from nasforge.storage import DEFAULT_STORAGE, ArtifactRecord, Storage

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console

    from nasforge.estimation.train import TrainEvaluator

#: artifact kind of retrained weights
RETRAIN_KIND = "retrain"


@dataclass(frozen=True)
class SeedResult:
    """One seed of a retrain: its metrics and the artifact holding its weights."""

    seed: int
    metrics: dict[str, float]
    artifact_id: int
    reused: bool = False

    @property
    def test_acc(self) -> float:
        return float(self.metrics.get("test_acc", math.nan))


@dataclass(frozen=True)
class RetrainResult:
    """The retrain of one trial over several seeds; ``std`` is the sample standard deviation
    (ddof=1, the estimate of the spread over seeds not yet run), ``nan`` for one seed."""

    experiment: str
    trial: int
    arch: str
    epochs: int
    seeds: list[SeedResult] = field(default_factory=list)

    def _values(self, metric: str) -> list[float]:
        return [float(s.metrics.get(metric, math.nan)) for s in self.seeds]

    def mean(self, metric: str = "test_acc") -> float:
        import numpy as np

        return float(np.mean(self._values(metric)))

    def std(self, metric: str = "test_acc") -> float:
        import numpy as np

        values = self._values(metric)
        return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan

    def summary(self) -> str:
        """``test_acc 97.10 ± 0.35 (sample std) over seeds 0, 1, 2 (epochs=20)``; one seed has
        no spread: ``test_acc 97.10 over seed 0 (epochs=20)``."""
        seeds = ", ".join(str(s.seed) for s in self.seeds)
        if len(self.seeds) == 1:
            return f"test_acc {self.mean():.2f} over seed {seeds} (epochs={self.epochs})"
        return (
            f"test_acc {self.mean():.2f} ± {self.std():.2f} (sample std) over seeds {seeds} "
            f"(epochs={self.epochs})"
        )


#: ``(seed, epoch, metrics)`` after each epoch of each seed
EpochCallback = Callable[[int, int, dict[str, float]], None]


def retrain(
    name: str,
    storage: str | Path | Storage = DEFAULT_STORAGE,
    *,
    trial: int | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    epochs: int | None = None,
    device: str | None = None,
    space: Space | None = None,
    evaluator: Evaluator | None = None,
    force: bool = False,
    progress: bool = False,
    console: Console | None = None,
    on_start: Callable[[StoredTrial, int], None] | None = None,
    on_seed: Callable[[SeedResult], None] | None = None,
) -> RetrainResult:
    """Train trial ``trial`` (default: the best) of experiment ``name`` from scratch per seed.

    Full fidelity: the evaluator's own options (epochs, data, network size), without the
    cheaper ``fidelity`` the search may have used, and ``epochs`` when given. Each seed's
    weights (a ``torch.save``d state dict), ``test_acc``/``val_acc`` and timing are stored with
    the experiment; :func:`nasforge.export.export_model` then exports them.

    Args:
        name: the experiment.
        storage: its store (URL, SQLite file or ``Storage``).
        trial: the trial number; ``None`` takes the best complete trial.
        seeds: one training run per seed (initial weights and batch order).
        epochs: training epochs (default: the evaluator's).
        device: ``"cpu"``, ``"cuda"``, ... (default: the experiment config's, else ``"auto"``).
        space, evaluator: needed for an experiment made from Python (the search's own objects);
            ``evaluator`` must train (:class:`~nasforge.estimation.train.TrainEvaluator`).
        force: train again even when a seed's weights with these epochs are stored.
        progress: show a progress bar over seeds and epochs.
        console: where the bar is drawn (default: standard output); print each seed's result
            through the same console from ``on_seed`` and it appears above the bar.
        on_start: called with the trial's source and the epochs once the inputs are checked.
        on_seed: called with each seed's result as soon as it is known.

    Raises:
        NasforgeError: unknown experiment or trial, an evaluator that cannot train, bad seeds.

    Example:
        >>> result = retrain("mnist1d-nb201", "runs.db", seeds=[0, 1])  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
        test_acc 98.85 ± 0.21 (sample std) over seeds 0, 1 (epochs=20)
    """
    seeds = check_seeds(seeds)
    source = open_source(name, storage, trial, space, evaluator)
    trainer = _trainer(source)
    bad_epochs = isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1
    if epochs is not None and bad_epochs:
        raise ConfigError(f"epochs={epochs!r}; allowed: an integer >= 1")
    full_epochs = int(epochs if epochs is not None else trainer.epochs)
    device = device or source.device
    spec = source.model_spec()
    stored = {} if force else _stored_by_seed(source, full_epochs)
    result = RetrainResult(name, source.trial.number, spec.arch, full_epochs)
    if on_start is not None:
        on_start(source, full_epochs)
    bar = _Bar(len(seeds) * full_epochs, console) if progress else None
    try:
        for seed in seeds:
            if seed in stored:
                done = SeedResult(seed, stored[seed].metrics, stored[seed].id, reused=True)
                if bar is not None:
                    bar.advance(full_epochs, seed)
            else:
                done = _train_seed(source, trainer, spec, seed, full_epochs, device, bar)
            result.seeds.append(done)
            if on_seed is not None:
                on_seed(done)
    finally:
        if bar is not None:
            bar.close()
    return result


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """The seeds as a list of distinct integers >= 0 (raises ``ConfigError`` otherwise)."""
    out = list(seeds)
    if not out or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in out):
        raise ConfigError(f"seeds={out!r}; allowed: a non-empty list of integers >= 0")
    if len(set(out)) != len(out):
        raise ConfigError(f"seeds={out!r} names a seed twice; allowed: distinct seeds")
    return out


def retrained(storage: Storage, experiment_id: int, trial: int) -> list[ArtifactRecord]:
    """The stored retrain artifacts of one trial, the newest per (seed, epochs) only."""
    latest: dict[tuple[int | None, Any], ArtifactRecord] = {}
    for record in storage.artifacts(experiment_id, trial, kind=RETRAIN_KIND):
        latest[(record.seed, record.info.get("epochs"))] = record  # oldest first: newest wins
    return list(latest.values())


def _trainer(source: StoredTrial) -> TrainEvaluator:
    from nasforge.estimation.train import TrainEvaluator

    if isinstance(source.evaluator, TrainEvaluator):
        return source.evaluator
    what = type(source.evaluator).__name__ if source.evaluator is not None else "none"
    raise ConfigError(
        f"evaluator={what}: experiment {source.record.name!r} cannot be retrained with it; "
        "allowed: the 'train' evaluator (CLI: --dataset NAME; Python: "
        "evaluator=TrainEvaluator(...))"
    )


def _stored_by_seed(source: StoredTrial, epochs: int) -> dict[int, ArtifactRecord]:
    found = retrained(source.storage, source.record.id, source.trial.number)
    return {
        r.seed: r
        for r in found
        if r.seed is not None and r.info.get("epochs") == epochs and r.size > 0
    }


def _train_seed(
    source: StoredTrial,
    trainer: TrainEvaluator,
    spec: ModelSpec,
    seed: int,
    epochs: int,
    device: str,
    bar: _Bar | None,
) -> SeedResult:
    import torch

    def on_epoch(epoch: int, metrics: Any) -> None:
        if bar is not None:
            bar.advance(1, seed, epoch, metrics.get("val_acc"))

    trainer.load_data()  # loaded once and kept: ``seconds`` times the training alone
    start = time.perf_counter()
    model, metrics = trainer.fit(
        source.arch, source.space, seed=seed, epochs=epochs, device=device, on_epoch=on_epoch
    )
    seconds = time.perf_counter() - start
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    del model
    metrics = {**metrics, "seconds": seconds}
    dataset = trainer.dataset  # a registered name, or {"name": ..., "options": {...}}
    if not isinstance(dataset, (str, Mapping)):
        dataset = "custom"
    info = {**spec.to_json(), "epochs": epochs, "device": device, "dataset": dataset}
    artifact = source.storage.add_artifact(
        source.record.id,
        source.trial.number,
        RETRAIN_KIND,
        seed=seed,
        metrics=metrics,
        info=info,
        data=buffer.getvalue(),
    )
    return SeedResult(seed, metrics, artifact)


class _Bar:
    """A Rich progress bar over all epochs of all seeds, left on screen at its total."""

    def __init__(self, total: int, console: Console | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("retrain {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,  # its last frame stays, showing every epoch done
        )
        self._task = self._progress.add_task("", total=total)
        self._progress.start()

    def advance(
        self, steps: int, seed: int, epoch: int | None = None, val_acc: float | None = None
    ) -> None:
        text = f"seed {seed}" + (f" epoch {epoch}" if epoch is not None else " (stored)")
        if val_acc is not None:
            text += f" val_acc {val_acc:.2f}"
        self._progress.update(self._task, advance=steps, description=text)

    def close(self) -> None:
        self._progress.stop()  # draws the last update (the final epoch) before it stops
