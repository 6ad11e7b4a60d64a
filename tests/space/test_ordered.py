"""Ordered choices: numbers are ordered by value, labels when asked; neighbours, mutation,
crossover and encoding follow the order."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from nasforge._errors import SpaceError
from nasforge.space import Arch, Choice, SearchSpace, from_config


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_numbers_are_ordered_and_neighbours_are_adjacent_values() -> None:
    c = Choice([16, 32, 64])
    assert c.ordered and c.neighbors(16) == [32] and c.neighbors(32) == [16, 64] and c.neighbors(64) == [32]
    # listed out of order: ordered by value, enumerated as listed
    d = Choice([64, 16, 32])
    assert d.values() == [64, 16, 32] and d.order == [16, 32, 64] and d.neighbors(64) == [32]
    assert d.encode(16) == [0.0] and d.encode(64) == [1.0]


def test_labels_are_categorical_unless_ordered_and_numbers_can_opt_out() -> None:
    labels = Choice(["relu", "gelu", "tanh"])
    assert not labels.ordered and labels.neighbors("relu") == ["gelu", "tanh"] and labels.width == 3
    sizes = Choice(["small", "medium", "large"], ordered=True)
    assert sizes.neighbors("small") == ["medium"] and sizes.width == 1 and sizes.encode("large") == [1.0]
    codes = Choice([1, 7, 3], ordered=False)
    assert codes.neighbors(1) == [7, 3] and codes.encode(7) == [0.0, 1.0, 0.0]
    assert not Choice([True, False]).ordered  # booleans are labels
    with pytest.raises(SpaceError, match="true or false"):
        Choice([1, 2], ordered="yes")  # type: ignore[arg-type]


def test_encoding_is_one_column_by_rank_or_log_value() -> None:
    assert [Choice([0.0, 0.3, 0.6]).encode(v)[0] for v in (0.0, 0.3, 0.6)] == [0.0, 0.5, 1.0]
    assert [Choice([1, 2, 10]).encode(v)[0] for v in (1, 2, 10)] == [0.0, 0.5, 1.0]  # span 10x: rank
    units = Choice([16, 32, 64, 128, 256, 512])  # span 32x: log value, which is even here
    assert units.log and [round(units.encode(v)[0], 9) for v in units.order] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    lr = Choice([5e-4, 1e-3, 5e-3, 1e-2])
    assert lr.log and lr.encode(1e-3)[0] == pytest.approx(math.log(2) / math.log(20))
    space = SearchSpace({"units": units, "act": Choice(["relu", "tanh"])})
    assert space.encoding_width == 3
    assert space.encode(Arch({"units": 64, "act": "tanh"})).tolist() == pytest.approx([0.4, 0.0, 1.0])


def test_mutation_often_steps_to_an_adjacent_value_and_can_jump() -> None:
    c = Choice(list(range(0, 100, 10)))
    g = rng(3)
    moves = [abs(c.mutate(50, g) - 50) for _ in range(400)]
    adjacent = sum(m == 10 for m in moves) / len(moves)
    assert 0 not in moves and 0.5 < adjacent < 0.75 and max(moves) >= 40
    assert Choice([1, 2]).mutate(1, g) == 2


def test_yaml_float_lists_are_numbers_ordered_on_a_log_scale_and_round_trip() -> None:
    text = """
decisions:
  lr: {choice: [5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1]}
  size: {choice: [small, medium, large], ordered: true}
  code: {choice: [3, 1, 2], ordered: false}
  act: {choice: [relu, tanh]}
"""
    space = from_config(yaml.safe_load(text))  # PyYAML reads 5e-4 as a string
    lr = space.decision("lr").domain
    assert isinstance(lr, Choice) and lr.choices == (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1) and lr.log
    assert space.neighbors(Arch({"lr": 1e-3, "size": "small", "code": 3, "act": "relu"}))
    lines = space.describe()
    assert lines[0].endswith("(ordered, log scale)") and lines[1].endswith("(ordered)")
    assert not lines[2].endswith(")") and "ordered" not in lines[3]
    config = space.to_config()
    assert isinstance(config, dict)
    assert config["decisions"]["size"] == {"choice": ["small", "medium", "large"], "ordered": True}
    assert config["decisions"]["code"] == {"choice": [3, 1, 2], "ordered": False}
    assert config["decisions"]["lr"] == {"choice": [5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1]}
    again = from_config(yaml.safe_load(yaml.safe_dump(config, sort_keys=False)))
    assert again.describe() == lines and again.names == space.names
    a = space.sample(rng(1))
    assert np.array_equal(again.encode(a), space.encode(a))
    with pytest.raises(SpaceError, match=r"space\.decisions\.size\.ordered"):
        from_config({"decisions": {"size": {"choice": ["a", "b"], "ordered": "yes"}}})


def test_space_neighbours_of_an_ordered_decision_change_it_by_one_step() -> None:
    space = SearchSpace({"units": Choice([16, 32, 64, 128]), "act": Choice(["relu", "gelu", "tanh"])})
    ns = space.neighbors(Arch({"units": 32, "act": "relu"}))
    assert sorted((n["units"], n["act"]) for n in ns) == [(16, "relu"), (32, "gelu"), (32, "tanh"), (64, "relu")]
