"""The 2-D spaces train on the image datasets' shapes, (3, 32, 32) and (1, 28, 28), through the
whole path a search takes: files in the cache folder, normalisation, augmentation, one epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasforge.estimation import TrialContext
from nasforge.estimation.train import TrainEvaluator
from nasforge.estimation.zero_cost import ZeroCostEvaluator
from nasforge.space import Space
from nasforge.spaces import create_space
from tests.data.conftest import write_cifar10, write_mnist

SPACES: dict[str, dict[str, Any]] = {
    "nb201": {"n_cells": 1, "channels": 4},
    "darts": {"n_cells": 2, "channels": 4},
    "chain": {"max_layers": 3, "channels": 4, "input_size": 32},
    "mobile": {"channels": 4, "stages": 2},
    "inception": {"channels": 4},
}


@pytest.fixture
def image_files(data_home: Path) -> Path:
    write_cifar10(data_home, per_batch=8, test=8)  # 40 train images
    write_mnist(data_home / "mnist", train=20, test=10)
    return data_home


@pytest.mark.parametrize("dataset", ["cifar10", "mnist"])
@pytest.mark.parametrize("name", list(SPACES))
def test_2d_space_trains_one_epoch_on_image_data(
    image_files: Path, name: str, dataset: str
) -> None:
    space: Space = create_space(name, **SPACES[name])
    arch = space.sample(np.random.default_rng(0))
    options = {"augment": True}
    evaluator = TrainEvaluator({"name": dataset, "options": options}, epochs=1, batch_size=16,
                               val_fraction=0.2, measures=())  # fmt: skip
    metrics = evaluator.evaluate(arch, TrialContext(space=space, seed=0))
    expected = (3, 32, 32) if dataset == "cifar10" else (1, 28, 28)
    assert evaluator.load_data().task.input_shape == expected
    assert np.isfinite(metrics["train_loss"]) and 0 <= metrics["test_acc"] <= 100
    again = TrainEvaluator({"name": dataset, "options": options}, epochs=1, batch_size=16,
                           val_fraction=0.2, measures=())  # fmt: skip
    assert again.evaluate(arch, TrialContext(space=space, seed=0)) == metrics  # seeded


def test_zero_cost_proxies_score_normalised_images(image_files: Path) -> None:
    space = create_space("nb201", n_cells=1, channels=4)
    evaluator = ZeroCostEvaluator("cifar10", batch_size=8, proxies=["synflow", "naswot"])
    arch = space.sample(np.random.default_rng(1))
    metrics = evaluator.evaluate(arch, TrialContext(space=space, seed=0))
    assert all(np.isfinite(metrics[p]) for p in ("synflow", "naswot"))
    x, _ = evaluator.minibatch(0)
    assert x.dtype.is_floating_point and -3 < float(x.mean()) < 3  # normalised, not 0..255


def test_the_readme_cifar10_search_is_a_valid_config(image_files: Path) -> None:
    import yaml

    from nasforge.experiment.config import parse_config

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("name: cifar10-nb201", 1)[1].split("```", 1)[0]
    config = parse_config(yaml.safe_load("name: cifar10-nb201" + block), source="README")
    options = config.evaluator.options
    assert options["dataset"] == {"name": "cifar10", "options": {"max_samples": 5000}}
    evaluator = TrainEvaluator(**options)  # the files of the test: 40 training images
    assert evaluator.load_data().task.input_shape == (3, 32, 32)
