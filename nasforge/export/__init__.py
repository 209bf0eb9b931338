"""Using a search's result: retrain the found architecture (or combine the best), then export it.

``retrain`` trains a trial's architecture from scratch with several seeds and stores each
seed's weights and test accuracy with the experiment; ``ensemble`` combines the networks that
the search trained and kept (``keep_weights``) of its best trials; ``export_model`` writes the
network as a nasforge file (:func:`load_model` reads it back), TorchScript, ONNX or a
standalone Python source file, and checks each export against the in-library model on real
inputs.

Example:
    >>> from nasforge.export import export_model, load_model, retrain
    >>> result = retrain("mnist1d-nb201", "runs.db", seeds=[0, 1])  # doctest: +SKIP
    >>> export_model("mnist1d-nb201", "runs.db", format="pytorch", out="best.pt")  # doctest: +SKIP
    >>> model = load_model("best.pt")  # doctest: +SKIP
"""

from __future__ import annotations

from nasforge.export.codegen import CODEGENS, generate_code, register_codegen
from nasforge.export.ensemble import EnsembleResult, ensemble
from nasforge.export.export import (
    CHECK_BATCH,
    FORMATS,
    TOLERANCE,
    ExportError,
    ExportResult,
    ParityCheck,
    export_model,
    load_model,
    read_export,
)
from nasforge.export.retrain import RETRAIN_KIND, RetrainResult, SeedResult, retrain
from nasforge.export.source import ModelSpec, StoredTrial, open_source

__all__ = [
    "CHECK_BATCH",
    "CODEGENS",
    "FORMATS",
    "RETRAIN_KIND",
    "TOLERANCE",
    "EnsembleResult",
    "ExportError",
    "ExportResult",
    "ModelSpec",
    "ParityCheck",
    "RetrainResult",
    "SeedResult",
    "StoredTrial",
    "ensemble",
    "export_model",
    "generate_code",
    "load_model",
    "open_source",
    "read_export",
    "register_codegen",
    "retrain",
]
