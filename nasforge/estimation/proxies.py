"""Zero-cost proxies: score an untrained network from one mini-batch, larger is better.

Each proxy is a plain function ``proxy(model, x, y) -> float`` of an initialised torch model and
one mini-batch ``(x, y)`` (``x`` of shape ``(n, channels, length)`` or ``(n, channels, height,
width)``; ``y`` class indices). :func:`compute_proxies` runs them by name on a copy of the model
moved to a device, so the caller's weights, gradients and batch-norm statistics stay untouched.

The proxies, as compared by Abdelfattah et al. (2021), "Zero-Cost Proxies for Lightweight NAS":

- ``synflow`` (Tanaka et al. 2020): ``sum |theta * dR/dtheta|`` over the weights of the
  convolutions and linear layers, where ``R`` is the sum of the outputs of the network with
  every parameter replaced by its absolute value, for an all-ones input, in double precision.
  Batch norm runs in eval mode with its initial statistics (mean 0, variance 1), as in Tanaka's
  code: in train mode a constant input would be normalised to zero and every gradient vanish.
- ``snip`` (Lee et al. 2019): ``sum |theta * dL/dtheta|`` over the same weights, ``L`` the
  cross-entropy of the mini-batch (batch norm in train mode, as at the start of training).
- ``grad_norm``: the sum over those layers of the L2 norm of ``dL/dweight``, as in Abdelfattah's
  code (not the norm of the whole gradient vector).
- ``jacob_cov`` (Mellor et al. 2021, first version of "Neural Architecture Search without
  Training"): with ``J`` the gradient of the summed outputs with respect to each input of the
  batch and ``v`` the eigenvalues of the correlation matrix of the rows of ``J``,
  ``-sum(log(v + k) + 1 / (v + k))`` with ``k = 1e-5``.
- ``naswot`` (Mellor et al. 2021, second version, ICML): the log-determinant of the kernel
  ``K_ij = N_A - hamming(c_i, c_j)`` of the binary codes ``c`` (which ReLU units are active,
  read from the inputs of every ``nn.ReLU`` module) of the samples of the batch.
- ``params``: the number of parameters.

Degenerate networks (e.g. every cell edge ``none``, so no gradient reaches the input or the
cell): ``synflow``, ``snip`` and ``grad_norm`` are then 0 by their formulas; ``jacob_cov``
returns the score of an all-zero spectrum, ``-n (log k + 1 / k)``, below any other value;
``naswot`` returns -1: ``K`` is an integer positive semi-definite matrix, so a non-singular one
has determinant >= 1 and log-determinant >= 0. Any other non-finite value becomes
:data:`LOWEST`. No proxy returns NaN or infinity.

Example:
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 3), torch.nn.ReLU())
    >>> x, y = torch.randn(6, 1, 8, generator=torch.Generator().manual_seed(0)), torch.arange(6) % 3
    >>> scores = compute_proxies(net, x, y, ["params", "snip"])
    >>> scores["params"]
    27.0
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from nasforge.errors import ConfigError, UnknownNameError
from nasforge.training import count_parameters, resolve_device

ProxyFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], float]

#: the score given when a proxy's value is not finite (larger is better, so this is last)
LOWEST = -1e300
#: the ``k`` of ``jacob_cov`` (Mellor et al. 2021, v1)
JACOB_COV_K = 1e-5
#: the proxies Abdelfattah et al. (2021) combine in their vote
VOTE_PROXIES: tuple[str, ...] = ("synflow", "jacob_cov", "snip")

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _weights_and_grads(model: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(weight, gradient)`` of each convolution and linear layer that has a gradient."""
    pairs = []
    for module in model.modules():
        weight = getattr(module, "weight", None) if isinstance(module, _WEIGHTED) else None
        if isinstance(weight, torch.Tensor) and weight.grad is not None:
            pairs.append((weight.detach(), weight.grad))
    return pairs


def _loss_gradients(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Backpropagate the mini-batch cross-entropy (train mode); the weights and gradients."""
    model.train()
    model.zero_grad(set_to_none=True)
    _backward(nn.functional.cross_entropy(model(x), y))
    return _weights_and_grads(model)


def _backward(value: torch.Tensor) -> None:
    """Backpropagate ``value`` unless nothing it depends on has a gradient (a network without
    parameters on the path): the gradients then stay unset and the proxy sees none."""
    if value.requires_grad:
        value.backward()


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Synaptic flow (Tanaka et al. 2020) of the whole network; see the module docstring."""
    model.double().eval()
    with torch.no_grad():
        for param in model.parameters():
            param.abs_()
    model.zero_grad(set_to_none=True)
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    _backward(model(ones).sum())
    return float(sum(float((w * g).abs().sum()) for w, g in _weights_and_grads(model)))


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Connection sensitivity (Lee et al. 2019), ``sum |theta * dL/dtheta|``."""
    return float(sum(float((w * g).abs().sum()) for w, g in _loss_gradients(model, x, y)))


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum over conv and linear layers of the L2 norm of the loss gradient of their weight."""
    return float(sum(float(g.norm()) for _, g in _loss_gradients(model, x, y)))


def jacob_cov(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Jacobian covariance score (Mellor et al. 2021, v1); see the module docstring."""
    model.train()
    model.zero_grad(set_to_none=True)
    inputs = x.detach().clone().requires_grad_(True)
    _backward(model(inputs).sum())
    n = len(x)
    worst = -n * (math.log(JACOB_COV_K) + 1.0 / JACOB_COV_K)
    if inputs.grad is None:
        return worst
    jacobian = inputs.grad.reshape(n, -1).double().cpu().numpy()
    centred = jacobian - jacobian.mean(axis=1, keepdims=True)
    if n < 2 or not np.all(np.abs(centred).max(axis=1) > 0):
        return worst  # a constant row has no correlation: the score of an all-zero spectrum
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobian))
    eigenvalues = np.clip(eigenvalues, 0.0, None)  # round-off can make a zero slightly negative
    return float(-np.sum(np.log(eigenvalues + JACOB_COV_K) + 1.0 / (eigenvalues + JACOB_COV_K)))


def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """NASWOT (Mellor et al. 2021, v2): log-determinant of the activation-pattern kernel."""
    n = len(x)
    kernel = torch.zeros((n, n), dtype=torch.float64, device=x.device)

    def add_codes(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: object) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()
        kernel.add_(codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T)

    handles = [m.register_forward_hook(add_codes) for m in model.modules() if _is_relu(m)]
    try:
        model.train()
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not handles:
        return -1.0
    sign, logdet = torch.linalg.slogdet(kernel.cpu())
    if float(sign) <= 0 or not math.isfinite(float(logdet)) or float(logdet) < 0:
        return -1.0  # singular: identical codes for two samples (or no active unit)
    return float(logdet)


def _is_relu(module: nn.Module) -> bool:
    return isinstance(module, nn.ReLU)


def params(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """The number of parameters of the model."""
    return float(count_parameters(model))


#: every proxy by name, in the order they are reported
PROXIES: Mapping[str, ProxyFn] = {
    "synflow": synflow,
    "naswot": naswot,
    "jacob_cov": jacob_cov,
    "snip": snip,
    "grad_norm": grad_norm,
    "params": params,
}


def list_proxies() -> list[str]:
    """Names of the zero-cost proxies, in the order :data:`PROXIES` holds them."""
    return list(PROXIES)


def check_proxy_names(names: Iterable[str] | None, field: str = "proxies") -> list[str]:
    """``names`` as a list (all proxies for ``None``), each one checked.

    Raises:
        UnknownNameError: a name is not a proxy.
        ConfigError: ``names`` is a bare string, empty or repeats a name.
    """
    if names is None:
        return list_proxies()
    if isinstance(names, str):
        raise ConfigError(f"{field}={names!r}; allowed: a list of proxy names, not a string")
    chosen = list(names)
    for name in chosen:
        if name not in PROXIES:
            raise UnknownNameError("proxy", name, PROXIES)
    if not chosen or len(set(chosen)) != len(chosen):
        raise ConfigError(f"{field}={chosen!r}; allowed: a non-empty list of distinct proxies")
    return chosen


def compute_proxy(
    name: str,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    device: str | torch.device = "cpu",
) -> float:
    """One proxy of ``model`` on ``(x, y)``, computed on a copy of the model on ``device``
    (a torch device, or a spec :func:`~nasforge.training.resolve_device` accepts).

    Returns a finite number, larger is better (see the module docstring for degenerate models).
    """
    fn = PROXIES.get(name)
    if fn is None:
        raise UnknownNameError("proxy", name, PROXIES)
    target = device if isinstance(device, torch.device) else resolve_device(device)
    work = copy.deepcopy(model).to(target)
    value = fn(work, x.to(target), y.to(target))
    return value if math.isfinite(value) else LOWEST


def compute_proxies(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    names: Iterable[str] | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """The proxies ``names`` (default: all) of ``model`` on ``(x, y)``; the model is not changed.

    Each proxy works on its own copy of the model, so none sees another's changes (``synflow``
    takes the absolute value of every weight).
    """
    return {name: compute_proxy(name, model, x, y, device) for name in check_proxy_names(names)}


def vote(scores: Mapping[str, Sequence[float]], names: Sequence[str] = VOTE_PROXIES) -> np.ndarray:
    """The vote of several proxies over a set of archs: the mean of their ranks (Borda count).

    Abdelfattah et al. (2021) let ``synflow``, ``jacob_cov`` and ``snip`` vote by majority on
    each pair of archs; ranking archs by the mean of the proxies' ranks (1 = lowest, ties
    averaged) agrees with that majority whenever the pairwise votes are transitive and, unlike
    it, always gives a total order. Larger is better.

    Args:
        scores: for each proxy name, its values on the same archs in the same order.
        names: the proxies that vote.

    Raises:
        ConfigError: a voting proxy has no scores, or their lengths differ.
    """
    missing = [name for name in names if name not in scores]
    if missing or not names:
        raise ConfigError(
            f"vote: names={list(names)!r} but scores hold {sorted(scores)!r}; "
            "allowed: a non-empty subset of the scored proxies"
        )
    lengths = {len(scores[name]) for name in names}
    if len(lengths) != 1:
        raise ConfigError(f"vote: the proxies score different numbers of archs: {lengths}")
    ranks = [rankdata(np.asarray(scores[name], dtype=float)) for name in names]
    return np.mean(ranks, axis=0)


__all__ = [
    "LOWEST",
    "PROXIES",
    "VOTE_PROXIES",
    "check_proxy_names",
    "compute_proxies",
    "compute_proxy",
    "grad_norm",
    "jacob_cov",
    "list_proxies",
    "naswot",
    "params",
    "snip",
    "synflow",
    "vote",
]
