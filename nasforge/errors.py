"""Errors a user can cause, each naming the field, the bad value and what is allowed.

The CLI prints a :class:`NasforgeError` as one line and exits with status 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class NasforgeError(Exception):
    """Base class of every error caused by user input (config, names, tables, archs)."""


class ConfigError(NasforgeError):
    """A configuration key or value is wrong."""


class UnknownNameError(NasforgeError, KeyError):
    """A name looked up in a registry does not exist."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(known) or '(none)'}")
        self.kind, self.name, self.known = kind, name, known

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class SpaceError(NasforgeError, ValueError):
    """An architecture or value does not belong to its search space."""


class RuleViolation(SpaceError):  # noqa: N818 - it is a value error about one arch
    """An architecture has values every dimension allows but breaks a rule of its space
    (:meth:`~nasforge.space.Space.violation`), e.g. MetaQNN's "no pooling once the map is one
    wide"."""


class TableError(NasforgeError):
    """A benchmark table is missing, malformed or does not cover an architecture."""


class ExecutionError(NasforgeError):
    """Workers could not start or run (e.g. the evaluator cannot be loaded in a worker)."""


class StorageError(NasforgeError):
    """The store cannot be opened or does not hold what was asked for."""


class SearchFailedError(NasforgeError):
    """A search stopped because its trials keep failing the same way (a bad config, data or
    evaluator): the message names the error and how many trials it ended."""


class NasforgeWarning(UserWarning):
    """Something a user should know that does not stop the search (the CLI prints it as one
    line): e.g. a strategy that optimises only the first of several objectives."""


class TrialPruned(Exception):  # noqa: N818 - the name users know from Optuna
    """Raised inside an evaluation when a scheduler stops the trial early.

    Not a :class:`NasforgeError`: it is control flow, and the experiment stores the trial as
    ``pruned`` with its partial curve.
    """


def one_of(values: Iterable[object]) -> str:
    """Format allowed values for an error message: ``'a', 'b' or 'c'``."""
    items = [repr(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1 (for nouns whose plural adds an s).

    Example:
        >>> counted(1, "trial"), counted(0, "trial"), counted(12, "experiment")
        ('1 trial', '0 trials', '12 experiments')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
