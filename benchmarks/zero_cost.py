"""Zero-cost proxies vs trained accuracy on the MNIST-1D NAS-Bench-201 cell space.

Samples ``--archs`` architectures (seeded) from ``NB201Space(n_cells=1, channels=16)``, trains
each with ``TrainEvaluator("mnist1d", epochs=--epochs, threads=1)`` (trial seed 0), computes
every zero-cost proxy of :mod:`nasforge.estimation.proxies` at initialisation on one mini-batch,
and prints the Spearman rank correlation of each proxy (and of their vote) with the trained test
accuracy, next to the NAS-Bench-201 CIFAR-10 figures of Abdelfattah et al. (2021).

Trained accuracies are cached in a JSON file keyed by arch (``--cache``, default
``benchmarks/zero_cost_accuracies.json``; the file records the epochs and seeds it was made
with and is only reused when they match). Delete it, or pass ``--recompute``, to train again:
the script always can. With ``--prefilter`` it also runs random search with and without the
zero-cost pre-filter, the same number of trained trials each.

Usage:
    python benchmarks/zero_cost.py                     # 100 archs x 20 epochs (cached after)
    python benchmarks/zero_cost.py --prefilter         # + random search with/without pre-filter
    python benchmarks/zero_cost.py --recompute         # train again (100 x ~15 s, idle core)
    python benchmarks/zero_cost.py --quick             # smoke run: 10 archs, C=8, 1 epoch on
                                                       # 1,000 MNIST-1D samples, no cache
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.data import load_dataset
from nasforge.space import Arch
from nasforge.spaces import NB201Space

DEFAULT_CACHE = Path(__file__).resolve().parent / "zero_cost_accuracies.json"
#: Spearman rho with CIFAR-10 test accuracy over NAS-Bench-201, Abdelfattah et al. 2021, Table 2
PUBLISHED_NB201_CIFAR10 = {"synflow": 0.74, "jacob_cov": 0.73, "snip": 0.60, "grad_norm": 0.59}
TRAIN_SEED = 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=100, help="archs sampled (default 100)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the arch sample")
    parser.add_argument("--channels", type=int, default=16, help="C of the network (16)")
    parser.add_argument(
        "--train-fraction", type=float, default=1.0, help="share of the training set (1.0)"
    )
    parser.add_argument(
        "--samples", type=int, default=5000, help="MNIST-1D samples, 80%% train (5000)"
    )
    parser.add_argument("--batch-size", type=int, default=64, help="proxy mini-batch (64)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="trained-accuracy JSON")
    parser.add_argument("--recompute", action="store_true", help="ignore the cache, train again")
    parser.add_argument("--train-only", action="store_true", help="only fill the cache")
    parser.add_argument("--prefilter", action="store_true", help="also compare search w/o filter")
    parser.add_argument("--prefilter-proxy", default="synflow", help="pre-filter proxy")
    parser.add_argument("--candidates", type=int, default=10, help="proposals per trained arch")
    parser.add_argument("--trials", type=int, default=15, help="trained archs per search")
    parser.add_argument("--search-seeds", type=int, default=2, help="seeds per search")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 archs x 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.archs, args.epochs, args.cache, args.channels = 10, 1, None, 8
        args.train_fraction, args.batch_size, args.samples = 1.0, 32, 1000
        args.trials, args.search_seeds, args.candidates = 3, 1, 3
    return args


def sample_archs(space: NB201Space, n: int, seed: int) -> list[Arch]:
    """``n`` distinct archs drawn uniformly with a generator seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    archs: list[Arch] = []
    while len(archs) < n:
        arch = space.sample(rng)
        if arch not in archs:
            archs.append(arch)
    return archs


class AccuracyCache:
    """Trained metrics by arch key in a JSON file, rewritten (merged, atomically) after each
    new training, so an interrupted run resumes and two runs can share one file."""

    def __init__(self, path: Path | None, config: dict[str, Any], recompute: bool) -> None:
        self.path, self.config = path, config
        self.results: dict[str, dict[str, float]] = {} if recompute else self._stored()
        self.trained = 0

    def _stored(self) -> dict[str, dict[str, float]]:
        if self.path is None or not self.path.exists():
            return {}
        stored = json.loads(self.path.read_text())
        return dict(stored["results"]) if stored.get("config") == self.config else {}

    def get(self, arch: Arch, train: Callable[[Arch], dict[str, float]]) -> dict[str, float]:
        if arch.key not in self.results:
            metrics = train(arch)
            self.trained += 1
            self.results[arch.key] = {k: metrics[k] for k in ("val_acc", "test_acc", "params")}
            if self.path is not None:
                merged = {**self._stored(), **self.results}
                body = {"config": self.config, "results": dict(sorted(merged.items()))}
                partial = self.path.with_suffix(".partial")
                partial.write_text(json.dumps(body, indent=1) + "\n")
                partial.replace(self.path)
        return self.results[arch.key]


def make_trainer(
    space: NB201Space, data: Any, epochs: int, train_fraction: float
) -> Callable[[Arch], dict[str, float]]:
    from nasforge.estimation import TrialContext
    from nasforge.estimation.train import TrainEvaluator

    evaluator = TrainEvaluator(
        data, epochs=epochs, train_fraction=train_fraction, threads=1, device="cpu"
    )

    def train(arch: Arch) -> dict[str, float]:
        return evaluator.evaluate(arch, TrialContext(space=space, seed=TRAIN_SEED, device="cpu"))

    return train


def make_zero_cost(data: Any, batch_size: int) -> Any:
    from nasforge.estimation.zero_cost import ZeroCostEvaluator

    return ZeroCostEvaluator(data, batch_size=batch_size, device="cpu", threads=1)


def correlations(
    archs: list[Arch],
    proxy_scores: list[dict[str, float]],
    accuracies: list[float],
) -> dict[str, float]:
    """Spearman rho of each proxy, and of the vote of synflow, jacob_cov and snip."""
    from scipy.stats import spearmanr

    from nasforge.estimation.proxies import VOTE_PROXIES, list_proxies, vote

    columns = {name: [s[name] for s in proxy_scores] for name in list_proxies()}
    columns["vote"] = list(vote(columns, VOTE_PROXIES))
    return {
        name: round(float(spearmanr(values, accuracies).statistic), 4)
        for name, values in columns.items()
    }


def search_best(
    space: NB201Space,
    seed: int,
    trials: int,
    cache: AccuracyCache,
    train: Callable[[Arch], dict[str, float]],
    score: Callable[[Arch], float] | None,
    candidates: int,
) -> float:
    """Random search (through the pre-filter when ``score`` is given) of ``trials`` trained
    archs; the test accuracy of the one with the best validation accuracy."""
    from nasforge.strategies import RandomSearch, Strategy
    from nasforge.strategies.prefilter import prefiltered
    from nasforge.trial import Trial, TrialStatus

    strategy: Strategy = RandomSearch(space, seed=seed)
    if score is not None:
        strategy = prefiltered(strategy, score, candidates)
    best_val, best_test = -1.0, 0.0
    for number in range(trials):
        arch = strategy.ask()
        metrics = cache.get(arch, train)
        val = metrics["val_acc"]
        strategy.tell(Trial(number, arch, TrialStatus.COMPLETE, metrics, scores=(val,)))
        if val > best_val:
            best_val, best_test = val, metrics["test_acc"]
    return best_test


def report_lines(rho_test: dict[str, float], rho_val: dict[str, float], n: int) -> list[str]:
    lines = [f"Spearman rho over {n} MNIST-1D archs (NAS-Bench-201 CIFAR-10, Abdelfattah 2021)"]
    lines.append(f"{'proxy':<10} {'test_acc':>9} {'val_acc':>9} {'NB201 C10':>10}")
    for name, rho in rho_test.items():
        published = PUBLISHED_NB201_CIFAR10.get(name)
        ref = f"{published:10.2f}" if published is not None else f"{'-':>10}"
        lines.append(f"{name:<10} {rho:9.3f} {rho_val[name]:9.3f} {ref}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    from rich.progress import Progress

    args = parse_args(argv)
    space = NB201Space(n_cells=1, channels=args.channels)
    archs = sample_archs(space, args.archs, args.seed)
    config: dict[str, Any] = {
        "epochs": args.epochs,
        "channels": args.channels,
        "train_seed": TRAIN_SEED,
    }
    if args.train_fraction != 1.0:
        config["train_fraction"] = args.train_fraction
    if args.samples != 5000:
        config["samples"] = args.samples
    cache = AccuracyCache(args.cache, config, args.recompute)
    data = load_dataset("mnist1d", num_samples=args.samples)  # made once, shared by both
    train = make_trainer(space, data, args.epochs, args.train_fraction)
    zero_cost = make_zero_cost(data, args.batch_size)
    from nasforge.estimation import TrialContext

    start = time.perf_counter()
    proxy_scores: list[dict[str, float]] = []
    trained: list[dict[str, float]] = []
    with Progress(transient=True) as progress:
        task = progress.add_task("proxies + training", total=len(archs))
        for arch in archs:
            if not args.train_only:
                ctx = TrialContext(space=space, seed=TRAIN_SEED, device="cpu")
                proxy_scores.append(zero_cost.evaluate(arch, ctx))
            trained.append(cache.get(arch, train))
            progress.advance(task)
    result: dict[str, Any] = {}
    if not args.train_only:
        rho_test = correlations(archs, proxy_scores, [t["test_acc"] for t in trained])
        rho_val = correlations(archs, proxy_scores, [t["val_acc"] for t in trained])
        print("\n".join(report_lines(rho_test, rho_val, len(archs))))
        result.update(rho_test)
    result.update({"n_archs": len(archs), "epochs": args.epochs})
    if args.prefilter:
        result["prefilter"] = run_prefilter(args, space, cache, train, zero_cost)
    acc = [t["test_acc"] for t in trained] or [math.nan]
    print(
        f"test_acc of the {len(archs)} archs: {min(acc):.1f}..{max(acc):.1f} (median "
        f"{float(np.median(acc)):.1f}); trained {cache.trained} now, "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(json.dumps(result))
    return 0


def run_prefilter(
    args: argparse.Namespace,
    space: NB201Space,
    cache: AccuracyCache,
    train: Callable[[Arch], dict[str, float]],
    zero_cost: Any,
) -> dict[str, Any]:
    """Random search with and without the pre-filter, ``--trials`` trained archs each."""
    score = zero_cost.scorer(space, args.prefilter_proxy, seed=TRAIN_SEED, device="cpu")
    out: dict[str, Any] = {}
    for label, scorer in (("random", None), (f"random+{args.prefilter_proxy}", score)):
        best = [
            search_best(space, seed, args.trials, cache, train, scorer, args.candidates)
            for seed in range(args.search_seeds)
        ]
        out[label] = {"best_test_acc": [round(b, 2) for b in best], "mean": float(np.mean(best))}
        print(f"{label:<18} best test_acc over seeds: {best} (mean {np.mean(best):.2f})")
    out.update({"trials": args.trials, "candidates": args.candidates})
    return out


if __name__ == "__main__":
    sys.exit(main())
