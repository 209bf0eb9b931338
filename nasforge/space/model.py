"""``ModelSpace``: a search space whose archs also build networks.

A plain :class:`~nasforge.space.Space` describes choices; a model space also turns an arch into
a ``torch.nn.Module`` for a :class:`~nasforge.space.Task` and declares the network-size options
its ``build`` takes (``size_options``: cells per stage, channels, ...). Those are what a lower
fidelity may shrink (Zoph et al. 2018 and Real et al. 2019 searched with fewer cells and
filters than they trained the result with) and what an export records to build the same network
again. This module imports no torch: ``build`` does, when it is called.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nasforge.errors import ConfigError
from nasforge.space.base import Space

if TYPE_CHECKING:  # pragma: no cover - typing only; ``space`` never imports torch
    import torch

    from nasforge.space.arch import Arch
    from nasforge.space.task import Task


class ModelSpace(Space):
    """A :class:`Space` that builds the network of each arch.

    Subclasses implement :meth:`build` and, when it takes network-size keywords, say which in
    :attr:`size_options` with the values the space uses when none is given.
    """

    @property
    def size_options(self) -> Mapping[str, int]:
        """The network-size keywords :meth:`build` takes, with this space's own values.

        Empty when the network has one size. A training evaluator passes a lower fidelity's
        ``n_cells=2`` to ``build`` only when ``n_cells`` is listed here.
        """
        return {}

    @abstractmethod
    def build(self, arch: Arch, task: Task, **sizes: int) -> torch.nn.Module:
        """The network of ``arch`` for ``task``; ``sizes`` override :attr:`size_options`."""

    def check_sizes(self, sizes: Mapping[str, object], source: str = "build") -> None:
        """Refuse a size keyword this space does not take, or a value that is not an int >= 1."""
        for key, value in sizes.items():
            if key not in self.size_options:
                allowed = ", ".join(self.size_options) or "none"
                raise ConfigError(
                    f"{source}: space {self.name!r} has no network size {key!r}; allowed: {allowed}"
                )
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"{source}: {self.name} {key}={value!r}; allowed: an integer >= 1"
                )


__all__ = ["ModelSpace"]
