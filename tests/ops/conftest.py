"""Export parity for the operation and block tests: TorchScript (traced) and ONNX."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

#: ``check_export(module, x)``: trace and ONNX export agree with ``module`` on ``x``
CheckExport = Callable[[nn.Module, torch.Tensor], None]


def _settle(module: nn.Module, x: torch.Tensor) -> None:
    """A few training-mode passes so batch norms hold non-trivial running statistics, then
    evaluation mode (the mode a model is exported in)."""
    module.train()
    with torch.no_grad():
        for _ in range(3):
            module(x * 2 + 0.5)
    module.eval()


@pytest.fixture
def check_export() -> CheckExport:
    def check(module: nn.Module, x: torch.Tensor) -> None:
        _settle(module, x)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "`torch.jit", DeprecationWarning)
            # GroupNorm's batch-size check reads a shape; the checks below catch a bad trace
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            expected = module(x)
            traced = torch.jit.trace(module, (x,))
            torch.testing.assert_close(traced(x), expected, rtol=0, atol=1e-6)
        onnxruntime = pytest.importorskip("onnxruntime")
        buffer = io.BytesIO()
        # the TorchScript-based exporter: a few ms per export, where the dynamo one takes
        # most of a second; nasforge.export's dynamo path is tested in tests/export
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x,), buffer, input_names=["x"], dynamo=False)
        session = onnxruntime.InferenceSession(
            buffer.getvalue(), providers=["CPUExecutionProvider"]
        )
        # an output of constant shape and value (``none``) leaves the graph no input
        got = session.run(None, {i.name: x.numpy() for i in session.get_inputs()})[0]
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-5)

    return check
