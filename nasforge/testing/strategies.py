"""Conformance suite for search strategies: the ask/tell contract every strategy must keep.

Two ways to use it. Subclass :class:`StrategyConformance` in a test module and give it a
``strategy_factory`` fixture (parametrise that fixture over ``list_strategies()`` so registering a
strategy is what gets it tested)::

    import pytest
    from nasforge.strategies import list_strategies
    from nasforge.testing.strategies import StrategyConformance, StrategyFactory

    class TestRegistered(StrategyConformance):
        @pytest.fixture(params=list_strategies())
        def strategy_factory(self, request: pytest.FixtureRequest) -> StrategyFactory:
            return StrategyFactory(request.param, learns=request.param != "random")

or call the ``check_*`` functions directly with a :class:`StrategyFactory`.

A strategy may refuse a space it cannot search by raising :class:`~nasforge.errors.ConfigError`
from ``check_space`` (the message must name the strategy): the check is then skipped. A pure
categorical :class:`~nasforge.space.CellSpace` may only be refused by a factory that says so
(``refuses_cells=True``, e.g. CMA-ES); every strategy must accept one of the suite's spaces.
"""

from __future__ import annotations

import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, Categorical, CellSpace, Float, Int, Space, with_training
from nasforge.strategies import Strategy, create_strategy
from nasforge.trial import Trial, TrialStatus

#: the five operations of NAS-Bench-201
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


@dataclass(frozen=True)
class StrategyFactory:
    """How the suite builds the strategy under test: ``factory(space, seed) -> Strategy``.

    Args:
        name: the strategy's registered name; a refusal (``ConfigError``) must mention it.
        options: keyword options passed on every construction (e.g. a smaller population).
        build: a callable ``build(space, seed=..., **options)``; defaults to
            :func:`~nasforge.strategies.create_strategy` with ``name``.
        learns: whether the strategy learns from scores; ``False`` (random search) holds it to
            the sanity floor of :func:`check_improves` only.
        refuses_cells: whether it may refuse cell spaces (numeric-only strategies such as
            CMA-ES); otherwise refusing a pure categorical cell fails.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    build: Callable[..., Strategy] | None = None
    learns: bool = True
    refuses_cells: bool = False

    def __call__(self, space: Space, seed: int) -> Strategy:
        if self.build is not None:
            return self.build(space, seed=seed, **self.options)
        return create_strategy(self.name, space, seed=seed, **self.options)


def cell_space() -> CellSpace:
    """A 4-node cell with 3 operations per edge (729 archs)."""
    return CellSpace(4, ("none", "skip_connect", "nor_conv_3x3"), name="conformance-cell")


def mixed_space() -> Space:
    """Categorical, Int, log-scale Float and a Float active only with ``optimizer='sgd'``."""
    return Space(
        [
            Categorical("optimizer", ["sgd", "adam"]),
            Float("lr", 1e-4, 1e-1, log=True),
            Int("layers", 1, 8),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
            Categorical("activation", ["relu", "gelu", "swish"]),
        ],
        name="conformance-mixed",
    )


def tiny_space() -> CellSpace:
    """A cell with one edge and four operations: exactly 4 archs."""
    return CellSpace(2, NB201_OPS[:4], name="conformance-tiny")


def nb201_space() -> CellSpace:
    """The NAS-Bench-201 cell: 4 nodes, 6 edges, 5 operations (15,625 archs)."""
    return CellSpace(4, NB201_OPS, name="conformance-nb201")


def ruled_space() -> Space:
    """A space with rules (:meth:`~nasforge.space.Space.violation`) written as PyTorch code
    (a :class:`~nasforge.spaces.DefinedSpace`): MetaQNN chains on inputs 8 wide, where "no
    pooling once the map is one wide" rules out many value combinations."""
    from nasforge.spaces import create_space

    return create_space("chain", max_layers=4, input_size=8)


def cell_training_space() -> Space:
    """:func:`tiny_space` with training dimensions after it: a choice of optimiser, a momentum
    active for one of them and a log-scale learning rate; what
    step-wise and path-encoding strategies must handle when training settings are searched
    with a cell (few dimensions, so that a Gaussian process asks quickly)."""
    return with_training(
        tiny_space(),
        optimizer=["sgd", "nesterov"],
        momentum={"low": 0.5, "high": 0.99},
        lr={"low": 1e-3, "high": 0.1, "log": True},
        batch_size=None,
        schedule=None,
        weight_decay=None,
        dropout=None,
        init=None,
    )


#: the spaces every check runs on, by name
SPACES: dict[str, Callable[[], Space]] = {
    "cell": cell_space,
    "ruled": ruled_space,
    "cell-training": cell_training_space,
    "mixed": mixed_space,
    "tiny": tiny_space,
}


def hash_objective(arch: Arch) -> float:
    """A deterministic score in [0, 1) that depends on the arch only (stable across processes)."""
    return zlib.crc32(arch.key.encode()) / 2**32


def complete(number: int, arch: Arch, score: float) -> Trial:
    """A finished trial with one objective."""
    return Trial(number, arch, TrialStatus.COMPLETE, {"score": score}, scores=(score,))


def failed(number: int, arch: Arch) -> Trial:
    """A trial whose evaluation raised."""
    return Trial(number, arch, TrialStatus.FAILED, error="RuntimeError: out of memory")


def pruned(number: int, arch: Arch) -> Trial:
    """A trial stopped early by a scheduler: a partial curve and no final score."""
    return Trial(number, arch, TrialStatus.PRUNED, intermediate={1: {"score": 0.1}})


def scored(number: int, arch: Arch) -> Trial:
    """A complete trial scored by :func:`hash_objective`."""
    return complete(number, arch, hash_objective(arch))


def _pure_cell(space: Space) -> bool:
    """Whether every dimension of ``space`` picks the operation of a cell edge."""
    edge_dims = {e.dim for cell in space.cell_templates() for e in cell.edges}
    return bool(edge_dims) and edge_dims >= set(space.names)


def build_or_refusal(factory: StrategyFactory, space: Space, seed: int = 0) -> Strategy | str:
    """The strategy, or the text of its legitimate refusal of ``space``.

    A refusal is a :class:`ConfigError` whose message names the strategy; a pure categorical
    cell space may not be refused unless the factory says ``refuses_cells`` (the test fails).
    """
    try:
        return factory(space, seed)
    except ConfigError as err:
        assert factory.name in str(err), f"refusal of {space!r} must name the strategy: {err}"
        if _pure_cell(space) and not factory.refuses_cells:
            pytest.fail(f"strategy {factory.name!r} must support a categorical CellSpace: {err}")
        return str(err)


def make_strategy(factory: StrategyFactory, space: Space, seed: int = 0) -> Strategy:
    """Build the strategy, skipping the calling test if it legitimately refuses ``space``."""
    strategy = build_or_refusal(factory, space, seed)
    if isinstance(strategy, str):
        pytest.skip(f"{factory.name} refuses {space.name}: {strategy}")
    return strategy


def assert_valid(space: Space, arch: object) -> None:
    """``arch`` is an :class:`Arch` of ``space`` in canonical form."""
    assert isinstance(arch, Arch), f"ask() returned {type(arch).__name__}, not an Arch"
    checked = space.validate(arch)
    assert checked == arch and checked.key == arch.key and dict(checked) == dict(arch)


def drive(strategy: Strategy, steps: int, script_seed: int = 1234) -> list[Trial | Arch]:
    """Interleave asks and tells as parallel workers would, and return the log of both.

    Each step asks 1-4 archs, then tells a random subset of the pending ones in random order:
    mostly complete (scored by :func:`hash_objective`), some failed, some pruned. The script
    comes from ``script_seed`` only, so two strategies giving the same asks get the same tells.
    """
    script = np.random.default_rng(script_seed)
    log: list[Trial | Arch] = []
    pending: list[Arch] = []
    number = 0
    for _ in range(steps):
        for _ in range(int(script.integers(1, 5))):
            arch = strategy.ask()
            log.append(arch)
            pending.append(arch)
        order = script.permutation(len(pending))
        done = [pending[i] for i in order[: int(script.integers(0, len(pending) + 1))]]
        for arch in done:
            pending.remove(arch)
            kind = script.random()
            trial = (failed if kind < 0.1 else pruned if kind < 0.2 else scored)(number, arch)
            strategy.tell(trial)
            log.append(trial)
            number += 1
    return log


def asked(log: list[Trial | Arch]) -> list[str]:
    """The keys of the archs asked in a :func:`drive` log."""
    return [entry.key for entry in log if isinstance(entry, Arch)]


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise ``TimeoutError`` if the block runs longer than ``seconds`` (POSIX main thread only).

    Nests: an enclosing limit keeps running and still fires if it is the shorter one.
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() != threading.main_thread():
        yield
        return
    start = time.monotonic()
    outer, _ = signal.getitimer(signal.ITIMER_REAL)
    limit = min(seconds, outer) if outer else seconds

    def on_alarm(signum: int, frame: object) -> None:
        nonlocal outer
        outer = 0.0  # this error reports an expired enclosing limit too; do not re-arm it
        raise TimeoutError(f"{what} took longer than {limit:.3g} s; does ask() hang?")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # give the enclosing limit what it has left
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-3))


def check_supports_cell_space(factory: StrategyFactory) -> None:
    """A pure categorical cell is accepted (unless ``refuses_cells``); some suite space is."""
    accepted = 0
    for space in (cell_space(), mixed_space(), tiny_space()):
        strategy = build_or_refusal(factory, space)
        if not isinstance(strategy, str):
            assert_valid(space, strategy.ask())
            accepted += 1
    assert accepted, f"strategy {factory.name!r} refuses every space of the suite"


def check_asks_are_valid(factory: StrategyFactory, space: Space) -> None:
    """Every ask, before and after tells, returns a valid ``Arch`` of the space."""
    strategy = make_strategy(factory, space)
    for entry in drive(strategy, steps=12):
        if isinstance(entry, Arch):
            assert_valid(space, entry)


def check_deterministic(factory: StrategyFactory, space: Space) -> None:
    """Same seed and same tells give the same asks; the seed is what sets the search."""
    first = asked(drive(make_strategy(factory, space, seed=7), steps=12))
    second = asked(drive(make_strategy(factory, space, seed=7), steps=12))
    assert first == second


def check_seeds_differ(factory: StrategyFactory) -> None:
    """On a large space (NB201, or the mixed one for ``refuses_cells``) seeds differ."""
    space = mixed_space() if factory.refuses_cells else nb201_space()
    runs = [asked(drive(make_strategy(factory, space, seed), steps=4)) for seed in range(3)]
    assert runs[0] != runs[1] and runs[0] != runs[2] and runs[1] != runs[2], runs


def check_parallel_asks(factory: StrategyFactory, space: Space) -> None:
    """Eight asks before any tell, then tells in shuffled order, then more asks."""
    strategy = make_strategy(factory, space)
    archs = [strategy.ask() for _ in range(8)]
    for arch in archs:
        assert_valid(space, arch)
    assert sum(strategy.pending_.values()) == 8 and not strategy.history_
    order = np.random.default_rng(3).permutation(8)
    for number, i in enumerate(order):
        strategy.tell(scored(number, archs[i]))
    assert not strategy.pending_, "every asked arch was told"
    assert [t.arch for t in strategy.history_] == [archs[i] for i in order]
    for _ in range(8):
        assert_valid(space, strategy.ask())


def check_failed_and_pruned(factory: StrategyFactory, space: Space) -> None:
    """Failed and pruned trials are accepted, mixed with complete ones and on their own."""
    strategy = make_strategy(factory, space)
    for number in range(30):
        strategy.tell((failed, pruned, scored)[number % 3](number, strategy.ask()))
    assert len(strategy.history_) == 30 and len(strategy.completed_) == 10
    for _ in range(5):
        assert_valid(space, strategy.ask())

    only_failures = make_strategy(factory, space, seed=1)
    for number in range(30):
        arch = only_failures.ask()
        only_failures.tell((failed, pruned)[number % 2](number, arch))
    assert only_failures.best_() is None
    for _ in range(5):
        assert_valid(space, only_failures.ask())


def check_duplicates_and_unasked(factory: StrategyFactory, space: Space) -> None:
    """One arch told three times, and an arch that was never asked, are accepted."""
    strategy = make_strategy(factory, space)
    arch = strategy.ask()
    for number in range(3):
        strategy.tell(complete(number, arch, 0.5 + 0.1 * number))
    stranger = space.sample(np.random.default_rng(99))
    strategy.tell(complete(3, stranger, 0.9))
    strategy.tell(complete(4, stranger, 0.8))
    assert len(strategy.history_) == 5
    assert all(count > 0 for count in strategy.pending_.values())
    for number in range(5, 25):
        arch = strategy.ask()
        assert_valid(space, arch)
        strategy.tell(scored(number, arch))
    assert not strategy.pending_


def check_replay(factory: StrategyFactory, space: Space) -> None:
    """A fresh strategy fed the same asks and tells asks next exactly what the original asks.

    This is how an experiment resumes: the original stops with trials still pending, a new one is
    built with the same seed and replays the stored calls in order. The replayed trials are
    copies as a store gives them back (arch from JSON, other worker and timings).
    """
    original = make_strategy(factory, space, seed=11)
    log = drive(original, steps=10)
    replica = make_strategy(factory, space, seed=11)
    for entry in log:
        if isinstance(entry, Arch):
            assert replica.ask() == entry, "replayed ask differs from the original"
        else:
            arch = Arch.from_json(entry.arch.to_json())
            replica.tell(replace(entry, arch=arch, worker="resumed", duration_s=1.0))
    assert replica.pending_ == original.pending_
    assert [original.ask().key for _ in range(5)] == [replica.ask().key for _ in range(5)]


def check_tiny_space(factory: StrategyFactory) -> None:
    """On a space of 4 archs, 20 asks return (duplicates allowed) and never hang."""
    space = tiny_space()
    strategy = make_strategy(factory, space)
    with time_limit(10.0, f"{factory.name}: 20 asks on a 4-arch space"):
        keys = set()
        for number in range(12):
            arch = strategy.ask()
            assert_valid(space, arch)
            strategy.tell(scored(number, arch))
            keys.add(arch.key)
        for _ in range(8):
            arch = strategy.ask()
            assert_valid(space, arch)
            keys.add(arch.key)
    assert len(keys) <= 4


def conv_count(arch: Arch) -> int:
    """How many edges of an NB201 cell hold ``nor_conv_3x3`` (0 to 6)."""
    return sum(1 for value in arch.values() if value == "nor_conv_3x3")


def best_conv_count(factory: StrategyFactory, seed: int, trials: int = 150) -> int:
    """Search the NB201 cell for ``trials`` trials on ``conv_count`` plus noise; the best count."""
    strategy = make_strategy(factory, nb201_space(), seed=seed)
    noise = np.random.default_rng(seed + 1000)
    best = 0
    for number in range(trials):
        arch = strategy.ask()
        best = max(best, conv_count(arch))
        strategy.tell(complete(number, arch, conv_count(arch) + float(noise.normal(0.0, 0.1))))
    return best


def check_improves(factory: StrategyFactory) -> None:
    """A loose sanity bound on a synthetic objective, over two seeds of 150 trials.

    The score is the number of ``nor_conv_3x3`` edges (0-6) plus noise. Every strategy must reach
    a best count of 3 in each run (random search fails that about once in 10**7 runs). A strategy
    that ``learns`` must reach 5 in at least one of the two runs, which random search does in
    about one case in three (regularized evolution fails about once in 10**5). Quality claims
    belong in ``benchmarks/``, not here.
    """
    bests = [best_conv_count(factory, seed) for seed in (0, 1)]
    assert min(bests) >= 3, f"{factory.name}: best nor_conv_3x3 counts {bests}; expected >= 3"
    if factory.learns:
        assert max(bests) >= 5, f"{factory.name}: best nor_conv_3x3 counts {bests}; expected 5"


def check_tell_unfinished_raises(factory: StrategyFactory, space: Space) -> None:
    """Telling a running or interrupted trial raises ``ValueError`` and changes nothing."""
    strategy = make_strategy(factory, space)
    arch = strategy.ask()
    for status in (TrialStatus.RUNNING, TrialStatus.INTERRUPTED):
        with pytest.raises(ValueError, match="finished"):
            strategy.tell(Trial(0, arch, status))
    assert not strategy.history_ and strategy.pending_[arch] == 1


class StrategyConformance:
    """Pytest tests every strategy must pass; subclass it and provide ``strategy_factory``.

    Override the ``strategy_factory`` fixture to return a :class:`StrategyFactory` (usually
    parametrised over ``list_strategies()``). Each test fails after ``time_limit_s`` seconds
    instead of hanging.
    """

    #: seconds one test may take before it fails as a hang: a liveness limit, not a speed
    #: check (the slowest registered strategy takes about 14 s alone and 20 s with the suite on
    #: every core of a 2-core machine; a loaded machine must not fail a working strategy)
    time_limit_s: ClassVar[float] = 300.0

    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        raise NotImplementedError("subclasses of StrategyConformance define strategy_factory")

    @pytest.fixture(params=sorted(SPACES))
    def space(self, request: pytest.FixtureRequest) -> Space:
        return SPACES[request.param]()

    def run_check(self, check: Callable[..., None], *args: Any) -> None:
        """Run one check under ``time_limit_s`` (only the check: never pytest's own reporting)."""
        with time_limit(self.time_limit_s, check.__name__):
            check(*args)

    def test_supports_cell_space(self, strategy_factory: StrategyFactory) -> None:
        self.run_check(check_supports_cell_space, strategy_factory)

    def test_asks_are_valid(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_asks_are_valid, strategy_factory, space)

    def test_deterministic(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_deterministic, strategy_factory, space)

    def test_seeds_differ(self, strategy_factory: StrategyFactory) -> None:
        self.run_check(check_seeds_differ, strategy_factory)

    def test_parallel_asks(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_parallel_asks, strategy_factory, space)

    def test_failed_and_pruned(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_failed_and_pruned, strategy_factory, space)

    def test_duplicates_and_unasked(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_duplicates_and_unasked, strategy_factory, space)

    def test_replay(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_replay, strategy_factory, space)

    def test_tiny_space(self, strategy_factory: StrategyFactory) -> None:
        self.run_check(check_tiny_space, strategy_factory)

    def test_improves(self, strategy_factory: StrategyFactory) -> None:
        self.run_check(check_improves, strategy_factory)

    def test_tell_unfinished_raises(self, strategy_factory: StrategyFactory, space: Space) -> None:
        self.run_check(check_tell_unfinished_raises, strategy_factory, space)
