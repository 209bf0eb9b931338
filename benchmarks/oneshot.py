"""One-shot methods on MNIST-1D: what they find, how long they take, and whether their supernet
tells the truth.

For each space (``nb201`` in 1-D and ``darts``, small sizes) and each one-shot method: the
search (``--search-epochs`` supernet epochs) with its honesty report, whose architectures are
trained alone with the evaluator's recipe (``--train-epochs`` epochs of SGD, CPU); for ``darts``
and ``random-one-shot`` the report trains ``--tau-archs`` archs across the supernet's ranking
(Kendall's tau over at least 30 by default), for the others ``--report-archs``. Every method
runs with its defaults (``darts``, ``gdas``, ``drnas``: the final arch picked by perturbation,
DARTS-PT; ``darts``: a third of its epochs weights only, so it searches half as many epochs
more); ``darts`` runs three more times on the same seed: as the paper (``darts+magnitude``: the
largest architecture weights, no warm-up), with the beta-decay remedy and with random smoothing
(SDARTS-RS; every operation histogram); with ``--magnitude``, ``gdas`` and ``drnas`` also run a
second time picking by magnitude, the papers' rule; with ``--tune-steps N``, ``darts`` runs a
fifth time with DARTS-PT's fine-tuning (``tune_steps: N`` weight steps after each decided
choice). Runs recorded in BENCHMARKS.md before 2026-12-07 (issue 16) used the papers' rule by
default: their ``darts`` is today's ``darts+magnitude``, their ``darts+perturbation`` (no
warm-up unless ``--warmup-epochs``) is close to today's ``darts``, and ``--perturbation`` is
kept as another name for ``--magnitude``; ``--extra-run
'METHOD+LABEL={JSON options}'`` adds a run of a method with other options (e.g.
``'enas+tanh={"temperature": 5, "tanh_constant": 2.5}'``); ``--runs`` keeps only the runs named.
``--seeds 0,1,2`` repeats every run with each search seed (one search seed decides little on
``darts``, whose archs lie within a point of each other): each run's row then holds the mean
over search seeds (``test_acc``, ``search_s``, ``kendall_tau``; ``collapsed`` when any search
collapsed), their spread and every search seed's own row (``search_seeds``); the baselines use
the first seed.
GDAS searches three times as many epochs, and so do ENAS and random one-shot (one sampled path
per step); with ``--warmup-epochs N``, DARTS, GDAS and DrNAS first train the weights alone for
``N`` more epochs (instead of their default warm-up). Each space's archs train alone with that
space's standard recipe (``darts``: DARTS's gradient clipping to norm 5,
:data:`SPACE_RECIPES`). Each derived arch is trained alone
with the training seeds 0 to ``--derived-seeds`` - 1, the same whatever the search's seed, and
compared by its mean test accuracy. Beside them, on the same space and recipe (skipped with
``--no-baselines``): the mean test accuracy of ``--random`` random archs, each trained with the
derived archs' training seeds (a paired comparison), and regularized evolution given the longest
method's search time (each method compared with the best-by-validation arch evolution had found
within that method's own search time, trained again with the same training seeds, paired as the
random mean is). Finally the supernet's peak memory as predicted before training against the
measured one (CPU: the rise of a child process's peak RSS, VmHWM, over three training steps from
the supernet's construction on).

    python benchmarks/oneshot.py                        # both spaces, all methods (about an hour)
    python benchmarks/oneshot.py --spaces nb201 --methods darts,random-one-shot
    python benchmarks/oneshot.py --spaces darts --methods enas --seeds 0,1,2 --no-baselines
    python benchmarks/oneshot.py --quick    # smoke run: 1 epoch, 8x8 digits, tiny networks

The last line is one JSON object ``{"<space>": {"<method>": {"search_s": ..., "test_acc": ...,
"kendall_tau": ..., "collapsed": ..., ...}, "random_mean_test_acc": ...,
"rea_same_time_test_acc": {"<method>": ...}, "rea_same_time": {"<method>": {"test_acc": ...,
"trial_test_acc": ..., "arch": ...}}}, "memory": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("darts", "gdas", "drnas", "enas", "random-one-shot")
SPACES = ("nb201", "darts")
#: network sizes per space for the supernet and for training alone
SIZES: dict[str, dict[str, int]] = {
    "nb201": {"n_cells": 1, "channels": 16},
    "darts": {"n_cells": 3, "channels": 8},
}
QUICK_SIZES: dict[str, dict[str, int]] = {
    "nb201": {"n_cells": 1, "channels": 4},
    "darts": {"n_cells": 2, "channels": 4},
}
#: methods whose supernet ranking is checked over ``--tau-archs`` archs
TAU_METHODS = ("darts", "random-one-shot")
#: search epochs per method, as a multiple of ``--search-epochs``: GDAS, ENAS and random
#: one-shot train one sampled path per step, so each candidate gets about 1/k of the updates it
#: gets under DARTS's weighted sum; three times the epochs still cost them less than DARTS's time
EPOCH_FACTOR = {"gdas": 3, "enas": 3, "random-one-shot": 3}
#: methods that learn architecture parameters by gradient (``--warmup-epochs`` applies to them)
GRADIENT_METHODS = ("darts", "gdas", "drnas")
#: the papers' own rule for the final arch of ``darts``, ``gdas`` and ``drnas`` (the largest
#: architecture weights; their default picks by perturbation)
PAPER_RULE: dict[str, Any] = {"selection": "magnitude"}
#: the training options of each space's standard recipe (every arch of the space trained alone,
#: searched or baseline): DARTS's evaluation clips gradients to norm 5, without which cells of
#: stacked pooling diverge at lr 0.1 (one derived cell: 50.7% test without, 95.8% with)
SPACE_RECIPES: dict[str, dict[str, Any]] = {"darts": {"grad_clip": 5.0}}


def _evaluator(args: argparse.Namespace, space_name: str) -> Any:
    from nasforge.estimation.train import TrainEvaluator

    return TrainEvaluator(
        args.dataset,
        epochs=args.train_epochs,
        device="cpu",
        batch_size=128,
        threads=args.threads,
        **SPACE_RECIPES.get(space_name, {}),
    )


def _tests_alone(
    evaluator: Any, arch: Any, space: Any, seeds: list[int], known: dict[int, float] | None = None
) -> list[float]:
    """Test accuracy of ``arch`` trained alone once per training seed; a seed in ``known``
    (already trained, e.g. by the honesty report) is not trained again."""
    known = known or {}
    return [
        known[seed] if seed in known else evaluator.fit(arch, space, seed=seed)[1]["test_acc"]
        for seed in seeds
    ]


def _best_by_val(trials: list[Any]) -> Any:
    done = [t for t in trials if t.metrics.get("val_acc") is not None]
    return max(done, key=lambda t: (t.metrics["val_acc"], -t.number)) if done else None


def _seconds(trial: Any, start: datetime) -> float:
    return (trial.finished_at.replace(tzinfo=timezone.utc) - start).total_seconds()


def _warmup(name: str, options: dict[str, Any], args: argparse.Namespace) -> int:
    """Weights-only epochs of a run, added to its search epochs: the run's own option, else
    ``--warmup-epochs`` (gradient methods), else the method's default share of its epochs
    (``darts``: a third, so it adds half the search epochs and leaves them all to the
    architecture)."""
    from nasforge.strategies import STRATEGIES

    if "warmup_epochs" in options:
        return int(options["warmup_epochs"])
    if args.warmup_epochs is not None:
        return args.warmup_epochs if name in GRADIENT_METHODS else 0
    share = float(getattr(STRATEGIES.get(name), "warmup_share", 0.0))
    return round(args.search_epochs * EPOCH_FACTOR.get(name, 1) * share / (1 - share))


def run_method(
    space_name: str,
    method: str,
    options: dict[str, Any],
    seed: int,
    args: argparse.Namespace,
    folder: Path,
) -> dict[str, Any]:
    """One search of ``method`` with the search seed ``seed``, its report and the derived
    arch's trainings alone: the run's row."""
    import nasforge as nf
    from nasforge.oneshot.report import load_report
    from nasforge.storage import Storage

    sizes = args.sizes[space_name]
    k = args.tau_archs if method in TAU_METHODS else args.report_archs
    url = f"sqlite:///{folder / f'{space_name}-{method}-{seed}.db'}"
    name = method.split("+")[0]
    warmup = _warmup(name, options, args)
    exp = nf.Experiment(
        nf.create_space(space_name, **sizes),
        strategy=name,
        strategy_options={
            "epochs": args.search_epochs * EPOCH_FACTOR.get(name, 1) + warmup,
            "warmup_epochs": warmup,
            "batch_size": 64,
            "report_archs": k,
            "report_pool": max(k, 30),
            **options,
        },
        evaluator=_evaluator(args, space_name),
        storage=url,
        name=method,
        seed=seed,
    )
    start = datetime.now(timezone.utc)
    began = time.perf_counter()
    exp.run(progress=False)
    total_s = time.perf_counter() - began
    trials = exp.trials("complete")
    searched = [t for t in trials if t.metrics.get("standalone") == 0.0]
    search_s = max(_seconds(t, start) for t in searched)
    report = load_report(Storage(url), exp.record.id)
    assert report is not None, f"{method}: no honesty report stored"
    derived = next(r for r in report.rows if r.role == "derived")
    # one standalone training is noisy (seed to seed, a few points): the derived arch is trained
    # with the training seeds 0 .. --derived-seeds - 1 and compared by the mean. The same seeds
    # for every search seed and method, because a training seed moves every arch alike (seed 3
    # tested 0.3-1.9 points below seeds 1-2 for six derived archs); the report's own training
    # (with the search's seed) counts where the search's seed is one of them
    evaluator = _evaluator(args, space_name)
    space = nf.create_space(space_name, **sizes)
    arch = space.parse(report.derived)
    training_seeds = list(range(args.derived_seeds))
    tests = _tests_alone(
        evaluator, arch, space, training_seeds, {seed: derived.standalone_test_acc}
    )
    row = {
        "seed": seed,
        "search_s": round(search_s, 1),
        "report_s": round(total_s - search_s, 1),
        "test_acc": round(float(np.mean(tests)), 2),
        "test_acc_seeds": tests,
        "training_seeds": training_seeds,
        "val_acc": derived.standalone_val_acc,
        "supernet_val_acc": derived.supernet_val_acc,
        "kendall_tau": None if report.kendall_tau is None else round(report.kendall_tau, 3),
        "spearman_rho": None if report.spearman_rho is None else round(report.spearman_rho, 3),
        "kendall_p": None if report.kendall_p is None else round(report.kendall_p, 3),
        "n_compared": report.n_compared,
        "collapsed": report.collapsed,
        "parameter_free_share": round(report.parameter_free_share, 3),
        "histogram": report.histogram,
        "derived": report.derived,
        "epochs": report.settings.get("epochs"),
        "warmup_epochs": report.settings.get("warmup_epochs"),
        "pool_norm": report.settings.get("pool_norm"),
        "bn_recalibrate": report.settings.get("bn_recalibrate"),
        "tune_steps": report.settings.get("tune_steps"),
        "options": options,  # the run's own, beside the benchmark's
        "settings": report.settings,  # everything the search ran with, as stored
        "predicted_peak_mib": round(report.settings.get("predicted_peak_mib", float("nan")), 1),
    }
    print(f"{space_name:6s} {method:22s} {row}", file=sys.stderr, flush=True)
    return row


def run_baselines(
    space_name: str, budget_s: float, args: argparse.Namespace, folder: Path
) -> tuple[list[float], list[tuple[float, float, float, str]]]:
    """Mean test accuracy of ``--random`` random archs for each training seed 0 .. ``--derived-
    seeds`` - 1 (the derived archs' seeds, so that the comparison is paired: a training seed
    moves every arch alike), and regularized evolution's trials as (seconds since start,
    val_acc, test_acc, arch key)."""
    import nasforge as nf

    sizes = args.sizes[space_name]
    space = nf.create_space(space_name, **sizes)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.random)]
    evaluator = _evaluator(args, space_name)
    seeds = list(range(args.derived_seeds))
    tests = [_tests_alone(evaluator, arch, space, seeds) for arch in archs]
    random_means = [float(np.mean([row[i] for row in tests])) for i in range(len(seeds))]
    rea = nf.Experiment(
        space,
        strategy="regularized-evolution",
        strategy_options={"population_size": 10, "sample_size": 3},
        evaluator=_evaluator(args, space_name),
        storage=folder / f"{space_name}-rea.db",
        name="rea",
        seed=args.seed,
    )
    start = datetime.now(timezone.utc)
    rea.run(max_time=budget_s, progress=False)
    timeline = [
        (_seconds(t, start), t.metrics["val_acc"], t.metrics["test_acc"], t.arch.key)
        for t in rea.trials("complete")
    ]
    return random_means, timeline


def rea_within(
    timeline: list[tuple[float, float, float, str]], seconds: float
) -> tuple[float, float, float, str] | None:
    """The best-by-validation trial evolution had finished after ``seconds`` (the earliest of
    equals), as its timeline entry."""
    done = [entry for entry in timeline if entry[0] <= seconds]
    return max(done, key=lambda entry: (entry[1], -entry[0])) if done else None


def rea_paired(
    space_name: str,
    timeline: list[tuple[float, float, float, str]],
    budgets: dict[str, float],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any] | None]:
    """For each run, the arch evolution had found best (by validation) within the run's search
    time, trained again with the derived archs' training seeds 0 .. ``--derived-seeds`` - 1: a
    comparison paired as the random mean's is (the trial itself trained once, with its own
    seed). An arch found best for several runs is trained once per seed."""
    import nasforge as nf

    space = nf.create_space(space_name, **args.sizes[space_name])
    evaluator = _evaluator(args, space_name)
    trained: dict[str, list[float]] = {}
    out: dict[str, dict[str, Any] | None] = {}
    for run, seconds in budgets.items():
        best = rea_within(timeline, seconds)
        if best is None:
            out[run] = None
            continue
        at, val, test, key = best
        if key not in trained:
            arch = space.parse(key)
            trained[key] = _tests_alone(evaluator, arch, space, list(range(args.derived_seeds)))
        out[run] = {
            "test_acc": round(float(np.mean(trained[key])), 2),
            "test_acc_seeds": trained[key],
            "trial_test_acc": test,  # the trial's own training, with its trial seed
            "trial_val_acc": val,
            "found_at_s": round(at, 1),
            "arch": key,
        }
    return out


# ---- memory: predicted before training against measured ------------------------------------------


def _status(field: str) -> float:
    """A memory figure of this process from ``/proc/self/status``, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _measure(space_name: str, sizes: dict[str, int], mode: str, batch: int, queue: Any) -> None:
    import torch

    from nasforge.oneshot.supernet import Supernet, estimate_memory
    from nasforge.space import Task
    from nasforge.spaces import create_space

    torch.set_num_threads(1)
    task = Task((1, 40), 10)
    x, y = torch.randn(batch, 1, 40), torch.randint(0, 10, (batch,))
    warm = torch.nn.Sequential(torch.nn.Conv1d(1, 4, 3), torch.nn.BatchNorm1d(4), torch.nn.ReLU())
    warm(torch.randn(2, 1, 40)).sum().backward()  # load the kernels before measuring
    del warm
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to what is resident now
    before = _status("VmRSS")
    supernet = Supernet(create_space(space_name, **sizes), task)
    supernet.set_mode(mode)
    predicted = estimate_memory(supernet, task, batch)["peak_bytes"]
    optimizer = torch.optim.SGD(supernet.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        if mode == "path":
            supernet.sample_uniform(generator)
        loss = torch.nn.functional.cross_entropy(supernet(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    peak = _status("VmHWM")
    queue.put({"predicted_mib": predicted / 2**20, "measured_mib": (peak - before) / 2**20})


def measure_memory(space_name: str, sizes: dict[str, int], mode: str, batch: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_measure, args=(space_name, sizes, mode, batch, queue))
    child.start()
    found = queue.get(timeout=600)
    child.join()
    return {k: round(v, 1) for k, v in found.items()}


# ---- the run ------------------------------------------------------------------------------------


def over_seeds(rows: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One run's rows of several search seeds as one: means over the search seeds, their
    spread, whether any collapsed, and each seed's own row."""
    if len(rows) == 1:
        return next(iter(rows.values()))
    tests = [row["test_acc"] for row in rows.values()]
    taus = [row["kendall_tau"] for row in rows.values() if row["kendall_tau"] is not None]
    first = next(iter(rows.values()))
    return {
        "search_s": round(float(np.mean([row["search_s"] for row in rows.values()])), 1),
        "test_acc": round(float(np.mean(tests)), 2),
        "test_acc_std": round(float(np.std(tests, ddof=1)), 2),  # the sample one
        "test_acc_search_seeds": tests,
        "kendall_tau": round(float(np.mean(taus)), 3) if taus else None,
        "collapsed": any(row["collapsed"] for row in rows.values()),
        "collapsed_seeds": sum(bool(row["collapsed"]) for row in rows.values()),
        "options": first["options"],
        "search_seeds": {str(seed): row for seed, row in rows.items()},
    }


def extra_run(
    given: str, methods: list[str], parser: argparse.ArgumentParser
) -> tuple[str, dict[str, Any]]:
    """``--extra-run METHOD+LABEL=JSON`` as a run: its name and the method's options."""
    name, _, options = given.partition("=")
    method = name.split("+")[0]
    if "+" not in name or method not in methods:
        parser.error(f"--extra-run: {name!r}; allowed: METHOD+LABEL with a method of --methods")
    try:
        parsed = json.loads(options)
    except json.JSONDecodeError as exc:
        parser.error(f"--extra-run {name}: options are not JSON ({exc})")
    if not isinstance(parsed, dict):
        parser.error(f"--extra-run {name}: options must be a JSON object")
    return name, parsed


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default=",".join(SPACES), help="nb201 and/or darts")
    parser.add_argument("--methods", default=",".join(METHODS), help="one-shot methods")
    parser.add_argument("--search-epochs", type=int, default=10, help="supernet epochs (10)")
    parser.add_argument(
        "--warmup-epochs",
        type=int,
        help="weights-only epochs before darts/gdas/drnas learn the architecture, added "
        "(default: each method's own, a third of darts's epochs)",
    )
    parser.add_argument("--train-epochs", type=int, default=10, help="epochs alone (10)")
    parser.add_argument("--tau-archs", type=int, default=30, help="report archs, darts/ROS (30)")
    parser.add_argument("--report-archs", type=int, default=5, help="report archs, others (5)")
    parser.add_argument("--random", type=int, default=20, help="random archs trained (20)")
    parser.add_argument("--memory-batch", type=int, default=64, help="batch of the memory check")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads")
    parser.add_argument("--dataset", default="mnist1d", help="built-in dataset (mnist1d)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every search")
    parser.add_argument(
        "--seeds", help="search seeds, e.g. 0,1,2: each run once per seed, rows their mean"
    )
    parser.add_argument(
        "--derived-seeds", type=int, default=3, help="trainings of each derived arch (3)"
    )
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip random archs and evolution"
    )
    parser.add_argument(
        "--magnitude",
        "--perturbation",  # its name before perturbation became the default (same runs)
        dest="magnitude",
        action="store_true",
        help="gdas and drnas also pick by magnitude (the papers' rule), each a run of its own",
    )
    parser.add_argument(
        "--tune-steps",
        type=int,
        default=0,
        help="also run darts+perturbation-tuned: DARTS-PT's fine-tuning, N steps a decision",
    )
    parser.add_argument(
        "--extra-run",
        action="append",
        default=[],
        metavar="METHOD+LABEL=JSON",
        help="also run METHOD with these options, e.g. 'enas+flat={\"tanh_constant\": 1.1}'",
    )
    parser.add_argument(
        "--runs", help="keep only these runs, e.g. darts+random-smoothing (default: all)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 epoch, digits, tiny networks"
    )
    args = parser.parse_args(argv)
    args.sizes = SIZES
    modes = ("softmax", "path")
    if args.quick:  # digits: 8x8 images, loaded at once (MNIST-1D is generated on each load)
        args.search_epochs, args.train_epochs, args.tau_archs, args.report_archs = 1, 1, 3, 2
        args.derived_seeds = 2
        args.random, args.memory_batch, args.sizes = 2, 8, QUICK_SIZES
        args.dataset, modes = "digits", ("softmax",)
    try:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    except ValueError:
        parser.error(f"--seeds: {args.seeds!r}; allowed: integers separated by commas")
    if len(set(seeds)) != len(seeds):
        parser.error(f"--seeds: {args.seeds!r}; allowed: distinct integers separated by commas")
    args.seed = seeds[0]
    spaces = [s for s in args.spaces.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    for given, allowed, flag in ((spaces, SPACES, "--spaces"), (methods, METHODS, "--methods")):
        unknown = [g for g in given if g not in allowed]
        if unknown:
            parser.error(f"{flag}: unknown {unknown[0]!r}; allowed: {', '.join(allowed)}")
    warnings.simplefilter("ignore")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nasforge-oneshot-") as folder:
        for space_name in spaces:
            rows: dict[str, Any] = {}
            runs = [(m, {}) for m in methods]
            if "darts" in methods:
                runs.append(("darts+magnitude", {**PAPER_RULE, "warmup_epochs": 0}))
                runs.append(("darts+beta-decay", {"remedy": "beta-decay"}))
                runs.append(("darts+random-smoothing", {"remedy": "random-smoothing"}))
                if args.tune_steps:
                    runs.append(("darts+perturbation-tuned", {"tune_steps": args.tune_steps}))
            for method in ("gdas", "drnas") if args.magnitude else ():
                if method in methods:
                    runs.append((f"{method}+magnitude", PAPER_RULE))
            runs += [extra_run(given, methods, parser) for given in args.extra_run]
            if args.runs:
                runs = [(m, o) for m, o in runs if m in args.runs.split(",")]
            for method, options in runs:
                by_seed = {
                    seed: run_method(space_name, method, options, seed, args, Path(folder))
                    for seed in seeds
                }
                rows[method] = over_seeds(by_seed)
            if args.no_baselines:
                result[space_name] = rows
                continue
            budget = max(row["search_s"] for row in rows.values())
            random_means, timeline = run_baselines(space_name, budget, args, Path(folder))
            random_mean = float(np.mean(random_means))
            rows["random_mean_test_acc"] = round(random_mean, 2)
            rows["random_mean_by_training_seed"] = [round(m, 2) for m in random_means]
            paired = rea_paired(
                space_name, timeline, {run: rows[run]["search_s"] for run, _ in runs}, args
            )
            rows["rea_same_time_test_acc"] = {
                run: None if found is None else found["test_acc"] for run, found in paired.items()
            }
            rows["rea_same_time"] = paired
            rows["rea_trials"] = len(timeline)
            print(f"{space_name:6s} baselines random {random_mean:.2f} rea "
                  f"{rows['rea_same_time_test_acc']}", file=sys.stderr, flush=True)  # fmt: skip
            result[space_name] = rows
        result["memory"] = {
            f"{space_name}/{mode}": measure_memory(
                space_name, args.sizes[space_name], mode, args.memory_batch
            )
            for space_name in spaces
            for mode in modes
        }
    result["settings"] = {
        "search_epochs": args.search_epochs,
        "warmup_epochs": args.warmup_epochs,
        "train_epochs": args.train_epochs,
        "sizes": {s: args.sizes[s] for s in spaces},
        "dataset": args.dataset,
        "seed": args.seed,
        "seeds": seeds,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
