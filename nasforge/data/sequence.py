"""Sequence tasks for recurrent cells, generated offline (or read from installed files) and
deterministic from a seed.

- ``adding``: the adding problem (Hochreiter & Schmidhuber 1997, as in Le et al. 2015): each step
  is a pair (a number in [0, 1), a marker); exactly two steps are marked, one in each half; the
  target is the sum of the two marked numbers. Regression, scored by mean squared error
  (predicting 1 always gives about 0.167).
- ``copy``: copy memory (Arjovsky et al. 2016): ``symbols`` tokens from an alphabet of 8,
  ``length`` blanks, a delimiter, then the model must write the tokens back. A token per step,
  scored on the copied steps (a model that only learnt the blanks guesses them with 1/8).
- ``mnist1d``: MNIST-1D (``mnist1d``'s offline ``make_dataset``, see
  :func:`nasforge.data.builtin.load_mnist1d`) read as a sequence of 40 steps of one value.
- ``chars``: character-level language modelling on the Python standard library's own source
  files (present wherever Python is), scored in bits per character. The text depends on the
  Python version; its SHA-256 is kept in :attr:`SequenceData.source`.

Example:
    >>> data = load_sequence_task("adding", length=20, samples=100)
    >>> data.x_train.shape, data.kind, data.out_dim
    ((100, 20, 2), 'regression', 1)
    >>> load_sequence_task("copy", length=5, samples=10).x_train.shape
    (10, 25)
"""

from __future__ import annotations

import hashlib
import itertools
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasforge.errors import ConfigError, one_of

#: the tasks, each with its default length (steps) and training samples
SEQUENCE_TASKS: dict[str, tuple[int, int]] = {
    "adding": (50, 2000),
    "copy": (20, 2000),
    "mnist1d": (40, 3200),
    "chars": (64, 2000),
}
#: tokens copied in the copy task and the size of their alphabet (Arjovsky et al.: 10 and 8)
COPY_SYMBOLS = 10
COPY_ALPHABET = 8
#: characters the ``chars`` task tells apart (printable ASCII, tab and newline); any other
#: character is one token of its own (0)
CHARACTERS = "\t\n" + "".join(chr(i) for i in range(32, 127))


@dataclass(frozen=True)
class SequenceData:
    """A sequence task's splits and what a model needs to know of them.

    ``x`` arrays are ``(samples, steps, features)`` floats, or ``(samples, steps)`` integer
    tokens when ``vocab`` is set (a model one-hot encodes them). ``kind`` says what ``y`` is:
    ``"regression"`` (one number per sequence), ``"classify"`` (one class per sequence) or
    ``"per_step"`` (a class per step, ``(samples, steps)``; accuracy counts only the last
    ``scored_steps`` steps when set).
    """

    name: str
    kind: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    features: int
    out_dim: int
    vocab: int | None = None
    scored_steps: int | None = None
    source: str = ""

    @property
    def steps(self) -> int:
        return int(self.x_train.shape[1])

    def sha256(self) -> str:
        """A digest of every split (what a search trained and was scored on)."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def load_sequence_task(
    name: str, length: int | None = None, samples: int | None = None, seed: int = 0
) -> SequenceData:
    """The task ``name`` (:data:`SEQUENCE_TASKS`) with ``length`` steps and ``samples``
    training sequences (validation and test: a quarter as many each), generated from ``seed``.

    ``mnist1d`` has 40 steps (``length`` must be 40 or ``None``) and up to its 4,000 training
    signals; ``chars`` cuts ``length``-character windows from its text.

    Raises:
        ConfigError: an unknown task, or a length or sample count that is not allowed.
    """
    if name not in SEQUENCE_TASKS:
        raise ConfigError(f"task={name!r}; allowed: {one_of(list(SEQUENCE_TASKS))}")
    default_length, default_samples = SEQUENCE_TASKS[name]
    length = default_length if length is None else length
    samples = default_samples if samples is None else samples
    for field, value, low in (("length", length, 2), ("samples", samples, 8)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{name}: {field}={value!r}; allowed: an integer >= {low}")
    if name == "mnist1d":
        return _mnist1d(length, samples, seed)
    if name == "chars":
        return _chars(length, samples)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    held_out = max(samples // 4, 4)
    make = _adding if name == "adding" else _copy
    splits = [
        make(rng, n, length) for rng, n in zip(rngs, (samples, held_out, held_out), strict=True)
    ]
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    if name == "adding":
        return SequenceData(
            "adding", "regression", x_train, y_train, x_val, y_val, x_test, y_test, 2, 1
        )
    vocab = COPY_ALPHABET + 2  # blank, the alphabet, the delimiter
    return SequenceData(
        "copy", "per_step", x_train, y_train, x_val, y_val, x_test, y_test, vocab, vocab,
        vocab=vocab, scored_steps=COPY_SYMBOLS,
    )  # fmt: skip


def _adding(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    values = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), dtype=np.float32)
    rows = np.arange(n)
    markers[rows, first] = markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=2), target.astype(np.float32)


def _copy(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens: 0 blank, 1..8 the alphabet, 9 the delimiter; ``length + 2 * symbols`` steps."""
    symbols = rng.integers(1, COPY_ALPHABET + 1, size=(n, COPY_SYMBOLS))
    steps = length + 2 * COPY_SYMBOLS
    x = np.zeros((n, steps), dtype=np.int64)
    y = np.zeros((n, steps), dtype=np.int64)
    x[:, :COPY_SYMBOLS] = symbols
    x[:, length + COPY_SYMBOLS - 1] = COPY_ALPHABET + 1
    y[:, -COPY_SYMBOLS:] = symbols
    return x, y


def _mnist1d(length: int, samples: int, seed: int) -> SequenceData:
    from nasforge.data.builtin import load_mnist1d

    if length != 40:
        raise ConfigError(f"mnist1d: length={length!r}; allowed: 40 (its signals' length)")
    data = load_mnist1d()
    x = np.asarray(data.x_train, dtype=np.float32).reshape(-1, 40, 1)
    y = np.asarray(data.y_train, dtype=np.int64)
    if samples > len(x) - 8:
        raise ConfigError(f"mnist1d: samples={samples}; allowed: at most {len(x) - 8}")
    order = np.random.default_rng(seed).permutation(len(x))
    held_out = min(max(samples // 4, 4), len(x) - samples)
    train, val = order[:samples], order[samples : samples + held_out]
    x_test = np.asarray(data.x_test, dtype=np.float32).reshape(-1, 40, 1)
    return SequenceData(
        "mnist1d", "classify", x[train], y[train], x[val], y[val], x_test,
        np.asarray(data.y_test, dtype=np.int64), 1, 10,
    )  # fmt: skip


def python_source_text(chars: int) -> str:
    """The first ``chars`` characters of the standard library's top-level ``.py`` files, in
    name order (read from this interpreter's installation, no download)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts: list[str] = []
    total = 0
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        total += len(text)
        if total >= chars:
            break
    text = "".join(parts)[:chars]
    if len(text) < chars:
        raise ConfigError(
            f"chars: the standard library at {root} holds {len(text)} characters of source; "
            f"allowed: fewer samples or a shorter length (needs {chars})"
        )
    return text


def _chars(length: int, samples: int) -> SequenceData:
    """Windows of ``length + 1`` characters: train, validation and test from disjoint stretches
    of the text, in that order (no window crosses into another split)."""
    held_out = max(samples // 4, 4)
    counts = (samples, held_out, held_out)
    text = python_source_text(sum(counts) * (length + 1))
    lookup = {ch: i + 1 for i, ch in enumerate(CHARACTERS)}
    tokens = np.fromiter((lookup.get(ch, 0) for ch in text), dtype=np.int64, count=len(text))
    windows = tokens.reshape(-1, length + 1)
    bounds = np.cumsum((0, *counts))
    splits = [windows[a:b] for a, b in itertools.pairwise(bounds)]
    vocab = len(CHARACTERS) + 1
    (train, val, test) = splits
    source = "python stdlib sources, sha256 " + hashlib.sha256(text.encode()).hexdigest()[:16]
    return SequenceData(
        "chars", "per_step", train[:, :-1], train[:, 1:], val[:, :-1], val[:, 1:],
        test[:, :-1], test[:, 1:], vocab, vocab, vocab=vocab, source=source,
    )  # fmt: skip


__all__ = [
    "CHARACTERS",
    "COPY_ALPHABET",
    "COPY_SYMBOLS",
    "SEQUENCE_TASKS",
    "SequenceData",
    "load_sequence_task",
    "python_source_text",
]
