"""Bad spaces are refused in one line naming the field; deep or large spaces neither crash nor
hang; a space writes itself back to the config that rebuilds it (issue 14, issue 9)."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import nasforge.space as space_pkg
from nasforge import SpaceError
from nasforge.space import (
    BUILTIN_SPACES,
    Arch,
    Cell,
    Choice,
    Conditional,
    Expression,
    FloatRange,
    IntRange,
    Repeat,
    SearchSpace,
    builtin,
    from_config,
    register_space,
)

ONE = {"k": {"choice": [1, 3, 5]}}


def refused(data: object) -> str:
    with pytest.raises(SpaceError) as info:
        from_config(data)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


@pytest.mark.parametrize(
    "data, expected",
    [
        # unhashable, NaN and inf values: refused before anything hashes them
        ({"decisions": {"k": {"choice": [[1, 2], [3]]}}}, "space.decisions.k.choice: values must be numbers"),
        ({"decisions": {"k": {"choice": [{"a": 1}]}}}, "space.decisions.k.choice: values must be numbers"),
        ({"decisions": {"k": {"choice": [float("nan"), 1]}}}, "space.decisions.k.choice: values must be finite"),
        ({"decisions": {"k": {"choice": [1, float("inf")]}}}, "space.decisions.k.choice: values must be finite"),
        ({"decisions": {"k": {"choice": [None]}}}, "space.decisions.k.choice: values must be numbers"),
        # flags are real booleans ('no' is a true string)
        ({"decisions": {"k": {"int": [1, 10], "log": "no"}}}, "space.decisions.k.log: must be true or false, got 'no'"),
        ({"decisions": {"k": {"float": [0.1, 1.0], "log": 1}}}, "space.decisions.k.log: must be true or false, got 1"),
        ({"decisions": {"k": {"float": [0.1, 1.0], "log": "yes"}}}, "space.decisions.k.log: must be true or false"),
        # int64 bounds at parse time, not at the first sample
        ({"decisions": {"k": {"int": [1, 10**30]}}}, r"space.decisions.k.int: high must lie within \+-2\*\*63"),
        ({"decisions": {"k": {"int": [-(10**30), 1]}}}, r"space.decisions.k.int: low must lie within"),
        ({"decisions": {"k": {"int": [-(2**63) + 1, 2**63 - 1]}}}, "space.decisions.k.int: holds more than 2"),
        ({"decisions": {"k": {"int": [1, 5], "step": True}}}, "space.decisions.k.int: step must be an integer"),
        # repeats: bounded depth, whole numbers
        ({"decisions": {"l": {"repeat": {"min": 1, "max": 5000}, "block": ONE}}}, "space.decisions.l.repeat: max must be at most 1000"),
        ({"decisions": {"l": {"repeat": {"min": 1, "max": True}, "block": ONE}}}, "space.decisions.l.repeat: needs integers"),
        ({"decisions": {"l": {"repeat": [1, 2.5], "block": ONE}}}, "space.decisions.l.repeat: needs integers"),
        # cells: bounded size, names only
        ({"decisions": {"c": {"cell": {"nodes": 40, "ops": ["none", "conv"]}}}}, "space.decisions.c.cell.nodes: must be an integer from 2 to 12"),
        ({"decisions": {"c": {"cell": {"nodes": 3, "ops": "conv"}}}}, "space.decisions.c.cell.ops"),
        ({"decisions": {"c": {"cell": {"nodes": 3, "ops": ["a"], "none_op": 3}}}}, "space.decisions.c.cell.none_op"),
        # constraints that raise when evaluated: refused when the space is read, naming the constraint
        ({"decisions": ONE, "constraints": ["1/0"]}, r"space.constraints\[0\]: expression '1/0' cannot be evaluated .*ZeroDivisionError"),
        ({"decisions": ONE, "constraints": ["k > 0", "len(3)"]}, r"space.constraints\[1\]: .*'len\(3\)' cannot be evaluated .*TypeError"),
        ({"decisions": ONE, "constraints": ["k in 3"]}, r"space.constraints\[0\]: .*cannot be evaluated"),
        ({"decisions": ONE, "constraints": ["'a' < k"]}, r"space.constraints\[0\]: .*cannot be evaluated"),
        # functions called without (or with too many) arguments
        ({"decisions": ONE, "constraints": ["max() > 1"]}, r"space.constraints\[0\]: .*calls max\(\) with 0 arguments"),
        ({"decisions": ONE, "constraints": ["has()"]}, r"space.constraints\[0\]: .*calls has\(\) with 0 arguments"),
        ({"decisions": ONE, "constraints": ["get()"]}, r"space.constraints\[0\]: .*calls get\(\) with 0 arguments"),
        ({"decisions": ONE, "constraints": ["abs(k, k) > 1"]}, r"space.constraints\[0\]: .*calls abs\(\) with 2 arguments"),
        ({"decisions": ONE, "constraints": ["max(k, key=abs) > 1"]}, r"space.constraints\[0\]: .*uses keyword"),
        # unbounded cost: refused instead of running for hours or filling memory
        ({"decisions": ONE, "constraints": ["9 ** 9 ** 9 > k"]}, r"space.constraints\[0\]: .*larger than 2\*\*4096"),
        ({"decisions": ONE, "constraints": ["len('ab' * 10**10) > k"]}, r"space.constraints\[0\]: .*more than 10000 items"),
        ({"decisions": ONE, "constraints": ["k > " + "1 + " * 1000 + "1"]}, r"space.constraints\[0\]: expression is \d+ characters"),
        ({"decisions": ONE, "constraints": ["k\x00 > 1"]}, r"space.constraints\[0\]: cannot parse"),
        ({"decisions": ONE, "constraints": [{"expr": "k > 1", "name": "x"}]}, r"space.constraints\[0\].name: unknown key"),
    ],
)
def test_bad_spaces_are_refused_in_one_line_naming_the_field(data: object, expected: str) -> None:
    assert __import__("re").search(expected, refused(data))


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Choice([[1, 2], [3]]), "choice: values must be numbers"),
        (lambda: Choice([math.nan]), "choice: values must be finite"),
        (lambda: Choice("abc"), "choice: must be a list of values"),
        (lambda: IntRange(1, 10, log="no"), "log: must be true or false"),  # type: ignore[arg-type]
        (lambda: FloatRange(0.1, 1.0, log=None), "log: must be true or false"),  # type: ignore[arg-type]
        (lambda: IntRange(1, 10**30), "int: high must lie within"),
        (lambda: SearchSpace({"l": Repeat({"k": Choice([1])}, 1, 5000)}), "space.decisions.l.repeat: max must be at most"),
        (lambda: Cell(nodes=40, ops=["none", "conv"]), "cell.nodes: must be an integer from 2 to 12"),
        (lambda: SearchSpace({"l": Repeat({"k": Choice([1])}, 1, 2), "l.0.k": Choice([1])}), "space.decisions.l.0.k: is defined twice"),
    ],
)
def test_python_api_refuses_the_same(make, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpaceError, match=expected.replace("(", r"\(")):
        make()


def test_any_sequence_makes_a_choice() -> None:
    assert Choice((1, 2)).size == Choice(range(3)).size - 1 == 2


def test_int_ranges_at_the_int64_limits_sample() -> None:
    d = IntRange(-(2**62), 2**62 - 2)
    rng = np.random.default_rng(0)
    assert all(d.contains(d.sample(rng)) for _ in range(50))
    assert IntRange(1, 2**63 - 1, log=True).sample(rng) >= 1


def test_deep_repeats_count_enumerate_and_sample_without_recursion() -> None:
    # 1,001 decisions: the recursive count and enumeration went past Python's recursion limit
    space = SearchSpace({"l": Repeat({"k": Choice([1])}, 0, 1000)})
    assert space.cardinality == 1001
    archs = list(space.enumerate())
    assert len(archs) == 1001 and len({a.id for a in archs}) == 1001
    assert archs[-1]["l"] == 1000 and len(archs[-1]) == 1001
    # an exponential number of branches (a conditional in every layer) is counted, not walked
    deep = SearchSpace(
        {"l": Repeat({"p": Choice(["n", "m"]), "s": Conditional(Choice([2, 3]), "p", ("m",))}, 1, 200)}
    )
    assert deep.cardinality == sum(3**n for n in range(1, 201))
    assert deep.sample(np.random.default_rng(0))["l"] >= 1


def test_counting_matches_enumeration_with_conditions() -> None:
    data = yaml.safe_load(
        """
decisions:
  opt: {choice: [sgd, adam]}
  momentum: {choice: [0.0, 0.9], when: {opt: [sgd]}}
  nesterov: {choice: [true, false], when: {momentum: [0.9]}}
  layers:
    repeat: {min: 0, max: 3}
    block:
      pool: {choice: [none, max, avg]}
      size: {choice: [2, 3], when: {pool: [max, avg]}}
"""
    )
    space = from_config(data)
    assert space.cardinality == len(list(space.enumerate())) == 4 * (1 + 5 + 25 + 125)


def test_a_constraint_that_fails_only_for_some_archs_names_itself_when_it_does() -> None:
    expr = Expression("10 // (k - 3) > 0", names=["k"], field="space.constraints[0]")
    assert expr.holds(Arch({"k": 5}))
    with pytest.raises(SpaceError, match=r"space.constraints\[0\]: expression .* cannot be evaluated for Arch\(k=3\)"):
        expr.holds(Arch({"k": 3}))


def test_constraints_about_missing_layers_still_hold() -> None:
    space = from_config(
        {
            "decisions": {"l": {"repeat": {"min": 1, "max": 3}, "block": ONE}},
            "constraints": ["l.2.k >= 3", "get(l.1.k, 9) > 2 or l.0.k == 1"],
        }
    )
    for a in (space.sample(np.random.default_rng(s)) for s in range(50)):
        if "l.2.k" in a:
            assert a["l.2.k"] >= 3


YAML_SPACE = """
name: every-kind
decisions:
  kernel: {choice: [1, 3, 5]}
  lr: {float: [1.0e-4, 1.0e-1], log: true}
  wd: {float: [0.0, 0.5], grid: 3}
  depth: {int: [1, 9], step: 2}
  width: {int: [8, 256], log: true}
  opt: {choice: [sgd, adam]}
  momentum: {float: [0.0, 0.99], when: {opt: [sgd]}}
  layers:
    repeat: {min: 1, max: 3}
    block:
      channels: {choice: [16, 32]}
      pool: {choice: [none, max]}
      pool_size: {choice: [2, 3], when: {pool: [max]}}
  cell: {cell: {nodes: 4, ops: [none, skip_connect, conv]}}
  plain: {cell: {nodes: 3, ops: [a, b], none_op: null, identity_op: null}}
constraints:
  - "kernel <= 3 or depth <= 3"
  - {expr: "layers.0.channels >= 32 or not has(layers.1.channels)"}
"""


def test_to_config_rebuilds_an_equal_space() -> None:
    space = from_config(yaml.safe_load(YAML_SPACE))
    data = space.to_config()
    assert isinstance(data, dict)
    again = from_config(json.loads(json.dumps(data)))  # JSON-able, and YAML-able
    assert from_config(yaml.safe_load(yaml.safe_dump(data, sort_keys=False))).to_config() == data
    assert again.to_config() == data
    assert again.names == space.names and again.describe() == space.describe() and again.name == "every-kind"
    assert again.encoding_width == space.encoding_width
    rng = np.random.default_rng(0)
    for _ in range(100):
        a = space.sample(rng)
        assert again.validate(a) == a
        assert again.canonical(a) == space.canonical(a)
        assert np.array_equal(again.encode(a), space.encode(a))


def test_python_spaces_round_trip_too() -> None:
    space = SearchSpace(
        {
            "k": Choice([1, 3]),
            "flag": Choice([True, False]),
            "lr": FloatRange(0.001, 0.1, log=True, grid=3),
            "act": Conditional(Choice(["relu", "gelu"]), "flag", (True,)),
            "blocks": Repeat({"w": IntRange(1, 4), "u": Conditional(Choice([0, 1]), "w", (2, 3))}, 0, 2),
        },
        name="py",
    )
    again = from_config(space.to_config())
    assert again.to_config() == space.to_config()
    assert list(again.enumerate()) == list(space.enumerate())


def test_builtins_are_stored_by_name_while_unchanged() -> None:
    for name in BUILTIN_SPACES:
        assert builtin(name).to_config() == name
        assert from_config(name).describe() == builtin(name).describe()
    narrowed = from_config({"builtin": "seed-cnn", "constraints": ["kernel > 1"]})
    assert narrowed.to_config() == {"builtin": "seed-cnn", "constraints": ["kernel > 1"]}
    assert from_config(narrowed.to_config()).cardinality == 18


def test_a_python_predicate_cannot_be_stored() -> None:
    space = SearchSpace({"k": Choice([1, 3])}, constraints=[lambda a: a["k"] > 1])
    with pytest.raises(SpaceError, match=r"space.constraints\[0\]: '<lambda>' is a Python function, which a config cannot hold"):
        space.to_config()
    assert space.to_config(drop_python_constraints=True) == {"name": "space", "decisions": {"k": {"choice": [1, 3]}}}
    narrowed = builtin("seed-cnn").with_constraints([lambda a: a["kernel"] > 1])
    assert narrowed.to_config(drop_python_constraints=True) == "seed-cnn"


def test_reprs_show_the_decisions() -> None:
    assert repr(Choice([1, 3])) == "Choice([1, 3])"
    assert repr(IntRange(1, 9, step=2)) == "IntRange(1, 9, step=2)"
    assert repr(IntRange(1, 9, log=True)) == "IntRange(1, 9, log=True)"
    assert repr(FloatRange(0.001, 0.1, log=True, grid=3)) == "FloatRange(0.001, 0.1, log=True, grid=3)"
    assert repr(Cell(nodes=3, ops=["none", "conv"])) == (
        "Cell(nodes=3, ops=['none', 'conv'], none_op='none', identity_op=None, linear_ops=[])"
    )
    text = repr(from_config({"decisions": ONE, "constraints": ["k > 1"]}))
    assert text == "SearchSpace({'k': Choice([1, 3, 5])}, constraints=['k > 1'], name='space')"


def test_registry_lives_below_the_config_reader() -> None:
    source = Path(space_pkg.__file__).parent
    imports = {
        node.module
        for node in ast.walk(ast.parse((source / "_builtins.py").read_text()))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "_config" not in imports  # no circle _builtins <-> _config
    assert not hasattr(__import__("nasforge.space._config", fromlist=["x"]), "BUILTIN_SPACES")

    @register_space("tiny-test-space")
    def tiny() -> SearchSpace:
        return SearchSpace({"k": Choice([1, 2])}, name="tiny")

    try:
        assert from_config("tiny-test-space").cardinality == 2
        assert builtin("tiny-test-space").to_config() == "tiny-test-space"
    finally:
        del BUILTIN_SPACES["tiny-test-space"]


def test_an_expression_given_in_python_is_stored_as_its_text() -> None:
    space = SearchSpace({"k": Choice([1, 3, 5])}, constraints=[Expression("k > 1", names=["k"])])
    assert space.cardinality == 2
    assert space.to_config() == {"name": "space", "decisions": {"k": {"choice": [1, 3, 5]}}, "constraints": ["k > 1"]}


def test_a_count_beyond_float_range_is_infinite() -> None:
    space = SearchSpace({"l": Repeat({f"d{i}": Choice(list(range(10))) for i in range(5)}, 1, 1000)})
    assert space.cardinality == math.inf
    assert len(space.sample(np.random.default_rng(0))) > 1


def test_huge_ranges_are_neither_listed_nor_walked() -> None:
    # a parent with 2**40 values: counted from the values its children name, never listed
    space = from_config({"decisions": {"n": {"int": [1, 2**40]}, "c": {"choice": [1, 2], "when": {"n": [1, 2]}}}})
    assert space.cardinality == 2**40 - 2 + 2 * 2
    rng = np.random.default_rng(0)
    a = space.sample(rng)
    assert space.neighbors(a) and space.mutate(a, rng) != a
    fine = FloatRange(0.0, 1.0, grid=1_000_000)
    point = fine.sample(rng)
    below, above = fine.neighbors(point)
    assert below < point < above and above - below < 3e-6
    with pytest.raises(SpaceError, match="grid must be an integer from 2 to 1,000,000"):
        FloatRange(0.0, 1.0, grid=10**30)


def test_a_constraint_guarded_by_an_earlier_one_is_accepted() -> None:
    space = from_config({"decisions": {"k": {"choice": [3, 5, 7]}}, "constraints": ["k != 3", "10 // (k - 3) >= 3"]})
    assert [a["k"] for a in space.enumerate()] == [5]
    with pytest.raises(SpaceError, match=r"space.constraints\[0\]: .* cannot be evaluated for Arch\(k=3\)"):
        from_config({"decisions": {"k": {"choice": [3, 5, 7]}}, "constraints": ["10 // (k - 3) >= 2", "k != 3"]})


def test_compiled_expressions_keep_the_language_and_pickle() -> None:
    import pickle

    e = Expression(
        "(k and 5) + 1 == 2 and (1, 2) == [1, 2] and not has(max) and get(q.x, 4) == 4 and has(k)"
        " and 2 ** 10 == 1024 and 'ab' * 2 == 'abab' and max(k, 2) == 3 and -k < 0 < k <= 3",
        names=["k", "q.x"],
    )
    assert e(Arch({"k": 3})) is True
    assert e.holds(Arch({"q.x": 1})) is True  # a decision that does not exist: the rule does not apply
    again = pickle.loads(pickle.dumps(e))  # spaces travel to worker processes
    assert again(Arch({"k": 3})) is True and again.text == e.text
    space = pickle.loads(pickle.dumps(from_config({"decisions": ONE, "constraints": ["k > 1"]})))
    assert space.cardinality == 2
    with pytest.raises(SpaceError, match="cannot be evaluated .*TypeError"):
        Expression("max > 1", names=["k"]).holds(Arch({"k": 1}))
