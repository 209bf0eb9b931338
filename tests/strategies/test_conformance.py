"""Every registered strategy passes the conformance suite of ``nasforge.testing.strategies``.

A newly registered strategy is tested with no change here, and held to the full bar: it must
learn (see ``check_improves``) and accept cell spaces unless it is listed below.
"""

from __future__ import annotations

import pytest

from nasforge.strategies import list_strategies
from nasforge.testing.strategies import StrategyConformance, StrategyFactory

#: strategies that ignore scores; only the sanity floor of the improvement check applies
BASELINES = frozenset({"random", "optuna:random"})
#: strategies for numeric dimensions only, which may refuse cell spaces (e.g. CMA-ES)
REFUSE_CELLS: frozenset[str] = frozenset({"cmaes"})
#: options that keep a strategy's suite fast (a few seconds), by name
#: strategies whose ask takes about a second: the 300 asks of the improvement check would take
#: minutes, so their search quality is measured in benchmarks/ instead (see BENCHMARKS.md)
SLOW_TO_ASK = frozenset({"optuna:gp"})
FAST_OPTIONS: dict[str, dict[str, object]] = {
    "bananas": {"epochs": 60, "update_epochs": 5},
    "pnas": {"epochs": 60},
    "dpp-net": {"epochs": 60},
}


class TestRegisteredStrategies(StrategyConformance):
    @pytest.fixture(params=list_strategies())
    def strategy_factory(self, request: pytest.FixtureRequest) -> StrategyFactory:
        name = request.param
        return StrategyFactory(
            name,
            options=FAST_OPTIONS.get(name, {}),
            learns=name not in BASELINES,
            refuses_cells=name in REFUSE_CELLS,
        )

    def test_improves(self, strategy_factory: StrategyFactory) -> None:
        if strategy_factory.name in SLOW_TO_ASK:
            pytest.skip(f"{strategy_factory.name}: too slow per ask for 300 asks in the test suite")
        super().test_improves(strategy_factory)
