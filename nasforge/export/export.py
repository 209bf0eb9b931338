"""Export a trial's network: a nasforge file, TorchScript, ONNX or standalone Python source.

Weights: the retrained ones when :func:`~nasforge.export.retrain` stored some for the trial
(the seed with the best ``val_acc``, or the one asked for; never chosen by test accuracy),
else those the search trained when it kept them (the ``train`` evaluator's ``keep_weights``),
else the network as initialised with the trial's seed, **untrained**, and the result says so.
Exporting never trains: training takes minutes to hours and belongs to ``retrain``, where its
seeds and accuracies are recorded. ``ensemble=N`` exports the N best trials' kept networks
combined (:func:`~nasforge.export.ensemble.ensemble`) in any format but ``code``.

Every format except ``pytorch`` is checked after it is written: the exported model is loaded
back (TorchScript with ``torch.jit.load``, ONNX in ``onnxruntime``, the source file imported
from disk) and run on a batch of real inputs from the experiment's test set; its logits must
match the in-library model's within :data:`TOLERANCE` (max abs difference). The ``pytorch``
file is checked the same way through :func:`load_model`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError, NasforgeError, one_of
from nasforge.estimation import Evaluator
from nasforge.experiment.lineage import kept_weights
from nasforge.export.retrain import retrained
from nasforge.export.source import ModelSpec, StoredTrial, open_source
from nasforge.space import Space, Task
from nasforge.storage import DEFAULT_STORAGE, ArtifactRecord, Storage

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch
    from torch import nn

    from nasforge.data import ArrayDataset

FORMATS: tuple[str, ...] = ("pytorch", "torchscript", "onnx", "code")

#: largest allowed max abs difference between exported and in-library logits (float32)
TOLERANCE = 1e-4

#: samples in the batch of real inputs the checks run on
CHECK_BATCH = 64

#: marks a file written by ``format="pytorch"`` (and its layout version)
_MAGIC = "nasforge-model"
_VERSION = 1


class ExportError(NasforgeError):
    """An export could not be written (the message names the format and the cause)."""


@dataclass(frozen=True)
class ParityCheck:
    """How closely an exported model reproduced the in-library one."""

    max_abs_diff: float
    tolerance: float
    samples: int
    inputs: str
    same_argmax: float

    @property
    def passed(self) -> bool:
        return math.isfinite(self.max_abs_diff) and self.max_abs_diff <= self.tolerance

    def line(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"check {verdict}: max |exported - nasforge| = {self.max_abs_diff:.2e} "
            f"(tolerance {self.tolerance:.0e}) on {self.samples} {self.inputs}; "
            f"same predicted class on {100 * self.same_argmax:.0f}%"
        )


@dataclass(frozen=True)
class ExportResult:
    """What was written, with which weights, and the parity check's result (for an ensemble,
    ``trial`` is its first member and ``arch`` names its trials)."""

    format: str
    paths: list[Path]
    experiment: str
    trial: int
    arch: str
    weights: str
    trained: bool
    check: ParityCheck


def export_model(
    name: str,
    storage: str | Path | Storage = DEFAULT_STORAGE,
    *,
    format: str = "pytorch",
    out: str | Path,
    trial: int | None = None,
    seed: int | None = None,
    space: Space | None = None,
    evaluator: Evaluator | None = None,
    task: Task | None = None,
    ensemble: int | None = None,
) -> ExportResult:
    """Write trial ``trial`` (default: the best) of experiment ``name`` to ``out``.

    Args:
        format: ``"pytorch"`` (state dict, arch and space in one file for :func:`load_model`),
            ``"torchscript"`` (traced), ``"onnx"`` (batch axis dynamic) or ``"code"`` (a
            standalone ``.py`` file and its weights as a sibling ``.pt`` state dict).
        out: the file to write.
        trial: the trial number; ``None`` takes the best complete trial.
        seed: which retrained seed's weights to use (default: the best ``val_acc``).
        space, evaluator, task: for an experiment made from Python: its space, the evaluator
            whose test data the checks run on (else random inputs) and the task (input shape
            and classes) when there is no evaluator with data.
        ensemble: combine the weights the search kept of this many best trials (the
            ``pytorch`` file is then read back by :func:`load_model` as an ensemble);
            without ``trial``, ``seed`` or ``format="code"``.

    Raises:
        NasforgeError: unknown experiment or trial, a format not supported for the space, a
            seed that was not retrained, an ensemble of a search that kept no weights.
    """
    if format not in FORMATS:
        raise ConfigError(f"format={format!r}; allowed: {one_of(FORMATS)}")
    if ensemble is not None:
        return _export_ensemble(
            name, storage, format, Path(out), ensemble, trial, seed, space, evaluator
        )
    source = open_source(name, storage, trial, space, evaluator, read_only=True)
    artifact = _choose_weights(source, seed)
    state = None
    if artifact is not None:
        spec = ModelSpec.from_json(artifact.info)
        state = _load_state(source.storage.artifact_data(artifact.id))
        epochs = artifact.info.get("epochs")
        weights = (
            f"retrained seed {artifact.seed} (epochs={epochs}, test_acc "
            f"{artifact.metrics.get('test_acc', math.nan):.2f})"
        )
    else:
        spec = source.model_spec(task)
        kept = kept_weights(source.storage, source.record.id, source.trial.number)
        state = _load_state(kept) if kept is not None else None
        weights = (
            f"the search's own training (trial seed {source.trial.seed}, test_acc "
            f"{source.trial.metrics.get('test_acc', math.nan):.2f})"
        )
    model = spec.build(source.space, seed=source.trial.seed)
    if state is not None and artifact is None and not _fits(model, state):
        state = None  # kept at a lower fidelity (a smaller network): not this one's
    if state is None:
        weights = f"UNTRAINED: initialised with the trial's seed {source.trial.seed}"
    else:
        model.load_state_dict(state)
    hint = artifact.info.get("dataset") if artifact is not None else None
    inputs, described = check_inputs(source, spec, hint)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = {
        "pytorch": _write_pytorch,
        "torchscript": _write_torchscript,
        "onnx": _write_onnx,
        "code": _write_code,
    }[format]
    paths, exported = writer(model, spec, source, out, inputs, weights)
    check = compare(model, exported, inputs, described)
    return ExportResult(
        format, paths, name, source.trial.number, spec.arch, weights, state is not None, check
    )


def _export_ensemble(
    name: str,
    storage: str | Path | Storage,
    format: str,
    out: Path,
    size: int,
    trial: int | None,
    seed: int | None,
    space: Space | None,
    evaluator: Evaluator | None,
) -> ExportResult:
    """:func:`export_model` of the ``size`` best trials' kept networks, combined."""
    from nasforge.export.ensemble import ensemble

    for option, value in (("trial", trial), ("seed", seed)):
        if value is not None:
            raise ConfigError(
                f"{option}={value!r} with ensemble={size!r}: an ensemble takes the best trials' "
                f"kept weights; allowed: {option} or ensemble, not both"
            )
    if format == "code":
        raise ConfigError(
            f"format='code' with ensemble={size!r}: the source file holds one network; "
            "allowed for an ensemble: pytorch, torchscript or onnx"
        )
    store = (
        storage if isinstance(storage, Storage) else Storage(storage, create=False, read_only=True)
    )
    model, result = ensemble(name, store, size=size, space=space, evaluator=evaluator)
    source = open_source(name, store, result.members[0].trial, space, evaluator)
    specs = [m.spec for m in result.members if m.spec is not None]
    numbers = ", ".join(str(m.trial) for m in result.members)
    weights = f"as the search trained them (test_acc {result.test_acc:.2f} combined)"
    inputs, described = check_inputs(source, specs[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "pytorch":
        paths, exported = _write_pytorch(model, specs[0], source, out, inputs, weights, specs)
    else:
        writer = _write_torchscript if format == "torchscript" else _write_onnx
        paths, exported = writer(model, specs[0], source, out, inputs, weights)
    check = compare(model, exported, inputs, described)
    what = f"the ensemble of trials {numbers}"
    return ExportResult(format, paths, name, result.members[0].trial, what, weights, True, check)


def load_model(path: str | Path, space: Space | None = None, device: str = "cpu") -> nn.Module:
    """The network saved by ``export_model(..., format="pytorch")``, in eval mode.

    ``space`` is needed only when the file's space is not a registered one; ``device`` is
    ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"auto"``.

    Example:
        >>> model = load_model("best.pt")  # doctest: +SKIP
    """
    from nasforge.training import resolve_device

    target = resolve_device(device)
    payload = read_export(path)
    model: nn.Module
    if "members" in payload:  # an ensemble (``export_model(..., ensemble=N)``)
        from nasforge.training.models import EnsembleModel

        specs = [ModelSpec.from_json(member) for member in payload["members"]]
        model = EnsembleModel([spec.build(space) for spec in specs])
    else:
        model = ModelSpec.from_json(payload).build(space)
    model.load_state_dict(payload["state_dict"])
    return model.to(target).eval()


def read_export(path: str | Path) -> dict[str, Any]:
    """The contents of a ``pytorch`` export: spec fields, ``state_dict`` and ``source``."""
    import torch

    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConfigError(f"path={str(path)!r}: no such file") from None
    except Exception as exc:  # a pickle error, a zip error, ...: not a file we wrote
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ConfigError(
            f"path={str(path)!r} is not a nasforge pytorch export ({first})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != _MAGIC:
        raise ConfigError(
            f"path={str(path)!r} is not a nasforge pytorch export; allowed: a file written by "
            "'nasforge export --format pytorch'"
        )
    return payload


def check_inputs(
    source: StoredTrial, spec: ModelSpec, dataset: str | Mapping[str, Any] | None = None
) -> tuple[torch.Tensor, str]:
    """The first :data:`CHECK_BATCH` test inputs of the experiment's data (else of the
    registered ``dataset`` the weights were retrained on: a name or ``{"name", "options"}``,
    read from its cache folder), else seeded noise."""
    import torch

    data = source.load_data()
    if data is None and dataset is not None:
        data = _retrain_data(dataset)
    if data is not None and tuple(data.task.input_shape) == spec.input_shape:
        x = torch.as_tensor(data.float_inputs(data.x_test[:CHECK_BATCH]))
        return x, f"real test inputs ({data.name})"
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(CHECK_BATCH, *spec.input_shape, generator=generator)
    return x, "random inputs (no dataset for this experiment)"


def _retrain_data(dataset: str | Mapping[str, Any]) -> ArrayDataset | None:
    """The registered dataset a retrain recorded, or ``None`` when it is not registered here
    or cannot be read (e.g. offline, not in the cache): the parity check then uses noise."""
    from nasforge.data import DATASETS, dataset_spec, load_dataset

    try:
        if isinstance(dataset, str):
            return load_dataset(dataset) if dataset in DATASETS else None
        name, options = dataset_spec(dataset)
        return load_dataset(name, **options)
    except NasforgeError:
        return None


def compare(model: nn.Module, exported: Any, inputs: torch.Tensor, described: str) -> ParityCheck:
    """Run both on ``inputs``; ``exported`` maps a float32 tensor to logits (tensor or array)."""
    import numpy as np
    import torch

    with torch.inference_mode():
        expected = model(inputs).float().numpy()
    got = np.asarray(exported(inputs), dtype=np.float32)
    if got.shape != expected.shape:
        return ParityCheck(math.inf, TOLERANCE, len(inputs), described, 0.0)
    diff = float(np.abs(got - expected).max())
    same = float((got.argmax(axis=1) == expected.argmax(axis=1)).mean())
    return ParityCheck(diff, TOLERANCE, len(inputs), described, same)


def _choose_weights(source: StoredTrial, seed: int | None) -> ArtifactRecord | None:
    found = [
        r
        for r in retrained(source.storage, source.record.id, source.trial.number)
        if r.size > 0 and r.seed is not None
    ]
    if seed is not None:
        chosen = [r for r in found if r.seed == seed]
        if not chosen:
            have = sorted({r.seed for r in found if r.seed is not None})
            raise ConfigError(
                f"seed={seed}: trial {source.trial.number} of experiment "
                f"{source.record.name!r} was not retrained with it; retrained seeds: "
                f"{', '.join(map(str, have)) or 'none'}"
            )
        return chosen[-1]
    if not found:
        return None
    # best validation accuracy (the test set must not pick the model), then the newest
    return max(found, key=lambda r: (_finite(r.metrics.get("val_acc")), r.id))


def _fits(model: nn.Module, state: Mapping[str, Any]) -> bool:
    """Whether ``state`` has exactly ``model``'s tensor names and shapes."""
    own = model.state_dict()
    return set(own) == set(state) and all(own[k].shape == state[k].shape for k in own)


def _finite(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else -math.inf


def _load_state(data: bytes) -> dict[str, Any]:
    import torch

    state: dict[str, Any] = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return state


# ---- writers: each returns the files written and a function running the exported model ----


def _write_pytorch(
    model: nn.Module,
    spec: ModelSpec,
    source: StoredTrial,
    out: Path,
    inputs: Any,
    weights: str,
    members: list[ModelSpec] | None = None,
) -> tuple[list[Path], Any]:
    import torch

    payload = {
        "format": _MAGIC,
        "version": _VERSION,
        **spec.to_json(),
        **({"members": [m.to_json() for m in members]} if members else {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "source": {
            "experiment": source.record.name,
            "trial": source.trial.number,
            "weights": weights,
        },
    }
    torch.save(payload, out)
    loaded = load_model(out, space=source.space)
    return [out], _torch_runner(loaded)


def _write_torchscript(
    model: nn.Module, spec: ModelSpec, source: StoredTrial, out: Path, inputs: Any, weights: str
) -> tuple[list[Path], Any]:
    import warnings

    import torch

    # Traced, not scripted: the cell's plan is fixed when the model is built, so the trace is
    # exact, and tracing accepts any module a space builds. torch 2.10+ marks torch.jit as
    # deprecated in favour of torch.export; the format is still what many runtimes load.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model, inputs[:2], check_trace=False)
            torch.jit.save(traced, str(out))
            loaded = torch.jit.load(str(out), map_location="cpu")
    except Exception as exc:
        raise ExportError(f"format='torchscript' failed for {spec.arch!r}: {_first(exc)}") from exc
    loaded.eval()
    return [out], _torch_runner(loaded)


def _write_onnx(
    model: nn.Module, spec: ModelSpec, source: StoredTrial, out: Path, inputs: Any, weights: str
) -> tuple[list[Path], Any]:
    import contextlib
    import logging
    import warnings

    import torch

    batch = torch.export.Dim("batch")
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    try:
        quiet.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (inputs[:2],),
                str(out),
                input_names=["x"],
                output_names=["logits"],
                dynamic_shapes=({0: batch},),  # by position: forward's argument may have any name
                dynamo=True,
                external_data=False,
            )
    except Exception as exc:
        raise ExportError(f"format='onnx' failed for {spec.arch!r}: {_first(exc)}") from exc
    finally:
        quiet.setLevel(level)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> Any:
        return session.run(None, {"x": x.numpy()})[0]

    return [out], run


def _write_code(
    model: nn.Module, spec: ModelSpec, source: StoredTrial, out: Path, inputs: Any, weights: str
) -> tuple[list[Path], Any]:
    import importlib.util

    import torch

    from nasforge.export.codegen import generate_code

    if out.suffix != ".py":
        raise ConfigError(
            f"out={str(out)!r}: format 'code' writes Python source; allowed: a .py path"
        )
    weights_path = out.with_suffix(".pt")
    text = generate_code(source.space, spec, weights_path.name, weights)
    out.write_text(text)
    # Import the file just written (as a user would) to learn which weights it keeps: edges
    # that never reach the output are left out of the source, so their keys are dropped here.
    module_spec = importlib.util.spec_from_file_location(f"_nasforge_export_{out.stem}", out)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    network = module.Network()
    state = model.state_dict()
    kept = {k: state[k].detach().cpu() for k in network.state_dict()}
    torch.save(kept, weights_path)
    loaded = module.load_model(weights_path)
    return [out, weights_path], _torch_runner(loaded)


def _torch_runner(model: Any) -> Any:
    import torch

    def run(x: torch.Tensor) -> Any:
        with torch.inference_mode():
            return model(x).float().numpy()

    return run


def _first(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
