"""The epoch loop and scoring: deterministic given the seeds, and a diverged run names itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.data import from_arrays
from nasforge.training import (
    NonFiniteLossError,
    Precision,
    SGDRecipe,
    TrainData,
    batch_bounds,
    prepare_data,
    score,
    seeded,
    train_epoch,
    train_model,
)

CPU = torch.device("cpu")


def tiny_data(bad_sample: int | None = None) -> TrainData:
    """An easy 2-class problem: 80 training, 20 validation and 20 test samples of shape (1, 6)."""
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    x = (rng.normal(size=(120, 1, 6)) + 1.5 * y[:, None, None]).astype(np.float32)
    if bad_sample is not None:
        x[bad_sample, 0, 0] = np.inf
    data = from_arrays(x[:100], y[:100], x[100:], y[100:])
    return prepare_data(data, CPU, val_fraction=0.2, data_seed=0)


def tiny_model(seed: int) -> nn.Module:
    with seeded(seed, CPU):
        return nn.Sequential(nn.Flatten(), nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))


def one_epoch(seed: int, order_seed: int) -> tuple[float, nn.Module]:
    data = tiny_data()
    model = tiny_model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = batch_bounds(len(data.y_train), 16)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(batches))
    generator = torch.Generator().manual_seed(order_seed)
    loss, bad = train_epoch(
        model, data, None, batches, optimizer, scheduler, generator, Precision(CPU)
    )
    assert bad is None
    return loss, model


def test_train_epoch_is_deterministic_given_the_seeds() -> None:
    loss, model = one_epoch(0, 0)
    again_loss, again = one_epoch(0, 0)
    assert loss == again_loss
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True)
    )
    assert one_epoch(0, 1)[0] != loss  # another batch order
    assert one_epoch(1, 0)[0] != loss  # other initial weights


def test_train_epoch_uses_only_the_given_rows() -> None:
    data = tiny_data()
    model = tiny_model(0)
    seen: list[torch.Tensor] = []
    model.register_forward_pre_hook(lambda _, inputs: seen.append(inputs[0]))
    rows = data.train_rows(0.25)
    assert rows is not None
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = batch_bounds(len(rows), 4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, len(batches))
    generator = torch.Generator().manual_seed(0)
    train_epoch(model, data, rows, batches, optimizer, scheduler, generator, Precision(CPU))
    used = {tuple(x.flatten().tolist()) for x in torch.cat(seen)}
    assert used == {tuple(data.x_train[i].flatten().tolist()) for i in rows.tolist()}


def test_score_is_the_loss_and_accuracy_in_percent() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(2))
    x = torch.tensor([[[3.0, 0.0]], [[0.0, 3.0]], [[3.0, 0.0]], [[1.0, 1.0]]])
    y = torch.tensor([0, 1, 1, 0])
    loss, accuracy = score(model, x, y)
    logits = x.flatten(1)
    expected = float(nn.functional.cross_entropy(logits, y))
    assert accuracy == 75.0  # the tie [1, 1] predicts class 0
    assert loss == pytest.approx(expected, rel=1e-6)
    assert not model.training


def test_train_model_learns_reports_each_epoch_and_repeats() -> None:
    data = tiny_data()
    recipe = SGDRecipe(epochs=3, batch_size=16, lr=0.1)
    reports: list[tuple[int, dict[str, float]]] = []
    with seeded(0, CPU):
        model = tiny_model(0)
        result = train_model(
            model, data, recipe, seed=0, on_epoch=lambda e, m: reports.append((e, m))
        )
    assert [epoch for epoch, _ in reports] == [1, 2, 3]
    assert reports[-1][1] == {"val_acc": result.val_acc, "train_loss": result.train_loss}
    assert result.val_acc > 70 and not model.training
    assert score(model, data.x_val, data.y_val) == (result.val_loss, result.val_acc)
    with seeded(0, CPU):
        again = train_model(tiny_model(0), data, recipe, seed=0)
    assert again == result


def test_a_non_finite_loss_names_epoch_step_and_lr() -> None:
    data = tiny_data(bad_sample=3)  # an infinite input in the training split
    recipe = SGDRecipe(epochs=2, batch_size=80, lr=0.05)  # one step per epoch
    with pytest.raises(NonFiniteLossError) as info:
        train_model(tiny_model(0), data, recipe, seed=0)
    message = str(info.value)
    assert message.startswith("non-finite loss at epoch 1 step 1 (of 1 per epoch")
    assert "lr=0.05" in message and "\n" not in message


@pytest.mark.parametrize("clip", [None, 0.01])
def test_grad_clip_bounds_each_steps_gradient_norm(clip: float | None) -> None:
    data = tiny_data()
    # one plain SGD step of lr 1 per epoch: the update is the (clipped) gradient itself
    recipe = SGDRecipe(epochs=1, batch_size=80, lr=1.0, momentum=0.0, weight_decay=0.0,
                       schedule="constant", grad_clip=clip)  # fmt: skip
    model = tiny_model(0)
    before = [p.detach().clone() for p in model.parameters()]
    train_model(model, data, recipe, seed=0)
    after = model.parameters()
    step = torch.cat([(b - a.detach()).flatten() for b, a in zip(before, after, strict=True)])
    norm = float(step.norm())
    if clip is None:
        assert norm > 0.05  # the gradient of an untrained net is far above the clip below
    else:
        assert norm == pytest.approx(clip, rel=1e-4)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_label_smoothing_trains_on_the_smoothed_targets(smoothing: float) -> None:
    data = tiny_data()
    # one step (the whole training split): the epoch's loss is the untrained net's loss
    recipe = SGDRecipe(epochs=1, batch_size=80, lr=0.1, label_smoothing=smoothing)
    model = tiny_model(0)
    with torch.no_grad():
        logits = model(data.x_train)
    log_p = torch.log_softmax(logits, dim=1)
    targets = torch.full_like(log_p, smoothing / 2)  # 2 classes: the share spread over both
    targets[torch.arange(len(data.y_train)), data.y_train] += 1 - smoothing
    expected = float(-(targets * log_p).sum(dim=1).mean())
    result = train_model(model, data, recipe, seed=0)
    assert result.train_loss == pytest.approx(expected, rel=1e-5)
