"""Reusable test suites that ship with nasforge, so that third-party extensions can run them too.

Conformance suites, each run over every registered implementation by nasforge's own tests:
``strategies`` (the ask/tell contract of every search strategy), ``schedulers`` (early-stopping
decisions against an independent oracle and resume by replay), ``spaces`` (valid moves, keys,
encodings, size, build and a forward/backward pass at every size option, options that rebuild
the space) and ``storage`` (what every database backend must keep); ``faults`` holds the
evaluator the fault-injection tests use. These modules import ``pytest`` (the ``test`` extra);
nothing else in nasforge imports them.
"""

from __future__ import annotations
