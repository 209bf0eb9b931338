"""BANANAS, White, Neiswanger & Savani 2021, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search" (AAAI 2021)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.space import ABSENT_OPS, Arch, Space
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial

#: the encodings :class:`Bananas` and PNAS accept (see :func:`resolve_encoding`)
ENCODINGS = ("auto", "path", "path+onehot", "onehot")


class PathEncoder:
    """Path encoding of a space's cells (White et al. 2021, section 4), other dimensions one-hot.

    A feature is one sequence of operations along a path from an input node to an output node
    of a cell (see :meth:`~nasforge.space.CellGraph.paths`); its value is how many such paths
    the cell has (edges whose operation is in :data:`~nasforge.space.ABSENT_OPS` carry
    nothing, so paths through them do not count). The features are every sequence the
    space's cell templates allow, over their live operations: ordered by path length, shortest
    first, then by the operations in the order the space lists them, so ``truncate`` keeps the
    shortest paths (the ones random cells hold most often, as the paper argues). A space with
    several cells gets each cell's features in turn (``truncate`` applies to each). The
    ``space.encode`` of the dimensions that decide no cell edge follows the path counts.

    Example:
        >>> from nasforge.space import CellSpace
        >>> space = CellSpace(3, ["none", "skip_connect", "conv"])
        >>> enc = PathEncoder(space)
        >>> enc.paths[:2], len(enc.paths)
        ([('skip_connect',), ('conv',)], 6)
        >>> arch = space.parse("|conv~0|+|skip_connect~0|conv~1|")
        >>> enc(arch)[:6].tolist()  # one path 0->2 (skip), one 0->1->2 (conv, conv)
        [1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """

    def __init__(self, space: Space, truncate: int | None = None) -> None:
        templates = space.cell_templates()
        if not templates:
            raise ConfigError(
                f"path encoding: space {space.name!r} states no cells; allowed: a space whose "
                "cell_templates() are not empty"
            )
        self.space = space
        rank: dict[str, int] = {}
        for template in templates:
            for op in template.ops:
                rank.setdefault(op, len(rank))
        self.paths: list[tuple[str, ...]] = []
        self._indexes: list[tuple[int, dict[tuple[str, ...], int]]] = []
        for template in templates:
            found: set[tuple[str, ...]] = set()
            for route in template.routes(ABSENT_OPS):
                live = [
                    [op for op in (e.choices or (e.op,)) if op is not None and op not in ABSENT_OPS]
                    for e in route
                ]
                found.update(itertools.product(*live))
            paths = sorted(found, key=lambda p: (len(p), [rank[op] for op in p]))
            if truncate is not None:
                paths = paths[:truncate]
            self._indexes.append((len(self.paths), {p: i for i, p in enumerate(paths)}))
            self.paths.extend(paths)
        decided = {dim for template in templates for dim in template.dims}
        #: the dimensions that decide no cell edge, one-hot after the path counts
        self.extra = [d for d in space.dims if d.name not in decided]
        self.size = len(self.paths) + sum(d.width for d in self.extra)

    def __call__(self, arch: Arch) -> np.ndarray:
        out = np.zeros(self.size)
        cells = self.space.cells(arch)
        for (offset, index), cell in zip(self._indexes, cells, strict=True):
            for path in cell.paths(ABSENT_OPS):
                i = index.get(path)
                if i is not None:
                    out[offset + i] += 1.0
        width = len(self.paths)
        for dim in self.extra:
            value = arch[dim.name]
            if value is not None:
                out[width : width + dim.width] = dim.encode(value)
            width += dim.width
        return out


class MLPEnsemble:
    """``n_models`` small ReLU MLPs trained together (one batched network), full batch, with Adam.

    Members differ by their random initialisation only, as in the paper. It is plain NumPy (with
    BLAS held to one thread: the matrices are tiny) and draws only from a generator seeded with
    ``seed``, so a fit is reproducible. :meth:`fit` trains ``epochs`` steps from scratch;
    :meth:`update` continues from the current weights, which is how a search refits cheaply
    after each new result.
    """

    def __init__(
        self,
        n_models: int = 5,
        hidden: int = 32,
        layers: int = 3,
        lr: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.n_models, self.hidden, self.layers = n_models, hidden, layers
        self.lr, self.seed = lr, seed
        self.params_: list[np.ndarray] = []
        self._moments: list[tuple[np.ndarray, np.ndarray]] = []
        self._steps = 0

    def _forward(self, x: np.ndarray) -> list[np.ndarray]:
        hs = [np.broadcast_to(x, (self.n_models, *x.shape))]
        for k in range(0, len(self.params_), 2):
            z = hs[-1] @ self.params_[k] + self.params_[k + 1]
            hs.append(np.maximum(z, 0.0) if k + 2 < len(self.params_) else z)
        return hs

    def fit(self, x: np.ndarray, y: np.ndarray, epochs: int) -> MLPEnsemble:
        """Initialise the weights afresh and train ``epochs`` steps."""
        rng = np.random.default_rng(self.seed)
        sizes = [x.shape[1], *([self.hidden] * self.layers), 1]
        self.params_ = []
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(max(fan_in, 1))
            self.params_.append(rng.uniform(-bound, bound, (self.n_models, fan_in, fan_out)))
            self.params_.append(rng.uniform(-bound, bound, (self.n_models, 1, fan_out)))
        self._moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self.params_]
        self._steps = 0
        return self.update(x, y, epochs)

    def update(self, x: np.ndarray, y: np.ndarray, epochs: int) -> MLPEnsemble:
        """Train ``epochs`` more steps from the current weights (mean absolute error, Adam)."""
        if not self.params_ or self.params_[0].shape[1] != x.shape[1]:
            return self.fit(x, y, epochs)
        with threadpool_limits(limits=1):
            for _ in range(epochs):
                self._step(x, y)
        return self

    def _step(self, x: np.ndarray, y: np.ndarray) -> None:
        hs = self._forward(x)
        grad = np.sign(hs[-1][..., 0] - y)[..., None] / len(x)  # d(mean absolute error)
        self._steps += 1
        b1, b2 = 0.9, 0.999
        for k in range(len(self.params_) - 2, -1, -2):
            grads = (hs[k // 2].transpose(0, 2, 1) @ grad, grad.sum(axis=1, keepdims=True))
            if k:
                grad = (grad @ self.params_[k].transpose(0, 2, 1)) * (hs[k // 2] > 0)
            for i, g in zip((k, k + 1), grads, strict=True):
                m, v = self._moments[i]
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                m_hat = m / (1 - b1**self._steps)
                v_hat = v / (1 - b2**self._steps)
                self.params_[i] -= self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions of every member, shape ``(n_models, len(x))``."""
        with threadpool_limits(limits=1):
            return self._forward(x)[-1][..., 0]


def resolve_encoding(space: Space, encoding: str, with_cells: str, strategy: str) -> str:
    """The encoding a strategy uses: ``"auto"`` is ``with_cells`` on a space that states cells
    (:meth:`~nasforge.space.Space.cell_templates`) and ``"onehot"`` otherwise.

    Raises:
        ConfigError: ``encoding`` is unknown, or a path encoding is asked of a space without
            cells (naming ``strategy`` and the option).
    """
    if encoding not in ENCODINGS:
        raise ConfigError(
            f"strategy {strategy!r}: encoding must be one of {', '.join(ENCODINGS)}, "
            f"got {encoding!r}"
        )
    has_cells = bool(space.cell_templates())
    if encoding == "auto":
        return with_cells if has_cells else "onehot"
    if encoding != "onehot" and not has_cells:
        raise ConfigError(
            f"strategy {strategy!r}: encoding={encoding!r} needs a space with cells and space "
            f"{space.name!r} has none; allowed: 'onehot' or 'auto'"
        )
    return encoding


def make_encoder(
    space: Space, encoding: str, truncate: int | None = None
) -> tuple[Callable[[Arch], np.ndarray], int]:
    """``(encode, size)``: ``"path"`` (the cells' :class:`PathEncoder`), ``"path+onehot"``
    (both concatenated) or ``"onehot"`` (``space.encode``). A path encoding needs a space with
    cells; ``"auto"`` is ``"path"`` where the space has cells, else ``"onehot"``."""
    if encoding == "auto":
        encoding = "path" if space.cell_templates() else "onehot"
    if encoding == "onehot":
        return space.encode, space.encoding_size
    paths = PathEncoder(space, truncate)
    if encoding == "path":
        return paths, paths.size
    return (lambda arch: np.concatenate([paths(arch), space.encode(arch)])), (
        paths.size + space.encoding_size
    )


def standardise(y: Sequence[float]) -> np.ndarray:
    """Scores as z-scores, the worst clipped at 3 deviations below the median (failed-ish archs
    at chance accuracy would otherwise dominate a mean-absolute-error fit)."""
    arr = np.asarray(y, dtype=np.float64)
    scale = arr.std() or 1.0
    arr = np.maximum(arr, np.median(arr) - 3.0 * scale)
    return (arr - arr.mean()) / (arr.std() or 1.0)


class Bananas(Strategy):
    """Bayesian optimisation with an ensemble of neural predictors over the path encoding.

    The first ``initial_random`` asks are random. Then each ask fits an ensemble of
    ``n_models`` MLPs to every scored trial (input: the path encoding of the cells on a space
    that states cells, ``space.encode`` otherwise; target: the standardised
    score), makes ``candidates`` novel archs by mutating the ``top_k`` best archs seen, and
    returns the candidate that maximises the acquisition: independent Thompson sampling (``"its"``,
    one draw per candidate from a normal with the ensemble's mean and standard deviation) or
    ``"ucb"`` (mean plus ``ucb_beta`` deviations). Archs already asked, pending ones included,
    are never candidates, so parallel asks get different archs.

    Departures from the paper, and why:

    - path features count paths (the paper records presence) and skip paths through ``none``:
      a ``none`` edge is a missing edge, as in NAS-Bench-101 where the paper defined paths;
    - candidates are every one-edit neighbour of the best ``max(1, top_k // 2)`` archs plus
      random one- and two-edit mutations of the ``top_k`` best until ``candidates`` are
      gathered. The default ``top_k=2`` (the incumbent's whole neighbourhood and mutations of
      the two best, close to NASLib's NAS-Bench-201 setting) searched CIFAR-10 better than the
      paper's wider parent set (``top_k=10``: 94.16 instead of 94.25 after 100 queries, 20
      seeds);
    - the ensemble (3 layers of 32 units rather than 10 of 20, trained on mean absolute error as
      in the paper) is trained ``epochs`` steps on the first fit and then warm-started: each
      ask after a new tell trains ``update_epochs`` more steps on all results instead of
      retraining from scratch, which keeps an ask at a few tens of milliseconds;
    - scores are standardised with outliers clipped, which the paper does not need on
      NAS-Bench-101 but which matters when a few archs sit at chance accuracy.

    Works on any space: numeric dimensions are encoded in ``[0, 1]`` and mutated by the space.

    Args:
        space: the space to search.
        seed: seed of the generator and of the predictors' initialisation.
        initial_random: random asks before the predictor is used.
        n_models: members of the ensemble.
        candidates: candidate archs scored per ask.
        top_k: best archs whose mutations make the candidates.
        acquisition: ``"its"`` (independent Thompson sampling) or ``"ucb"``.
        ucb_beta: deviations added to the mean by ``"ucb"``.
        encoding: ``"auto"`` (``"path"`` on a space that states cells, ``"onehot"`` on any
            other), ``"path"``, ``"path+onehot"`` (both concatenated) or ``"onehot"``
            (``space.encode``); a path encoding on a space without cells is refused. The one in
            use is ``encoding_``.
        truncate: keep only this many path features (the shortest paths), ``None`` for all.
        epochs: full-batch Adam steps of the first fit.
        update_epochs: steps added to the warm-started ensemble after each new result.
    """

    name = "bananas"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        initial_random: int = 10,
        n_models: int = 5,
        candidates: int = 100,
        top_k: int = 2,
        acquisition: str = "its",
        ucb_beta: float = 0.5,
        encoding: str = "auto",
        truncate: int | None = None,
        epochs: int = 200,
        update_epochs: int = 20,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.initial_random = positive_int(self.name, "initial_random", initial_random, 1)
        self.n_models = positive_int(self.name, "n_models", n_models, 1)
        self.candidates = positive_int(self.name, "candidates", candidates, 1)
        self.top_k = positive_int(self.name, "top_k", top_k, 1)
        self.epochs = positive_int(self.name, "epochs", epochs, 1)
        self.update_epochs = positive_int(self.name, "update_epochs", update_epochs, 1)
        if acquisition not in ("its", "ucb"):
            raise ConfigError(
                f"strategy {self.name!r}: acquisition must be 'its' or 'ucb', got {acquisition!r}"
            )
        self.encoding_ = resolve_encoding(space, encoding, "path", self.name)
        if isinstance(ucb_beta, bool) or not isinstance(ucb_beta, (int, float)) or ucb_beta < 0:
            raise ConfigError(
                f"strategy {self.name!r}: ucb_beta must be a number >= 0, got {ucb_beta!r}"
            )
        if truncate is not None:
            truncate = positive_int(self.name, "truncate", truncate, 1)
        self.acquisition, self.ucb_beta, self.encoding = acquisition, float(ucb_beta), encoding
        self.truncate = truncate
        self.encode_, _ = make_encoder(space, self.encoding_, truncate)
        self.model_: MLPEnsemble | None = None
        self._fitted_on = -1
        self._codes: dict[Arch, np.ndarray] = {}  # encodings of the scored archs
        self._random_asked = 0

    def propose(self) -> Arch:
        scored = self._scored()
        if self._random_asked < self.initial_random or len(scored) < 2:
            self._random_asked += 1
            return self.novel(lambda: self.space.sample(self.rng))
        pool = self._candidates(scored)
        if not pool:
            return self.novel(lambda: self.space.sample(self.rng))
        preds = self._predict(scored, pool)
        mean, std = preds.mean(axis=0), preds.std(axis=0)
        if self.acquisition == "its":
            value = self.rng.normal(mean, std)
        else:
            value = mean + self.ucb_beta * std
        return pool[int(np.argmax(value))]

    def _scored(self) -> dict[Arch, float]:
        """Each scored arch with its mean score (an arch told twice counts once)."""
        sums: dict[Arch, list[float]] = {}
        for trial in self.history_:
            if trial.score is not None:
                sums.setdefault(trial.arch, []).append(trial.score)
        return {arch: float(np.mean(v)) for arch, v in sums.items()}

    def _candidates(self, scored: dict[Arch, float]) -> list[Arch]:
        ranked = sorted(scored, key=lambda a: -scored[a])[: self.top_k]
        pool: dict[Arch, None] = {}

        def add(arch: Arch) -> None:
            if arch not in self.seen_:
                pool[arch] = None

        for parent in ranked[: max(1, self.top_k // 2)]:
            for arch in self.space.neighbors(parent):
                add(arch)
        tries = 0
        while len(pool) < self.candidates and tries < 4 * self.candidates:
            tries += 1
            child = ranked[int(self.rng.integers(len(ranked)))]
            for _ in range(1 + int(self.rng.integers(2))):
                child = self.space.mutate(child, self.rng)
            add(child)
        return list(pool)

    def _predict(self, scored: dict[Arch, float], pool: list[Arch]) -> np.ndarray:
        if self.model_ is None or self._fitted_on != len(self.history_):
            for arch in scored:
                if arch not in self._codes:
                    self._codes[arch] = self.encode_(arch)
            x = np.stack([self._codes[a] for a in scored])
            y = standardise(list(scored.values()))
            if self.model_ is None:
                self.model_ = MLPEnsemble(self.n_models, seed=self.seed).fit(x, y, self.epochs)
            else:
                self.model_.update(x, y, self.update_epochs)
            self._fitted_on = len(self.history_)
        return self.model_.predict(np.stack([self.encode_(a) for a in pool]))

    def observe(self, trial: Trial) -> None:
        """Nothing to do at once: the ensemble is refit lazily by the next ask."""
