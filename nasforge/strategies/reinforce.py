"""NAS with reinforcement learning, Zoph & Le 2017, "Neural Architecture Search with Reinforcement
Learning" (ICLR 2017)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import Strategy, positive_int
from nasforge.strategies.metaqnn import (
    Decision,
    DecisionSequence,
    check_bins,
    check_discrete,
    check_fraction,
)
from nasforge.strategies.monas import MonasReward
from nasforge.trial import Trial


class _Sampler:
    """A NumPy copy of the controller for sampling: a torch call per step costs 10x more."""

    def __init__(self, controller: _Controller) -> None:
        def array(t: torch.Tensor) -> np.ndarray:
            return t.detach().double().numpy().copy()

        self.offsets = controller.offsets
        self.embed = array(controller.embed.weight)
        self.w_ih, self.w_hh = array(controller.cell.weight_ih), array(controller.cell.weight_hh)
        self.bias = array(controller.cell.bias_ih) + array(controller.cell.bias_hh)
        linear = [h for h in controller.heads if isinstance(h, nn.Linear)]
        self.heads = [(array(h.weight), array(h.bias)) for h in linear]
        self.hidden = controller.hidden
        self.temperature, self.tanh_constant = controller.temperature, controller.tanh_constant

    def start(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        zeros = np.zeros(self.hidden)
        return self.embed[0], zeros, zeros

    def token(self, decision: Decision) -> np.ndarray:
        return self.embed[self.offsets[decision[0]] + decision[1]]

    def step(
        self, x: np.ndarray, h: np.ndarray, c: np.ndarray, position: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Probabilities of the decision at ``position`` and the new LSTM state (torch's gates)."""
        i, f, g, o = np.split(self.w_ih @ x + self.w_hh @ h + self.bias, 4)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        weight, bias = self.heads[position]
        logits = (weight @ h + bias) / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * np.tanh(logits)
        z = np.exp(logits - logits.max())
        return z / z.sum(), h, c


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread for the block (the tiny controller is slower on several)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class _Controller(nn.Module):
    """An LSTM that emits one decision per step; a step's input embeds the previous decision.
    Its logits are divided by ``temperature`` and, with a ``tanh_constant``, squashed into
    ``(-tanh_constant, tanh_constant)`` (ENAS's controller: the distributions cannot grow
    sharper than that, so it keeps exploring)."""

    # class defaults: a controller pickled (in a checkpoint) before these existed loads as plain
    temperature: float = 1.0
    tanh_constant: float | None = None

    def __init__(
        self,
        sizes: list[int],
        hidden: int,
        temperature: float = 1.0,
        tanh_constant: float | None = None,
    ) -> None:
        super().__init__()
        self.temperature, self.tanh_constant = temperature, tanh_constant
        self.offsets = [1 + sum(sizes[:i]) for i in range(len(sizes))]  # token 0 starts
        self.embed = nn.Embedding(1 + sum(sizes), hidden)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)
        self.hidden = hidden

    def start(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(1, self.hidden)
        return self.embed(torch.zeros(1, dtype=torch.long)), zeros, zeros.clone()

    def step(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, position: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of the decision at ``position`` and the new LSTM state."""
        h, c = self.cell(x, (h, c))
        logits = self.heads[position](h)[0] / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits, h, c

    def token(self, decision: Decision) -> torch.Tensor:
        position, value = decision
        return self.embed(torch.tensor([self.offsets[position] + value]))

    def log_prob_and_entropy(self, decisions: list[Decision]) -> tuple[torch.Tensor, torch.Tensor]:
        x, h, c = self.start()
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        for decision in decisions:
            logits, h, c = self.step(x, h, c, decision[0])
            logp = torch.log_softmax(logits, dim=-1)
            log_prob = log_prob + logp[decision[1]]
            entropy = entropy - (logp.exp() * logp).sum()
            x = self.token(decision)
        return log_prob, entropy


class ReinforceController(Strategy):
    """An LSTM controller samples each decision; REINFORCE with a baseline trains it.

    The space is read as a sequence of decisions, one per active dimension in order. At each
    step the LSTM takes the embedding of the previous decision (a start token first) and a
    softmax classifier for that position gives the distribution of the next value, as in the
    paper. When a trial is told, the controller takes one Adam step on
    ``-(R - b) / s * log p(arch) - entropy_weight * H(arch)`` where ``R`` is the score, ``b`` an
    exponential moving average of past scores (the paper's baseline) and ``H`` the summed
    entropy of the decisions' distributions (an exploration bonus, also used by ENAS).

    Sampling draws from ``self.rng``; parameters are initialised uniformly in [-0.08, 0.08] (the
    paper's init) from a ``torch.Generator`` seeded by ``seed``, inside
    ``torch.random.fork_rng`` so that torch's global generator is neither used nor disturbed.
    Updates use no randomness at all, so a search is deterministic for a seed and a sequence
    of asks and tells.

    Departures from the paper, and why:

    - one update per told trial (batch of 1) instead of batches of parallel child models:
      tells arrive one at a time, and a log-probability recomputed for the told arch (teacher
      forcing) makes tells of archs never asked usable too;
    - the advantage is divided by ``s``, the standard deviation of the scores seen so far, so
      that one learning rate fits any score scale (the paper's rewards are accuracies);
    - a tiny one-layer LSTM (``hidden_size`` 32, the paper: two layers of 35 units) trained
      with Adam instead of 800 GPUs' worth of child models with distributed SGD;
    - numeric dimensions are discretised into ``bins`` values; inactive conditional
      dimensions are skipped (no step);
    - an arch already seen is redrawn (up to half of ``Strategy.novelty_tries`` times, then
      uniformly at random for the other half, so that a controller grown too sure cannot stall
      a search on a finite space), which makes the samples slightly off-policy but saves
      queries; failed and pruned trials give no reward and are not learned from.

    Torch runs on one thread during ``ask`` and ``tell`` (set and restored around each call):
    the controller is so small that waking a second thread costs far more than its work. That
    is a process-wide setting, so another thread running torch at the same moment would see it.

    Args:
        space: the space to search.
        seed: seed of the generators.
        hidden_size: LSTM width (and embedding size).
        learning_rate: Adam learning rate of the controller.
        baseline_decay: decay of the moving-average baseline, in [0, 1).
        entropy_weight: weight of the entropy bonus (>= 0).
        bins: values offered by a numeric dimension with more values than this.
        temperature: the decisions' logits are divided by it (> 0; 1: the plain softmax).
        tanh_constant: ``None``, or the bound ``C`` of ``C * tanh(logits)`` applied after the
            temperature (ENAS's controller, whose code uses a temperature of 5 and ``C`` of
            1.1 to 2.5): no value of a decision gets more than ``exp(2C)`` times the
            probability of another, so the controller cannot stop exploring.
        reward: ``None`` (the reward is the primary objective: one objective is searched) or
            a MONAS reward of several objectives (Hsu et al. 2018), see
            :class:`~nasforge.strategies.monas.MonasReward`:
            ``{"kind": "penalty", "weights": {"params_m": 10}}`` rewards the primary score less
            10 points per unit of ``params_m``; ``{"kind": "constrained", "budgets":
            {"params_m": 0.5}}`` rewards the primary score of archs within budget and the worst
            score seen to the others. With a reward the strategy accepts several objectives.
    """

    name = "reinforce"
    # class defaults: a strategy pickled (in a checkpoint) before these existed loads as plain
    temperature: float = 1.0
    tanh_constant: float | None = None

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        hidden_size: int = 32,
        learning_rate: float = 0.005,
        baseline_decay: float = 0.9,
        entropy_weight: float = 0.05,
        bins: int = 10,
        reward: Mapping[str, Any] | None = None,
        temperature: float = 1.0,
        tanh_constant: float | None = None,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.reward = reward
        #: MONAS's reward from several objectives; ``None``: the primary score is the reward
        self.reward_ = (
            None
            if reward is None
            else MonasReward.parse(reward, self.objectives, f"strategy {self.name!r}: reward")
        )
        self.multi_objective = self.reward_ is not None
        self.hidden_size = positive_int(self.name, "hidden_size", hidden_size, 1)
        self.learning_rate = check_fraction(self.name, "learning_rate", learning_rate, 1e-12, 10.0)
        self.baseline_decay = check_fraction(self.name, "baseline_decay", baseline_decay, 0, 0.999)
        self.entropy_weight = check_fraction(self.name, "entropy_weight", entropy_weight, 0, 1e3)
        self.bins = check_bins(self.name, bins)
        self.temperature = check_fraction(self.name, "temperature", temperature, 1e-6, 1e6)
        self.tanh_constant = (
            None
            if tanh_constant is None
            else check_fraction(self.name, "tanh_constant", tanh_constant, 1e-6, 1e6)
        )
        self.baseline_: float | None = None
        self._decisions: DecisionSequence | None = None
        self._controller: _Controller | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._scores: list[float] = []
        self._snapshot: _Sampler | None = None

    def check_space(self, space: Space) -> None:
        check_discrete(self.name, space)

    @property
    def decisions(self) -> DecisionSequence:
        if self._decisions is None:
            self._decisions = DecisionSequence(self.space, self.bins)
        return self._decisions

    @property
    def controller_(self) -> _Controller:
        """The controller, built on first use from ``seed``."""
        if self._controller is None:
            with torch.random.fork_rng(devices=[]):
                controller = _Controller(
                    self.decisions.sizes(),
                    self.hidden_size,
                    self.temperature,
                    self.tanh_constant,
                )
            generator = torch.Generator().manual_seed(self.seed)
            with torch.no_grad():
                for param in controller.parameters():
                    param.uniform_(-0.08, 0.08, generator=generator)
            self._controller = controller
            self._optimizer = torch.optim.Adam(controller.parameters(), lr=self.learning_rate)
        return self._controller

    def propose(self) -> Arch:
        arch = self.novel(self._sample, self.novelty_tries // 2)
        if arch in self.seen_:  # a controller grown too sure: look further afield
            arch = self.novel(lambda: self.space.sample(self.rng), self.novelty_tries // 2)
        return arch

    def _sampler(self) -> _Sampler:
        if self._snapshot is None:
            self._snapshot = _Sampler(self.controller_)
        return self._snapshot

    def sample(self) -> Arch:
        """One arch drawn from the controller as it stands (repeats allowed): what ENAS trains
        its shared weights on."""
        return self._sample()

    def _sample(self) -> Arch:
        sampler = self._sampler()
        state = sampler.start()

        def choose(position: int, previous: Decision | None) -> int:
            nonlocal state
            if previous is not None:
                state = (sampler.token(previous), state[1], state[2])
            probs, h, c = sampler.step(*state, position)
            state = (state[0], h, c)
            return int(self.rng.choice(len(probs), p=probs))

        return self.decisions.build(choose)[0]

    def probabilities(self, position: int, previous: Sequence[Decision] = ()) -> np.ndarray:
        """The controller's distribution of the decision at ``position`` after ``previous``."""
        sampler = self._sampler()
        x, h, c = sampler.start()
        for decision in previous:
            _, h, c = sampler.step(x, h, c, decision[0])
            x = sampler.token(decision)
        return sampler.step(x, h, c, position)[0]

    def observe(self, trial: Trial) -> None:
        scores = self.scores_of(trial)
        if scores is None or not all(math.isfinite(s) for s in scores):
            return
        reward = scores[0] if self.reward_ is None else self.reward_(scores)
        self._scores.append(reward)
        baseline = reward if self.baseline_ is None else self.baseline_
        self.baseline_ = self.baseline_decay * baseline + (1 - self.baseline_decay) * reward
        scale = float(np.std(self._scores))
        if scale <= 0.0:
            return
        advantage = (reward - baseline) / scale
        with one_thread():
            controller = self.controller_
            assert self._optimizer is not None
            decisions = self.decisions.decisions(trial.arch)
            log_prob, entropy = controller.log_prob_and_entropy(decisions)
            loss = -advantage * log_prob - self.entropy_weight * entropy
            self._optimizer.zero_grad()
            loss.backward()
            self._optimizer.step()
        self._snapshot = None
