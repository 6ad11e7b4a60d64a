"""ASHA and the median rule on synthetic curves: which trial stops at which step, in the order
reports arrive; the pruner's options refused with the field named."""

from __future__ import annotations

import math

import pytest

from nasforge import ConfigError
from nasforge.pruners import ASHA, Curves, MedianStopping, make_pruner, rung_steps
from nasforge.strategies._fidelity import fidelity_budgets


def judge(pruner, reports):  # type: ignore[no-untyped-def]
    """Feed ``(trial, step, value)`` reports in order; the decisions, by report."""
    curves, out = Curves(), []
    for number, step, value in reports:
        curves.record(number, step, value)
        out.append(pruner.prune(curves, number, step))
    return out


def test_asha_rungs_are_hyperbands_epochs() -> None:
    # Hyperband over 9 / 27 epochs with min_budget 1/9 / 1/27 and eta 3 trains 1, 3 (, 9) epochs before the full
    for epochs, low in ((9, 1 / 9), (27, 1 / 27), (10, 1 / 10)):
        hyperband = [max(1, math.floor(b * epochs + 0.5)) for b in fidelity_budgets(None, low, 3)][:-1]
        assert rung_steps(1, 3, epochs) == hyperband
    assert rung_steps(1, 3, 9) == [1, 3] and rung_steps(2, 2, 16) == [2, 4, 8] and rung_steps(5, 3, 5) == []
    assert ASHA(eta=2, min_steps=1).rungs(upto=20) == [1, 2, 4, 8, 16]


def test_asha_keeps_the_top_third_of_what_a_rung_has_seen_so_far() -> None:
    asha = ASHA(eta=3, max_steps=9)
    decisions = judge(asha, [(0, 1, 0.5), (1, 1, 0.4), (2, 1, 0.6), (3, 1, 0.3), (4, 1, 0.7), (5, 1, 0.2),
                             (6, 1, 0.65)])  # fmt: skip
    # 1st goes on; 2nd is below the best of 2; 3rd is the best of 3; 4th not top-1 of 4; 5th best;
    # 6th: top-2 of 6 is 0.6, 0.2 is below; 7th: top-2 of 7 (0.7, 0.65) — it is second, goes on
    assert [d is None for d in decisions] == [True, False, True, False, True, False, True]
    assert decisions[1] == "asha: step 1, not in the top 1 of 2 values at this rung"


def test_asha_judges_only_at_rungs_and_the_order_of_arrival_matters() -> None:
    asha = ASHA(eta=2, max_steps=8)  # rungs 1, 2, 4
    assert asha.rungs() == [1, 2, 4]
    # a poor trial that reports step 3 (no rung) is never judged there
    assert judge(asha, [(0, 3, 0.9), (1, 3, 0.1)]) == [None, None]
    # asynchronous: the same values in another order give other decisions (the first goes on)
    assert judge(asha, [(0, 2, 0.1), (1, 2, 0.9)]) == [None, None]
    assert judge(asha, [(1, 2, 0.9), (0, 2, 0.1)])[1] is not None


def test_asha_min_trials_lets_the_first_trials_at_a_rung_go_on() -> None:
    reports = [(0, 1, 0.5), (1, 1, 0.1), (2, 1, 0.05), (3, 1, 0.01)]
    assert [d is None for d in judge(ASHA(eta=3, max_steps=9), reports)] == [True, False, False, False]
    assert [d is None for d in judge(ASHA(eta=3, max_steps=9, min_trials=3), reports)] == [True, True, True, False]


def test_median_rule_after_warmup_and_min_trials() -> None:
    rule = MedianStopping(warmup_steps=1, min_trials=2)
    reports = [(0, 1, 0.9), (1, 1, 0.8), (2, 1, 0.1),  # step 1: warm-up, nobody stops
               (0, 2, 0.9), (1, 2, 0.5), (2, 2, 0.2),  # step 2: trial 1 has one other only; 2 is below 0.7
               (3, 2, 0.8)]  # fmt: skip
    decisions = judge(rule, reports)
    assert decisions[:3] == [None, None, None]
    assert decisions[3] is None and decisions[4] is None
    assert decisions[5] == "median: step 2, 0.2 below the median 0.7 of 2 other trials"
    assert decisions[6] is None  # 0.8 against 0.9, 0.5, 0.2: above the median 0.5


def test_nan_counts_as_worst() -> None:
    assert judge(ASHA(eta=2, max_steps=4), [(0, 1, 0.3), (1, 1, math.nan)])[1] is not None


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("hyperband", "pruner.name"),
        ({"name": "asha", "eta": 1}, "pruner.eta"),
        ({"name": "asha", "eta": math.inf}, "pruner.eta"),
        ({"name": "asha", "eta": True}, "pruner.eta"),
        ({"name": "asha", "min_steps": 0}, "pruner.min_steps"),
        ({"name": "asha", "min_steps": 4, "max_steps": 4}, "pruner.min_steps"),
        ({"name": "asha", "patience": 2}, "pruner.patience"),
        ({"name": "median", "warmup_steps": -1}, "pruner.warmup_steps"),
        ({"name": "none", "eta": 2}, "pruner.eta"),
        (["asha"], "pruner"),
    ],
)
def test_bad_pruner_configs_name_the_field(spec, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as err:
        make_pruner(spec)
    assert err.value.field == field


def test_pruner_config_round_trip() -> None:
    for spec in ({"name": "asha"}, {"name": "asha", "eta": 2, "min_steps": 2}, {"name": "median", "min_trials": 3}):
        assert make_pruner(spec).to_config() == spec  # type: ignore[union-attr]
    assert make_pruner("none") is None and make_pruner(None) is None


def test_docstring_examples_hold() -> None:
    import doctest

    from nasforge.evaluators import _steps
    from nasforge.pruners import _base, _rules

    for module in (_base, _rules, _steps):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
