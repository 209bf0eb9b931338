"""Every export format on archs of every registered space, in 1-D and 2-D, checked for parity.

The standalone ``code`` files are run in a fresh Python process that cannot import nasforge.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch

from nasforge.data import ArrayDataset, load_dataset
from nasforge.errors import ConfigError
from nasforge.estimation import FunctionEvaluator
from nasforge.estimation.train import TrainEvaluator
from nasforge.export import (
    CODEGENS,
    TOLERANCE,
    export_model,
    load_model,
    open_source,
    read_export,
)
from nasforge.space import Space, Task
from nasforge.spaces import NB201Space, create_space, list_spaces
from nasforge.spaces.darts import DARTS_V2, Genotype
from nasforge.training import count_parameters

if TYPE_CHECKING:
    from tests.export.conftest import MakeStore

ALL_OPS = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
)
#: nodes 1 and 2 have convolutions but cannot reach the output (only ``none`` edges lead on)
UNREACHABLE = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|none~2|"
SKIP_ONLY = (
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|"
    "+|skip_connect~0|skip_connect~1|skip_connect~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
#: DARTS networks of 4 channels: a normal and a reduction cell (exported to ONNX, which takes
#: seconds a cell), and normal, reduce, reduce (a factorized reduce before the last)
DARTS_SMALL = {"n_cells": 2, "channels": 4}
DARTS_THREE = {"n_cells": 3, "channels": 4}
#: every DARTS operation, in a normal cell and at stride 2 in a reduction cell
DARTS_ALL_OPS = Genotype(
    normal=(("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("dil_conv_3x3", 0), ("dil_conv_5x5", 2),
            ("avg_pool_3x3", 1), ("max_pool_3x3", 3), ("skip_connect", 0), ("skip_connect", 4)),
    normal_concat=(2, 3, 4, 5),
    reduce=(("avg_pool_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_5x5", 0), ("skip_connect", 2),
            ("dil_conv_3x3", 0), ("sep_conv_3x3", 3), ("skip_connect", 1), ("dil_conv_5x5", 4)),
    reduce_concat=(2, 3, 4, 5),
)  # fmt: skip
DARTS_ALL_OPS_KEY = create_space("darts", **DARTS_SMALL).from_genotype(DARTS_ALL_OPS).key  # type: ignore[attr-defined]
DARTS_V2_KEY = create_space("darts", **DARTS_SMALL).from_genotype(DARTS_V2).key  # type: ignore[attr-defined]
WITH_HP = ALL_OPS + ",lr=0.05,weight_decay=0.0001,width=16"
#: ONNX export takes seconds (torch.export): checked here on a 1-D arch with every operation;
#: tests/cli/test_ship_cli.py exports a 2-D one and test_codegen.py a space of another kind
RNN_LSTM_KEY = create_space("rnn-cell").reference("lstm").key  # type: ignore[attr-defined]
ONNX_KEYS = (WITH_HP, DARTS_ALL_OPS_KEY, RNN_LSTM_KEY)

#: per registered space: small options, the arch key and the task's spatial dimensions (1:
#: signals, 2: images); a space missing here is still tested, with a sampled arch per task
CASES: dict[str, list[tuple[dict[str, Any], str, int]]] = {
    "nb201": [
        ({"n_cells": 1, "channels": 8}, ALL_OPS, 1),
        ({"n_cells": 1, "channels": 8}, ALL_OPS, 2),
        ({"n_cells": 1, "channels": 4}, UNREACHABLE, 2),
        ({"n_cells": 1, "channels": 4}, SKIP_ONLY, 1),
        ({"n_cells": 1, "channels": 4}, ALL_NONE, 2),
        ({"n_cells": 1, "hyperparameters": ["lr", "weight_decay", "width"]}, WITH_HP, 1),
    ],
    "darts": [(DARTS_SMALL, DARTS_ALL_OPS_KEY, 1), (DARTS_THREE, DARTS_V2_KEY, 2)],
    "rnn-cell": [({"hidden": 8}, RNN_LSTM_KEY, 1)],  # signals only: a sequence of steps
}


def cases() -> list[Any]:
    out = []
    for name in list_spaces():
        if name in CASES:
            triples = CASES[name]
        else:
            space = create_space(name)
            rng = np.random.default_rng(0)
            triples = [({}, space.sample(rng).key, ndim) for ndim in (1, 2)]
        for index, (options, key, ndim) in enumerate(triples):
            out.append(pytest.param(name, options, key, ndim, id=f"{name}-{index}-{ndim}d"))
    return out


def evaluator_for(ndim: int, signals: tuple[np.ndarray, ...]) -> TrainEvaluator:
    """A training evaluator whose test set gives the checks real inputs (not used to train)."""
    return TrainEvaluator(signals if ndim == 1 else "digits", epochs=1)


def reference(path: Path, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return load_model(path)(torch.as_tensor(x)).numpy()


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
@pytest.mark.parametrize(("space_name", "options", "key", "ndim"), cases())
def test_every_format_matches_the_library_model(
    space_name: str,
    options: dict[str, Any],
    key: str,
    ndim: int,
    make_store: MakeStore,
    signals: tuple[np.ndarray, ...],
    tmp_path: Path,
) -> None:
    space = create_space(space_name, **options)
    store = make_store(space, [key])
    if space_name == "rnn-cell":  # the ONNX exporter unrolls every step: 6 instead of 24
        signals = tuple(a[..., :6] if a.ndim == 3 else a for a in signals)
    evaluator = evaluator_for(ndim, signals)
    common = {"space": space, "evaluator": evaluator}
    pt = export_model("exp", store, format="pytorch", out=tmp_path / "m.pt", **common)
    assert not pt.trained and pt.weights.startswith("UNTRAINED") and "100" in pt.weights
    assert pt.check.passed and pt.check.max_abs_diff == 0.0
    assert pt.check.inputs.startswith("real test inputs") and pt.check.samples > 0
    payload = read_export(tmp_path / "m.pt")
    assert payload["arch"] == key and payload["space"] == space_name
    assert payload["space_options"] == space_options_of(space)
    # the seed-initialised weights are the ones the trial's seed (100) gives a fresh build
    with torch.random.fork_rng():
        torch.manual_seed(100)
        fresh = space.build(space.parse(key), evaluator.load_data().task).state_dict()
    assert fresh.keys() == payload["state_dict"].keys()
    assert all(torch.equal(fresh[k], payload["state_dict"][k]) for k in fresh)
    x = evaluator.load_data().x_test[:5]  # another batch size than the export traced (2)
    expected = reference(tmp_path / "m.pt", x)
    assert expected.shape == (5, evaluator.load_data().num_classes)

    ts = export_model("exp", store, format="torchscript", out=tmp_path / "m.ts", **common)
    assert ts.check.passed and ts.check.max_abs_diff <= TOLERANCE
    scripted = torch.jit.load(str(tmp_path / "m.ts"))
    with torch.inference_mode():
        np.testing.assert_allclose(scripted(torch.as_tensor(x)).numpy(), expected, atol=1e-5)

    if key in ONNX_KEYS or (space_name not in CASES and ndim == 1):  # ONNX takes seconds
        onnx = export_model("exp", store, format="onnx", out=tmp_path / "m.onnx", **common)
        assert onnx.check.passed and onnx.check.max_abs_diff <= TOLERANCE
        import onnxruntime

        session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
        got = session.run(None, {"x": x.astype(np.float32)})[0]
        np.testing.assert_allclose(got, expected, atol=TOLERANCE)

    if space_name in CODEGENS:  # spaces with a code generator; the others must refuse cleanly
        code = export_model("exp", store, format="code", out=tmp_path / "net.py", **common)
        assert code.check.passed and [p.name for p in code.paths] == ["net.py", "net.pt"]
    else:
        with pytest.raises(ConfigError, match="format='code' is not supported"):
            export_model("exp", store, format="code", out=tmp_path / "net.py", **common)


def space_options_of(space: Space) -> dict[str, Any]:
    """The options an export records to rebuild a registered space."""
    from nasforge.spaces import SPACES

    found = SPACES.options_of(space)
    assert found is not None and found[0] == space.name
    if isinstance(space, NB201Space):  # the options spelled out, for the space most used
        assert found[1] == {
            "n_cells": space.n_cells,
            "channels": space.channels,
            "ops": list(space.ops),
            "hyperparameters": space.hyperparameters,
        }
    return found[1]


BLOCKER = """\
import importlib.util, json, sys
import numpy as np

class BlockNasforge:
    def find_spec(self, name, path=None, target=None):
        if name == "nasforge" or name.startswith("nasforge."):
            raise ImportError("nasforge is not importable in this process")
        return None

sys.meta_path.insert(0, BlockNasforge())
sys.path = [p for p in sys.path if p and p.rstrip("/") != ROOT]
try:
    import nasforge
    raise SystemExit("nasforge was importable")
except ImportError:
    pass
for folder in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location("net", folder + "/net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import torch
    model = module.load_model()
    x = torch.as_tensor(np.load(folder + "/x.npy"))
    with torch.inference_mode():
        np.save(folder + "/out.npy", model(x).numpy())
print("ok", sorted(m for m in sys.modules if m.startswith("nasforge")))
"""


def test_code_files_run_without_nasforge_and_reproduce_the_outputs(
    tmp_path: Path, signals: tuple[np.ndarray, ...]
) -> None:
    from nasforge.storage import Storage
    from nasforge.trial import TrialStatus

    folders, expected = [], {}
    for index, (options, key, ndim) in enumerate(CASES["nb201"]):
        folder = tmp_path / f"case{index}-{ndim}d"
        folder.mkdir()
        space = create_space("nb201", **options)
        store = Storage(folder / "runs.db")
        record = store.create_experiment("exp", 0, {"val_acc": "max"}, {"config": {}})
        store.start_trial(record.id, 0, space.parse(key), seed=7)
        store.finish_trial(record.id, 0, TrialStatus.COMPLETE, {"val_acc": 1.0}, [1.0])
        evaluator = evaluator_for(ndim, signals)
        common = {"space": space, "evaluator": evaluator}
        export_model("exp", store, format="code", out=folder / "net.py", **common)
        x = evaluator.load_data().x_test[:6]
        np.save(folder / "x.npy", x)
        model = (
            open_source("exp", store, space=space, evaluator=evaluator)
            .model_spec()
            .build(space, seed=7)
        )
        with torch.inference_mode():
            expected[folder] = model(torch.as_tensor(x)).numpy()
        folders.append(folder)
    root = str(Path(__file__).resolve().parents[2])
    script = f"ROOT = {root!r}\n" + BLOCKER
    done = subprocess.run(
        [sys.executable, "-I", "-c", script, json.dumps([str(f) for f in folders])],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok []"
    for folder in folders:
        np.testing.assert_allclose(np.load(folder / "out.npy"), expected[folder], atol=1e-6)


def test_a_network_built_smaller_by_the_evaluator_exports_at_that_size(
    make_store: MakeStore, tmp_path: Path
) -> None:
    space = NB201Space(n_cells=2, channels=16)
    store = make_store(space, [ALL_OPS])
    evaluator = TrainEvaluator("digits", n_cells=1, channels=4)
    result = export_model(
        "exp", store, format="code", out=tmp_path / "net.py", space=space, evaluator=evaluator
    )
    assert result.check.passed
    text = (tmp_path / "net.py").read_text()
    assert "CHANNELS = 4\n" in text and "N_CELLS = 1\n" in text
    small = space.build(space.parse(ALL_OPS), evaluator.load_data().task, n_cells=1, channels=4)
    n_params = sum(p.numel() for p in small.parameters())
    state = torch.load(tmp_path / "net.pt", weights_only=True)
    assert sum(v.numel() for k, v in state.items() if "running" not in k and "num_b" not in k) == (
        n_params
    )


class SmallDigits(FunctionEvaluator):
    """Not a training evaluator, but one that declares its data and the sizes it builds at."""

    def __init__(self) -> None:
        super().__init__(lambda arch: {"val_acc": 0.0})

    def load_data(self) -> ArrayDataset:
        return load_dataset("digits")

    def size_overrides(self) -> dict[str, int]:
        return {"channels": 4}


def test_export_asks_the_evaluator_for_its_data_and_network_sizes(
    make_store: MakeStore, tmp_path: Path
) -> None:
    space = NB201Space(n_cells=1, channels=16)
    store = make_store(space, [ALL_OPS])
    source = open_source("exp", store, space=space, evaluator=SmallDigits())
    assert source.load_data() is not None and source.task() == load_dataset("digits").task
    spec = source.model_spec()
    assert spec.build_options == {"channels": 4}
    small = NB201Space(n_cells=1, channels=4).build(space.parse(ALL_OPS), spec.task)
    assert count_parameters(spec.build(space)) == count_parameters(small)
    plain = open_source("exp", store, space=space, evaluator=FunctionEvaluator(lambda a: 0.0))
    assert plain.load_data() is None and plain.model_spec(task=Task((1, 8), 3)).build_options == {}
    with pytest.raises(ConfigError, match="input shape and classes of its data are unknown"):
        plain.task()
    result = export_model("exp", store, out=tmp_path / "m.pt", space=space, evaluator=SmallDigits())
    assert result.check.passed and "real test inputs (digits)" in result.check.inputs
    assert load_model(tmp_path / "m.pt", space=space, device="auto").training is False
    with pytest.raises(ConfigError, match="device='gpu' is not a device"):
        load_model(tmp_path / "m.pt", space=space, device="gpu")
