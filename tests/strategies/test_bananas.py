"""BANANAS: path encoding, the neural-predictor ensemble, mutation candidates, parallel asks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasforge.errors import ConfigError
from nasforge.space import Arch, Categorical, CellSpace, Float, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.bananas import Bananas, MLPEnsemble, PathEncoder
from nasforge.testing.spaces import LadderSpace
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import conv_count
from nasforge.testing.strategies import nb201_space as nb201


def edits(space: Space, a: Arch, b: Arch) -> int:
    return sum(a[n] != b[n] for n in space.names)


# ---- path encoding ---------------------------------------------------------------------------


def test_path_features_of_a_three_node_cell() -> None:
    space = CellSpace(3, ["none", "skip", "conv"])
    enc = PathEncoder(space)
    assert enc.paths == [
        ("skip",),
        ("conv",),
        ("skip", "skip"),
        ("skip", "conv"),
        ("conv", "skip"),
        ("conv", "conv"),
    ]
    arch = space.parse("|skip~0|+|conv~0|conv~1|")  # 0->2 conv; 0->1->2 skip, conv
    assert enc(arch).tolist() == [0, 1, 0, 1, 0, 0]


def test_none_edges_cut_paths() -> None:
    space = CellSpace(3, ["none", "skip", "conv"])
    enc = PathEncoder(space)
    assert enc(space.parse("|none~0|+|conv~0|conv~1|")).tolist() == [0, 1, 0, 0, 0, 0]
    assert not enc(space.parse("|conv~0|+|none~0|none~1|")).any()


def test_nb201_paths_are_counted_and_truncation_keeps_the_shortest() -> None:
    space = nb201()
    enc = PathEncoder(space)
    assert len(enc.paths) == 4 + 4**2 + 4**3  # 'none' is not an operation on a path
    all_conv = space.make({e: "nor_conv_3x3" for e in space.edge_names})
    vec = enc(all_conv)
    # four routes 0->3: one of length 1, two of length 2, one of length 3
    assert vec[enc.paths.index(("nor_conv_3x3",))] == 1
    assert vec[enc.paths.index(("nor_conv_3x3",) * 2)] == 2
    assert vec[enc.paths.index(("nor_conv_3x3",) * 3)] == 1
    assert vec.sum() == 4
    short = PathEncoder(space, truncate=20)
    assert short.paths == enc.paths[:20] and all(len(p) <= 2 for p in short.paths)
    assert short(all_conv).sum() == 3  # the length-3 path is cut off


def test_extra_dimensions_follow_the_paths() -> None:
    space = CellSpace(3, ["none", "conv"], extra=[Categorical("width", [8, 16])])
    enc = PathEncoder(space)
    vec = enc(space.parse("|conv~0|+|conv~0|none~1|,width=16"))
    assert vec.tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize(
    ("key", "nonzero"),
    [
        (
            "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|",
            {0: 1.0, 16: 1.0},
        ),
        ("|none~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|", {3: 1.0}),
        (
            "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
            "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|",
            {2: 1.0, 10: 1.0, 13: 1.0, 49: 1.0},
        ),
    ],
)
def test_nb201_path_vectors_are_the_recorded_ones(key: str, nonzero: dict[int, float]) -> None:
    """Recorded before path encoding read the cell from ``space.cells``: same features, same
    order, so a surrogate (and every search that uses one) behaves as it did."""
    space = nb201()
    vec = PathEncoder(space)(space.parse(key))
    assert len(vec) == 84
    assert {i: v for i, v in enumerate(vec.tolist()) if v} == nonzero


def test_a_cell_space_of_any_class_gets_path_features() -> None:
    """A 3-node cell whose dimensions are named a (0->1), b (1->2), c (0->2, conv or zero)."""
    space = LadderSpace()
    enc = PathEncoder(space)
    # the short path 0->2 only by conv; the long one by every pair of live ops
    assert enc.paths == [
        ("conv",),
        ("conv", "conv"),
        ("conv", "pool"),
        ("pool", "conv"),
        ("pool", "pool"),
    ]
    arch = space.make({"a": "pool", "b": "conv", "c": "conv", "lr": 0.1})
    assert enc(arch).tolist() == [1, 0, 0, 1, 0, 0.5]
    cut = space.make({"a": "zero", "b": "conv", "c": "zero", "lr": 1.0})
    assert enc(cut).tolist() == [0, 0, 0, 0, 0, 1.0]
    strategy = Bananas(space, seed=0)
    assert strategy.encoding_ == "path"
    assert strategy.encode_(arch).tolist() == enc(arch).tolist()
    both = Bananas(space, seed=0, encoding="path+onehot")
    assert len(both.encode_(arch)) == enc.size + space.encoding_size


def test_path_encodings_need_cells_and_the_default_does_without() -> None:
    space = Space([Int("layers", 1, 8), Categorical("act", ["relu", "gelu"])], name="plain")
    for encoding in ("path", "path+onehot"):
        with pytest.raises(ConfigError) as err:
            Bananas(space, encoding=encoding)
        message = str(err.value)
        assert message == (
            f"strategy 'bananas': encoding={encoding!r} needs a space with cells and space "
            "'plain' has none; allowed: 'onehot' or 'auto'"
        )
    default = Bananas(space, seed=0)
    assert default.encoding == "auto" and default.encoding_ == "onehot"
    assert Bananas(nb201(), seed=0).encoding_ == "path"


# ---- predictor ---------------------------------------------------------------------------------


def test_ensemble_ranks_a_synthetic_objective() -> None:
    space = nb201()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(400)]
    x = np.stack([space.encode(a) for a in archs])
    y = np.asarray([conv_count(a) for a in archs], dtype=float)
    model = MLPEnsemble(5, seed=0).fit(x[:150], (y[:150] - y.mean()) / y.std(), 200)
    pred = model.predict(x[150:])
    assert pred.shape == (5, 250)
    assert spearmanr(pred.mean(axis=0), y[150:]).statistic > 0.9
    assert (pred.std(axis=0) > 0).all()  # members disagree: the ensemble has an uncertainty


def test_ensemble_fit_is_reproducible() -> None:
    x = np.random.default_rng(1).random((30, 6))
    y = x.sum(axis=1)
    a = MLPEnsemble(3, seed=4).fit(x, y, 20).predict(x)
    b = MLPEnsemble(3, seed=4).fit(x, y, 20).predict(x)
    assert np.array_equal(a, b)


# ---- the search --------------------------------------------------------------------------------


def test_registered() -> None:
    strategy = create_strategy("bananas", nb201(), seed=0)
    assert isinstance(strategy, Bananas)
    assert (strategy.acquisition, strategy.initial_random) == ("its", 10)


def test_candidates_are_mutations_of_the_best() -> None:
    space = nb201()
    strategy = Bananas(space, seed=3, initial_random=10, top_k=6)
    for number in range(40):
        if number >= 10:
            scored = strategy._scored()
            top = sorted(scored, key=lambda a: -scored[a])[:6]
        arch = strategy.ask()
        if number >= 10:
            assert min(edits(space, arch, parent) for parent in top) <= 2
            assert arch not in scored
        strategy.tell(done(number, arch, float(conv_count(arch))))


def test_pending_archs_are_not_proposed_again() -> None:
    strategy = Bananas(nb201(), seed=0, initial_random=5)
    for number in range(12):
        arch = strategy.ask()
        strategy.tell(done(number, arch, float(conv_count(arch))))
    told = {t.arch for t in strategy.history_}
    parallel = [strategy.ask() for _ in range(30)]
    assert len(set(parallel)) == 30 and not told & set(parallel)


def test_finds_the_best_of_a_synthetic_objective_quickly() -> None:
    space = nb201()
    best = []
    for seed in range(2):
        # a count of edges: the one-hot encoding represents it exactly, path counts do not
        strategy = Bananas(space, seed=seed, encoding="onehot")
        top = 0
        for number in range(40):
            arch = strategy.ask()
            top = max(top, conv_count(arch))
            strategy.tell(done(number, arch, float(conv_count(arch))))
        best.append(top)
    assert min(best) == 6  # random search reaches 6 in 40 asks about once in 400 runs


def test_acquisitions_differ_and_ucb_is_deterministic_given_the_model() -> None:
    space = nb201()
    runs = {}
    for acquisition in ("its", "ucb"):
        strategy = Bananas(space, seed=2, acquisition=acquisition, initial_random=5)
        keys = []
        for number in range(15):
            arch = strategy.ask()
            keys.append(arch.key)
            strategy.tell(done(number, arch, float(conv_count(arch))))
        runs[acquisition] = keys
    assert runs["its"][:5] == runs["ucb"][:5]
    assert runs["its"][5:] != runs["ucb"][5:]


def test_numeric_dimensions_are_searched() -> None:
    space = Space([Int("layers", 1, 8), Float("lr", 1e-4, 1e-1, log=True)])
    strategy = Bananas(space, seed=0, initial_random=4)
    for number in range(15):
        arch = strategy.ask()
        space.validate(arch)
        strategy.tell(done(number, arch, -abs(arch["layers"] - 5) - abs(np.log10(arch["lr"]) + 2)))


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("acquisition", "ei", "'its' or 'ucb'"),
        ("encoding", "graph", "path, path\\+onehot, onehot"),
        ("n_models", 0, ">= 1"),
        ("ucb_beta", -1.0, ">= 0"),
        ("truncate", 0, ">= 1"),
    ],
)
def test_bad_options_are_named(option: str, value: object, allowed: str) -> None:
    with pytest.raises(ConfigError, match=f"'bananas'.*{option}.*{allowed}"):
        Bananas(nb201(), **{option: value})  # type: ignore[arg-type]
