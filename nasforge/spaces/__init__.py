"""Ready-made model spaces: search spaces that can also build the network for an arch.

Spaces are chosen by name (``create_space("nb201", n_cells=1)``) from code, a YAML config or the
CLI. Importing this package does not import torch; building a network does.

Example:
    >>> space = create_space("nb201", n_cells=1, channels=8)
    >>> space.size()
    15625
    >>> "nb201" in list_spaces()
    True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from nasforge.errors import ConfigError, one_of
from nasforge.registry import Registry
from nasforge.space import Space, TrainingSpace, with_training
from nasforge.spaces.define import Choices, DefinedSpace
from nasforge.spaces.nb201 import HYPERPARAMETERS, NB201Space

#: the option every space takes through :func:`create_space`: training dimensions to attach
#: (:func:`~nasforge.space.with_training`), a mapping of fields or ``true`` for the defaults
TRAINING_OPTION = "training"


class SpaceRegistry(Registry[Space]):
    """The registry of spaces: a space with training dimensions reads back as its inner
    space's name and options plus ``training``."""

    def options_of(self, obj: object) -> tuple[str, dict[str, Any]] | None:
        if not isinstance(obj, TrainingSpace):
            return super().options_of(obj)
        found = super().options_of(obj.inner)
        if found is None:
            return None
        return found[0], {**found[1], TRAINING_OPTION: dict(obj.training)}


SPACES: SpaceRegistry = SpaceRegistry("space")
SPACES.register(
    "nb201",
    NB201Space,
    "NAS-Bench-201 cell (4 nodes, 6 edges, 5 ops) in its ResNet-like macro network, 1-D or 2-D.",
)
SPACES.register(
    "darts",
    "nasforge.spaces.darts:DartsSpace",
    "DARTS: normal and reduction cells of 4 two-input nodes, 7 operations, 1-D or 2-D.",
)
SPACES.register(
    "pytorch",
    "nasforge.spaces.define:DefinedSpace",
    "A space written as PyTorch code with choice points (option definition: 'module:name').",
)

SPACES.register(
    "chain",
    "nasforge.spaces.chain:ChainSpace",
    "MetaQNN / NAS-RL chains: conv (kernel, filters, stride) and pooling layers with NAS-RL "
    "skips, 0-2 fully connected layers, MetaQNN's validity rules; 1-D or 2-D.",
)


SPACES.register(
    "mobile",
    "nasforge.spaces.mobile:MobileSpace",
    "MnasNet / ProxylessNAS stages of mobile blocks (depthwise-separable, inverted residual with "
    "SE, grouped, fire), per-stage depth and width, 1-D or 2-D.",
)
SPACES.register(
    "inception",
    "nasforge.spaces.inception:InceptionSpace",
    "GoogLeNet-style multi-branch blocks: branch count, branch operations, 1x1 reductions, "
    "concatenation; 1-D or 2-D.",
)
SPACES.register(
    "large-scale-evolution",
    "nasforge.spaces.large_scale_evolution:LargeScaleEvolutionSpace",
    "Large-Scale Evolution (Real et al. 2017): networks that grow from no convolution by the "
    "paper's mutations (layers, strides, channels, filter sizes, skips, learning rate).",
)
SPACES.register(
    "evolved-topology",
    "nasforge.spaces.evolved_topology:EvolvedTopologySpace",
    "Zhang et al. 2018: stages whose DAG of conv blocks grows by adding nodes and edges and "
    "removing edges.",
)
SPACES.register(
    "genetic-cnn",
    "nasforge.spaces.genetic_cnn:GeneticCNNSpace",
    "Genetic CNN (Xie & Yuille 2017): stages of ordered conv nodes, one connection bit per "
    "pair, default input/output nodes; bit-flip mutation, stage-swap crossover; 1-D or 2-D.",
)
SPACES.register(
    "hierarchical",
    "nasforge.spaces.hierarchical:HierarchicalSpace",
    "Hierarchical representations (Liu et al. 2018): motifs of motifs over 6 primitives, the "
    "paper's one mutation, a flat variant; 1-D or 2-D.",
)
SPACES.register(
    "rnn-cell",
    "nasforge.spaces.rnn_cell:RnnCellSpace",
    "Recurrent cells (NAS-RL, Jozefowicz et al., Schrimpf et al.): graphs over x, h and c of "
    "linear maps, sums, products, blends and activations; LSTM, GRU and RNN as references.",
)


def register_space(name: str, factory: Callable[..., Space] | str, summary: str = "") -> None:
    """Make ``factory(**options)`` available as space ``name``."""
    SPACES.register(name, factory, summary)


def create_space(name: str, **options: Any) -> Space:
    """Construct the space registered as ``name`` with keyword ``options``.

    Every space also takes ``training``: the fields of :func:`~nasforge.space.with_training`
    (a mapping, or ``True`` for the defaults; ``None`` or ``False`` for none), attached after
    the space's own dimensions.

    Raises:
        UnknownNameError: no space is registered as ``name``.
        ConfigError: an option is not one the space accepts, or its value is not allowed.
    """
    factory = SPACES.get(name)
    options = dict(options)
    training = options.pop(TRAINING_OPTION, None)
    allowed = _option_names(factory)
    if allowed is not None:
        for option in options:
            if option not in allowed:
                allowed_all = one_of([*allowed, TRAINING_OPTION])
                raise ConfigError(
                    f"space {name!r} has no option {option!r}; allowed: {allowed_all}"
                )
    space = factory(**options)
    if training is None or training is False:
        return space
    if getattr(space, "variable_size", False):
        raise ConfigError(
            f"space {name!r}: training={training!r}; a space of variable-size genomes keeps its "
            "training choices in the genome; allowed: null"
        )
    if not isinstance(training, Mapping) and training is not True:
        raise ConfigError(
            f"space {name!r}: training={training!r}; allowed: a mapping of training fields, "
            "true for the defaults, or null"
        )
    return with_training(space, training)


def list_spaces() -> list[str]:
    """Names of the registered spaces, built-ins first."""
    return SPACES.names()


def _option_names(factory: Callable[..., Any]) -> list[str] | None:
    """Keyword options ``factory`` accepts (``None`` when it takes ``**kwargs``)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds]


__all__ = [
    "HYPERPARAMETERS",
    "SPACES",
    "TRAINING_OPTION",
    "Choices",
    "DefinedSpace",
    "NB201Space",
    "SpaceRegistry",
    "create_space",
    "list_spaces",
    "register_space",
]
