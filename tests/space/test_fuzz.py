"""Every malformed space config is either a usable space or one SpaceError line: each value of
a config holding every kind of decision is replaced by each of a list of bad values, and the
result is read, sampled, counted, moved and written back. No other exception may escape."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import yaml

from nasforge import SpaceError
from nasforge.space import from_config

VALID = yaml.safe_load(
    """
decisions:
  kernel: {choice: [1, 3, 5]}
  lr: {float: [1.0e-4, 1.0e-1], log: true}
  wd: {float: [0.0, 0.5], grid: 3}
  depth: {int: [1, 9], step: 2}
  width: {int: [8, 64], log: false}
  opt: {choice: [sgd, adam]}
  momentum: {choice: [0.0, 0.9], when: {opt: [sgd]}}
  layers:
    repeat: {min: 1, max: 3}
    block:
      channels: {choice: [16, 32]}
      pool: {choice: [none, max]}
      size: {choice: [2, 3], when: {pool: [max]}}
  cell: {cell: {nodes: 3, ops: [none, skip_connect, conv], none_op: none}}
constraints:
  - "kernel <= 3 or depth <= 3"
  - {expr: "layers.0.channels >= 16 or not has(layers.1.channels)"}
"""
)

BAD: list[Any] = [
    None, "x", "no", "", True, 0, -1, 1.5, math.nan, math.inf, -math.inf, 10**30, 2**40, [], [[1, 2], [3]],
    [math.nan], {}, {"a": 1}, [None], "1/0", 5000, ["a", "a"],
]  # fmt: skip


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in the config a value sits (mapping keys and list positions)."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


def replaced(path: tuple[Any, ...], value: Any) -> Any:
    data = copy.deepcopy(VALID)
    if not path:
        return value
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


CASES = [(p, v) for p in paths(VALID) for v in BAD]


def exercise(data: Any) -> None:
    try:
        space = from_config(data)
    except SpaceError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("space"), str(exc)
        return
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    space.neighbors(arch)
    space.mutate(arch, rng)
    space.encode(arch)
    space.canonical(arch)
    assert math.isinf(space.cardinality) or space.cardinality >= 1
    assert from_config(space.to_config()).describe() == space.describe()


def test_the_fuzz_covers_enough_cases() -> None:
    assert len(CASES) >= 1000


@pytest.mark.parametrize("chunk", range(8))
def test_malformed_space_configs_are_refused_in_one_line(chunk: int) -> None:
    for path, value in CASES[chunk::8]:
        try:
            exercise(replaced(path, value))
        except SpaceError as exc:  # raised after building (e.g. an impossible sample): still one line
            assert "\n" not in str(exc), (path, value, str(exc))
        except Exception as exc:
            raise AssertionError(f"{'.'.join(map(str, path))} = {value!r}: {type(exc).__name__}: {exc}") from exc
