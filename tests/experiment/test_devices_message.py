"""A device list without workers says which options it needs."""

from __future__ import annotations

import pytest

from nasforge.errors import ConfigError
from nasforge.experiment.components import make_executor


def test_devices_with_the_local_executor_name_workers() -> None:
    with pytest.raises(ConfigError, match=r"--executor processes --workers N.*workers=1$"):
        make_executor("local", 1, ["cpu", "cpu"], None, 0.0, "cpu")
    with pytest.raises(ConfigError, match="ray_address needs executor 'ray'"):
        make_executor("local", 1, None, "ray://x:1", 0.0, "cpu")
