"""Mixed precision: off on the CPU unless asked, bfloat16 when on, float16 with a scaler on
GPUs without bfloat16."""

from __future__ import annotations

import pytest
import torch

from nasforge.errors import ConfigError
from nasforge.training import Precision

CPU = torch.device("cpu")


def test_off_on_the_cpu_by_default() -> None:
    precision = Precision(CPU)
    assert not precision.enabled and precision.scaler is None
    assert repr(precision) == "Precision(cpu, float32)"
    with precision.autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_bfloat16_on_the_cpu_when_asked() -> None:
    precision = Precision(CPU, enabled=True)
    assert precision.enabled and precision.dtype == torch.bfloat16 and precision.scaler is None
    with precision.autocast():
        out = torch.nn.functional.linear(torch.ones(2, 3), torch.ones(4, 3))
    assert out.dtype == torch.bfloat16
    assert not Precision(CPU, enabled=False).enabled


def test_other_devices_train_in_float32() -> None:
    assert not Precision(torch.device("meta"), enabled=True).enabled


def test_step_is_backward_and_optimizer_step_without_a_scaler() -> None:
    weight = torch.nn.Parameter(torch.tensor([1.0]))
    optimizer = torch.optim.SGD([weight], lr=0.5)
    Precision(CPU).step((2.0 * weight).sum(), optimizer)
    assert weight.item() == 0.0


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_a_bad_setting_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^amp=.*; allowed: 'auto', True or False$"):
        Precision(CPU, enabled=bad)  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_by_default_on_cuda() -> None:
    precision = Precision(torch.device("cuda"))
    assert precision.enabled and precision.dtype in (torch.bfloat16, torch.float16)
    assert (precision.scaler is None) == (precision.dtype == torch.bfloat16)
