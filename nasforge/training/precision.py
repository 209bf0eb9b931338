"""Automatic mixed precision for the training loop."""

from __future__ import annotations

import contextlib

import torch

from nasforge.errors import ConfigError


class Precision:
    """Automatic mixed precision: autocast on CUDA (and on the CPU when asked), else float32.

    Mixed precision with loss scaling follows Micikevicius et al. 2018, "Mixed Precision
    Training"; torch's ``autocast`` keeps the weights and the reductions in float32.

    On CUDA, bfloat16 when the GPU supports it (it has float32's exponent range, so no loss
    scaling is needed), else float16 with a ``GradScaler`` that scales the loss so that small
    gradients do not underflow. On the CPU, bfloat16. Other devices train in float32.

    Args:
        device: the training device.
        enabled: ``"auto"``: on for CUDA devices only; ``True``: also on the CPU (bfloat16,
            slower than float32 on most CPUs); ``False``: float32 everywhere.

    Example:
        >>> Precision(torch.device("cpu")).enabled  # "auto" is float32 on the CPU
        False
        >>> Precision(torch.device("cpu"), enabled=True).dtype
        torch.bfloat16
    """

    def __init__(self, device: torch.device, enabled: bool | str = "auto") -> None:
        if not (isinstance(enabled, bool) or enabled == "auto"):
            raise ConfigError(f"amp={enabled!r}; allowed: 'auto', True or False")
        if enabled == "auto":
            enabled = device.type == "cuda"
        self.enabled = bool(enabled) and device.type in ("cuda", "cpu")
        self.device_type = device.type
        self.dtype = torch.bfloat16
        self.scaler: torch.amp.GradScaler | None = None
        if self.enabled and device.type == "cuda":
            with torch.cuda.device(device):
                if not torch.cuda.is_bf16_supported():
                    self.dtype = torch.float16
                    self.scaler = torch.amp.GradScaler("cuda")

    def __repr__(self) -> str:
        what = str(self.dtype).removeprefix("torch.") if self.enabled else "float32"
        return f"Precision({self.device_type}, {what})"

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """The context a forward pass runs in (a no-op when mixed precision is off)."""
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        clip_norm: float | None = None,
    ) -> None:
        """Backward pass and optimizer step (the scaler skips a step whose gradients overflow);
        ``clip_norm``: clip the gradients of the optimizer's parameters to this norm first (on
        the unscaled gradients)."""
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if self.scaler is None:
            loss.backward()
            if clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, clip_norm)
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        if clip_norm is not None:
            self.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        self.scaler.step(optimizer)
        self.scaler.update()
