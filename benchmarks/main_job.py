"""The main job against what a user without nasforge would run: Optuna's TPE over a plain CNN.

Three parts, each measured side by side in one run, and a fourth read offline from stores:

1. ``search``: the README's main job (``examples/mnist1d_nb201.yaml``: NAS-Bench-201 cells on
   MNIST-1D, every candidate trained for real) against a hand-written baseline: Optuna's TPE
   (its defaults) over a plain 1-D CNN written in this script (depth 1-4, width 16-128, kernel 3,
   5 or 7, batch norm or not, dropout 0-0.5, AdamW learning rate 1e-4 to 3e-2, weight decay
   1e-6 to 1e-2; 20 epochs, batch 128), on the same data and the same validation split
   (the main job's ``val_fraction``, ``data_seed`` 0). Each gets the same wall time
   (``--minutes``; a trial running at the limit finishes, as in both tools) per search seed
   (``--seeds``): the main job with its own ``execution`` (its worker processes, as
   ``nasforge search`` runs it), the baseline in this process, one trial at a time, with
   torch's default threads (what a user's script gets). Reported per arm and budget: the test
   accuracy of the best trial by validation accuracy (mean and sample standard deviation over
   the seeds) and the trials finished (trained to the end or, in the main job, stopped early
   by its scheduler: ``pruned`` counts those). The main job keeps its trials' weights and ends
   with the ensemble of its five best by validation accuracy (what ``nasforge search`` prints
   and ``nasforge export --ensemble 5`` ships): its test accuracy is reported too, and that of
   ensembles of ``--ensemble-sizes`` members.
2. ``threads``: seconds per training epoch of the main job's evaluator on one fixed cell with
   torch intra-op threads 1, 2 and torch's default, idle and while ``--load`` other CPU-bound
   processes (pure-Python loops, one core each) run: what the ``threads`` option buys.
3. ``recipes``: the test accuracy of one good NB201 cell trained alone (3 training seeds)
   under the networks and recipes the main job's settings were chosen among: what the
   network can reach apart from which cell a search picks (about 15 minutes).
4. ``selection`` (offline, seconds): on the main job's stores that ``--part search --keep DIR``
   kept (``--stores DIR``), the test accuracy of the trial each selection rule picks among
   those finished within each ``--minutes`` budget: the highest validation accuracy (the
   main job's own pick), the lowest validation loss, the highest test accuracy (an oracle: what
   the best selection could get from the trials the search trained) and the mean test accuracy
   of the five best by validation accuracy. It tells a search that finds nothing good from a
   selection that cannot tell the good from the lucky.

Prints Markdown tables, then one JSON object as its last line.

Usage:
    python benchmarks/main_job.py                      # all: 3 and 10 min x seeds 0,1,2
    python benchmarks/main_job.py --part threads       # the thread measurement only (~2 min)
    python benchmarks/main_job.py --part recipes       # one cell, 8 recipes (~15 min)
    python benchmarks/main_job.py --minutes 3 --seeds 3,4,5
    python benchmarks/main_job.py --part search --arms nasforge --minutes 10 --keep runs
    python benchmarks/main_job.py --part selection --stores runs --minutes 3,10
    python benchmarks/main_job.py --quick              # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna
import torch
from torch import nn

from nasforge.data import load_dataset
from nasforge.estimation.base import TrialContext
from nasforge.estimation.train import TrainEvaluator
from nasforge.experiment.config import build_experiment, load_config
from nasforge.experiment.load import load_experiment
from nasforge.export.ensemble import DEFAULT_SIZE, ensemble
from nasforge.spaces import NB201Space
from nasforge.trial import Trial, TrialStatus

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = ROOT / "examples" / "mnist1d_nb201.yaml"
#: the cell the thread part trains (every operation type once)
CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
#: the cell the recipe part trains: NAS-Bench-201's best on CIFAR-10
GOOD_CELL = "+".join(
    (
        "|nor_conv_3x3~0|",
        "|nor_conv_3x3~0|nor_conv_3x3~1|",
        "|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    )
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=("all", "search", "threads", "recipes", "selection"), default="all"
    )
    parser.add_argument("--minutes", default="3,10", help="search budgets (default 3,10)")
    parser.add_argument("--seeds", default="0,1,2", help="search seeds (default 0,1,2)")
    parser.add_argument("--load", type=int, default=1, help="busy processes when loaded (1)")
    parser.add_argument("--epochs", type=int, default=20, help="baseline epochs (default 20)")
    parser.add_argument(
        "--main-job", type=Path, default=MAIN_JOB, help="the nasforge arm's YAML (the main job)"
    )
    parser.add_argument("--arms", default="nasforge,optuna_tpe", help="arms to run (default: both)")
    parser.add_argument(
        "--keep", type=Path, help="keep the main job's stores in this new folder (for analysis)"
    )
    parser.add_argument(
        "--stores", type=Path, help="--part selection: the folder --keep filled with stores"
    )
    parser.add_argument(
        "--ensemble-sizes",
        default="1,3,5,10",
        help="main job with kept weights: also report ensembles of these sizes (default "
        "1,3,5,10; the main job's own, 5, is always reported)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    return parser.parse_args(argv)


# ---- the baseline: a plain CNN searched by Optuna's TPE ------------------------------------


def plain_cnn(params: dict[str, Any], channels: int, length: int, classes: int) -> nn.Module:
    """Conv-(BN)-ReLU blocks with a max-pool after every second one, then global average
    pooling, dropout and a linear layer: the network a user writes by hand."""
    layers: list[nn.Module] = []
    width, size = channels, length
    for depth in range(params["depth"]):
        layers.append(nn.Conv1d(width, params["width"], params["kernel"], padding="same"))
        if params["batch_norm"]:
            layers.append(nn.BatchNorm1d(params["width"]))
        layers.append(nn.ReLU())
        if depth % 2 == 1 and size >= 4:
            layers.append(nn.MaxPool1d(2))
            size //= 2
        width = params["width"]
    layers += [nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(params["dropout"])]
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.inference_mode():
        hits = sum(
            int((model(x[i : i + 1024]).argmax(1) == y[i : i + 1024]).sum())
            for i in range(0, len(y), 1024)
        )
    return 100.0 * hits / len(y)


class Baseline:
    """Optuna's TPE over :func:`plain_cnn`, trained with AdamW and a cosine schedule."""

    def __init__(self, epochs: int, val_fraction: float = 0.1) -> None:
        data = load_dataset("mnist1d")
        x_train, y_train, x_val, y_val = data.split_validation(val_fraction, seed=0)
        as_x, as_y = torch.from_numpy, torch.from_numpy
        self.x_train, self.y_train = as_x(x_train), as_y(y_train)
        self.x_val, self.y_val = as_x(x_val), as_y(y_val)
        self.x_test, self.y_test = as_x(data.x_test), as_y(data.y_test)
        self.channels, self.length = x_train.shape[1], x_train.shape[2]
        self.classes = data.num_classes
        self.epochs = epochs

    def train(self, params: dict[str, Any], seed: int) -> tuple[float, float]:
        """``(val_acc, test_acc)`` of the network ``params`` describes."""
        torch.manual_seed(seed)
        model = plain_cnn(params, self.channels, self.length, self.classes)
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"]
        )
        steps = self.epochs * math.ceil(len(self.y_train) / 128)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
        order = torch.Generator().manual_seed(seed)
        for _ in range(self.epochs):
            model.train()
            perm = torch.randperm(len(self.y_train), generator=order)
            for start in range(0, len(perm), 128):
                batch = perm[start : start + 128]
                loss = nn.functional.cross_entropy(model(self.x_train[batch]), self.y_train[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        return accuracy(model, self.x_val, self.y_val), accuracy(model, self.x_test, self.y_test)

    def search(self, seed: int, seconds: float) -> dict[str, Any]:
        tests: dict[int, float] = {}

        def objective(trial: optuna.Trial) -> float:
            params = {
                "depth": trial.suggest_int("depth", 1, 4),
                "width": trial.suggest_int("width", 16, 128, log=True),
                "kernel": trial.suggest_categorical("kernel", [3, 5, 7]),
                "batch_norm": trial.suggest_categorical("batch_norm", [True, False]),
                "dropout": trial.suggest_float("dropout", 0.0, 0.5),
                "lr": trial.suggest_float("lr", 1e-4, 3e-2, log=True),
                "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            }
            val_acc, tests[trial.number] = self.train(params, seed * 100_000 + trial.number)
            return val_acc

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(objective, timeout=seconds)
        best = study.best_trial
        return {"test_acc": tests[best.number], "val_acc": best.value, "trials": len(tests)}


# ---- the main job --------------------------------------------------------------------------


def main_job(
    seed: int,
    seconds: float,
    folder: Path,
    quick: bool,
    path: Path = MAIN_JOB,
    ensemble_sizes: Sequence[int] = (),
) -> dict[str, Any]:
    """The README's main job (or the YAML at ``path``) with ``seed`` for ``seconds``, run with
    its own ``execution`` (workers) as ``nasforge search`` runs it; its YAML otherwise
    unchanged. When its evaluator keeps the trials' weights, also the ensemble that
    ``nasforge search`` then prints (the :data:`~nasforge.export.ensemble.DEFAULT_SIZE` best by
    validation accuracy, combined: ``ensemble_test_acc``) and ensembles of ``ensemble_sizes``
    (``ensembles``: ``{size: test_acc}``)."""
    config = load_config(path)
    updates: dict[str, Any] = {
        "seed": seed,
        "storage": f"sqlite:///{folder / f'main-{seed}-{seconds:g}.db'}",
    }
    if quick:
        evaluator = config.evaluator.model_copy(
            update={"options": {**config.evaluator.options, "epochs": 1}}
        )
        updates["evaluator"] = evaluator
        updates["scheduler"] = None  # one epoch: nothing for a grace period to wait for
    experiment = build_experiment(config.model_copy(update=updates))
    execution = config.execution  # its workers, as `nasforge search` runs it
    if quick:  # a smoke run: no worker processes to start
        execution = execution.model_copy(update={"executor": "local", "workers": 1})
    run_options = execution.run_options()
    experiment.run(max_trials=100_000, max_time=seconds, progress=False, **run_options)
    best = experiment.best()
    statuses = [t.status.value for t in experiment.trials()]
    # trials: every candidate tried to the end or stopped early by the scheduler (pruned)
    counts = {
        "trials": sum(s in ("complete", "pruned") for s in statuses),
        "pruned": statuses.count("pruned"),
    }
    if best is None:
        return {"test_acc": None, "val_acc": None, **counts}
    out = {
        "test_acc": float(best.metrics["test_acc"]),
        "val_acc": float(best.metrics["val_acc"]),
        **counts,
    }
    if getattr(experiment.evaluator, "keep_weights", False):
        timed: dict[int, float] = {}
        combined: dict[int, Any] = {}
        for size in dict.fromkeys((DEFAULT_SIZE, *ensemble_sizes)):  # each size once
            start = time.perf_counter()
            combined[size] = ensemble(
                experiment.name,
                experiment.storage,
                size=size,
                space=experiment.space,
                evaluator=experiment.evaluator,
            )[1]
            timed[size] = time.perf_counter() - start
        chosen = combined[DEFAULT_SIZE]
        out["ensemble_test_acc"] = round(chosen.test_acc, 2)
        out["ensemble_val_acc"] = round(chosen.val_acc, 2)
        out["ensemble_members"] = len(chosen.members)
        out["ensemble_seconds"] = round(timed[DEFAULT_SIZE], 2)
        out["ensembles"] = {str(k): round(combined[k].test_acc, 2) for k in ensemble_sizes}
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("test_acc", "ensemble_test_acc"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if values or key == "test_acc":
            out[f"{key}_mean"] = round(statistics.fmean(values), 2) if values else None
            out[f"{key}_std"] = round(statistics.stdev(values), 2) if len(values) > 1 else None
    return {
        **out,
        "trials_mean": round(statistics.fmean(r["trials"] for r in runs), 1),
        "runs": runs,
    }


def _mean_std(summary: dict[str, Any], key: str) -> str:
    mean, std = summary.get(f"{key}_mean"), summary.get(f"{key}_std")
    if mean is None:
        return "-"
    return f"{mean:.2f}" + (f" ± {std:.2f}" if std is not None else "")


def search_part(args: argparse.Namespace, seeds: list[int], minutes: list[float]) -> dict:
    names = [arm.strip() for arm in args.arms.split(",") if arm.strip()]
    unknown = sorted(set(names) - {"nasforge", "optuna_tpe"})
    if unknown or not names:
        raise SystemExit(f"--arms={args.arms!r}; allowed: nasforge and/or optuna_tpe")
    # the baseline holds out what the main job holds out (the same samples: data_seed 0)
    evaluator_options = load_config(args.main_job).evaluator.options
    baseline = Baseline(
        1 if args.quick else args.epochs, evaluator_options.get("val_fraction", 0.1)
    )
    out: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        tmp = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        if args.keep is not None:  # a new folder: a store already there would be resumed
            args.keep.mkdir(parents=True, exist_ok=False)
        for budget in minutes:
            seconds = budget * 60
            arms: dict[str, list[dict[str, Any]]] = {arm: [] for arm in names}
            for seed in seeds:
                if "nasforge" in arms:
                    sizes = [int(k) for k in args.ensemble_sizes.split(",") if k.strip()]
                    run = main_job(seed, seconds, Path(tmp), args.quick, args.main_job, sizes)
                    arms["nasforge"].append(run)
                if "optuna_tpe" in arms:
                    arms["optuna_tpe"].append(baseline.search(seed, seconds))
                done = " | ".join(f"{arm} {runs[-1]}" for arm, runs in arms.items())
                print(f"{budget:g} min seed {seed}: {done}", flush=True)
            out[f"{budget:g}min"] = {arm: summarise(runs) for arm, runs in arms.items()}
    print("\n| budget | arm | test acc of best by val | of the ensemble | trials |")
    print("|---|---|---|---|---|")
    for budget, arms_summary in out.items():
        for arm, s in arms_summary.items():
            best, combined = _mean_std(s, "test_acc"), _mean_std(s, "ensemble_test_acc")
            print(f"| {budget} | {arm} | {best} | {combined} | {s['trials_mean']:g} |")
    return out


# ---- selection rules, offline on kept stores ------------------------------------------------

#: how each rule picks one trial from the complete ones (ties: the lower trial number)
SELECTION_RULES: dict[str, Callable[[list[Trial]], Trial]] = {
    "val_acc": lambda ts: min(ts, key=lambda t: (-t.metrics["val_acc"], t.number)),
    "val_loss": lambda ts: min(ts, key=lambda t: (t.metrics["val_loss"], t.number)),
    "oracle (test_acc)": lambda ts: min(ts, key=lambda t: (-t.metrics["test_acc"], t.number)),
}


def selection_part(args: argparse.Namespace, minutes: list[float]) -> dict[str, Any]:
    """Per budget, the test accuracy each of :data:`SELECTION_RULES` picks in each kept store
    (a trial counts when it finished within the budget from the store's first start; a store
    searched for less than the budget is skipped), with mean and spread over the stores."""
    if args.stores is None or not args.stores.is_dir():
        raise SystemExit(f"--stores={args.stores}; allowed: a folder that --keep filled")
    name = load_config(args.main_job).name
    paths = sorted(args.stores.glob("main-*.db"))
    if not paths:
        raise SystemExit(f"--stores={args.stores}: no main-<seed>-<seconds>.db store in it")
    out: dict[str, Any] = {}
    for budget in minutes:
        rows: dict[str, list[float]] = {}
        for path in paths:
            searched = float(path.stem.rsplit("-", 1)[1])  # main-<seed>-<seconds>.db
            if searched < budget * 60 and not args.quick:
                continue
            trials = load_experiment(name, f"sqlite:///{path}").trials()
            first = min(t.started_at for t in trials if t.started_at is not None)
            done = [
                t
                for t in trials
                if t.status == TrialStatus.COMPLETE
                and t.finished_at is not None
                and (args.quick or (t.finished_at - first).total_seconds() <= budget * 60)
            ]
            if not done:
                continue
            for rule, pick in SELECTION_RULES.items():
                rows.setdefault(rule, []).append(float(pick(done).metrics["test_acc"]))
            top = sorted(done, key=lambda t: (-t.metrics["val_acc"], t.number))[:5]
            top_mean = statistics.fmean(float(t.metrics["test_acc"]) for t in top)
            rows.setdefault("top 5 by val_acc (mean)", []).append(top_mean)
            rows.setdefault("trials", []).append(len(done))
        out[f"{budget:g}min"] = {
            rule: {
                "mean": round(statistics.fmean(values), 2),
                "std": round(statistics.stdev(values), 2) if len(values) > 1 else None,
                "values": [round(v, 2) for v in values],
            }
            for rule, values in rows.items()
        }
    print("\n| budget | selection rule | test acc picked, per store | mean ± std |")
    print("|---|---|---|---|")
    for budget, by_rule in out.items():
        for rule, row in by_rule.items():
            std = f" ± {row['std']:.2f}" if row["std"] is not None else ""
            values = " / ".join(f"{v:g}" for v in row["values"])
            print(f"| {budget} | {rule} | {values} | {row['mean']:g}{std} |")
    return out


# ---- threads -------------------------------------------------------------------------------


def _busy() -> None:  # pragma: no cover - runs in a child process until terminated
    while True:
        pass


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[None]:
    """``count`` other CPU-bound processes running for the duration of the block."""
    # fork: a pure-Python loop needs nothing re-imported (spawn would import torch again)
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    workers = [context.Process(target=_busy, daemon=True) for _ in range(count)]
    for worker in workers:
        worker.start()
    time.sleep(0.5 if count else 0.0)
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


def epoch_seconds(threads: int | None, epochs: int, quick: bool) -> float:
    """Seconds per epoch of the main job's evaluator training :data:`CELL` (data loading and
    the first epoch's warm-up excluded: one epoch is trained first and not timed)."""
    options: dict[str, Any] = {"epochs": epochs, "threads": threads, "device": "cpu"}
    if quick:
        options["train_fraction"] = 0.05
    evaluator = TrainEvaluator("mnist1d", **options)
    space = NB201Space(n_cells=1, channels=16)
    arch = space.parse(CELL)
    evaluator.fit(arch, space, seed=0, epochs=1)
    start = time.perf_counter()
    evaluator.fit(arch, space, seed=0)
    return (time.perf_counter() - start) / epochs


def threads_part(args: argparse.Namespace) -> dict[str, Any]:
    epochs = 1 if args.quick else 3
    settings: dict[str, int | None] = {"1": 1, "2": 2, "default": None}
    if args.quick:
        settings = {"1": 1, "default": None}
    rows: dict[str, dict[str, float]] = {}
    for load in (0, args.load):
        with busy_processes(load):
            for label, threads in settings.items():
                seconds = epoch_seconds(threads, epochs, args.quick)
                rows.setdefault(label, {})["loaded" if load else "idle"] = round(seconds, 3)
    for row in rows.values():
        row["slowdown"] = round(row["loaded"] / row["idle"], 2)
    print(f"\nthreads (torch default here: {torch.get_num_threads()}), seconds per epoch:")
    print("| threads | idle | loaded | loaded / idle |")
    print("|---|---|---|---|")
    for label, row in rows.items():
        print(f"| {label} | {row['idle']:.2f} | {row['loaded']:.2f} | {row['slowdown']:.2f}x |")
    return {"torch_default_threads": torch.get_num_threads(), "load": args.load, **rows}


# ---- recipes -------------------------------------------------------------------------------

#: the settings the main job's were chosen among: (label, NB201 space options, evaluator options)
RECIPES: list[tuple[str, dict[str, int], dict[str, Any]]] = [
    ("16 channels, batch 128 (the old default)", {"channels": 16}, {"batch_size": 128}),
    ("16 channels, batch 128, 40 epochs", {"channels": 16}, {"batch_size": 128, "epochs": 40}),
    ("16 channels, batch 64", {"channels": 16}, {"batch_size": 64}),
    ("16 channels, batch 32", {"channels": 16}, {"batch_size": 32}),
    ("32 channels, batch 128", {"channels": 32}, {"batch_size": 128}),
    ("32 channels, batch 64 (the main job's)", {"channels": 32}, {"batch_size": 64}),
    ("32 channels, batch 64, shifts of up to 3", {"channels": 32}, {"batch_size": 64, "shift": 3}),
    ("64 channels, batch 128", {"channels": 64}, {"batch_size": 128}),
]


def recipes_part(args: argparse.Namespace) -> dict[str, Any]:
    """Test accuracy of one good cell (:data:`GOOD_CELL`) trained alone under each of
    :data:`RECIPES` (20 epochs of SGD unless said, training seeds 0-2): what the network and
    recipe can reach, apart from which cell a search picks."""
    from nasforge.data import Augmentation

    data = load_dataset("mnist1d")
    rows: dict[str, dict[str, Any]] = {}
    chosen = RECIPES[:1] if args.quick else RECIPES
    for label, space_options, options in chosen:
        options = {"epochs": 1, "train_fraction": 0.05} if args.quick else dict(options)
        shift = options.pop("shift", 0)
        source = replace(data, augment=Augmentation(shift, flip=False)) if shift else data
        evaluator = TrainEvaluator(source, device="cpu", **options)
        space = NB201Space(n_cells=1, **space_options)
        arch = space.parse(GOOD_CELL)
        tests, seconds = [], []
        for seed in (0,) if args.quick else (0, 1, 2):
            start = time.perf_counter()
            tests.append(evaluator.evaluate(arch, TrialContext(space=space, seed=seed))["test_acc"])
            seconds.append(time.perf_counter() - start)
        rows[label] = {
            "test_acc_mean": round(statistics.fmean(tests), 2),
            "test_acc": [round(t, 2) for t in tests],
            "seconds": round(statistics.fmean(seconds), 1),
        }
    print("\n| network and recipe | test acc (seeds 0-2) | mean | s per trial |")
    print("|---|---|---|---|")
    for label, row in rows.items():
        values = " / ".join(f"{t:.1f}" for t in row["test_acc"])
        print(f"| {label} | {values} | {row['test_acc_mean']:.2f} | {row['seconds']:.0f} |")
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    minutes = [0.02] if args.quick else [float(m) for m in args.minutes.split(",")]
    result: dict[str, Any] = {"machine_cores": multiprocessing.cpu_count()}
    if args.part in ("all", "threads"):
        result["threads"] = threads_part(args)
    if args.part in ("all", "recipes"):
        result["recipes"] = recipes_part(args)
    if args.part in ("all", "search"):
        result["search"] = search_part(args, seeds, minutes)
    if args.part == "selection":  # offline, on stores a search kept: not part of "all"
        result["selection"] = selection_part(args, minutes)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
