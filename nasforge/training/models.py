"""Building a space's network at a chosen size, and counting its parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from nasforge.errors import ConfigError
from nasforge.space import Arch, ModelSpace, Space, Task


def build_model(
    space: Space, arch: Arch, task: Task, sizes: Mapping[str, tuple[int, str]]
) -> nn.Module:
    """``space.build(arch, task)`` with network-size overrides ``{key: (value, where it came
    from)}``, each of which must be one of the space's declared ``size_options``.

    ``where it came from`` names the option in the error raised for a size the space does not
    take (``"fidelity 'channels'"``, ``"n_cells"``).

    Raises:
        ConfigError: a size the space does not declare.

    Example:
        >>> from nasforge.spaces import NB201Space
        >>> space = NB201Space(n_cells=1, channels=8)
        >>> arch = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
        >>> small = build_model(space, arch, Task((1, 8), 3), {"channels": (4, "channels")})
        >>> count_parameters(small) < count_parameters(space.build(arch, Task((1, 8), 3)))
        True
    """
    if not sizes:
        return space.build(arch, task)
    declared = space.size_options if isinstance(space, ModelSpace) else {}
    for key, (value, source) in sizes.items():
        if key not in declared:
            raise ConfigError(
                f"{source}={value!r} needs a space that builds with another {key}, but space "
                f"{space.name!r} ({type(space).__name__}) does not; allowed: a space such as "
                f"'nb201', or no {key}"
            )
    assert isinstance(space, ModelSpace)
    return space.build(arch, task, **{key: value for key, (value, _) in sizes.items()})


def count_parameters(model: nn.Module) -> int:
    """The number of parameters of ``model`` (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


class EnsembleModel(nn.Module):
    """Networks combined: the output is the log of their mean softmax, in float32.

    A log-probability is a logit: ``argmax`` gives the ensemble's class and cross-entropy its
    loss, as with one network.

    Example:
        >>> import torch
        >>> one, two = nn.Linear(3, 4), nn.Linear(3, 4)
        >>> out = EnsembleModel([one, two])(torch.zeros(2, 3))
        >>> out.shape, bool(torch.allclose(out.exp().sum(1), torch.ones(2)))
        (torch.Size([2, 4]), True)
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ConfigError("members=[]; allowed: at least one network")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([member(x).float().softmax(dim=-1) for member in self.members])
        return probs.mean(dim=0).clamp_min(1e-12).log()
