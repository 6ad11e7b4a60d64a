"""Search spaces: every decision type, conditions, constraints, moves, keys and encodings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge import Arch, SpaceError
from nasforge.space import (
    Cell,
    Choice,
    Conditional,
    Constraint,
    FloatRange,
    IntRange,
    Repeat,
    SearchSpace,
    builtin,
    from_config,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_arch_is_immutable_hashable_and_round_trips_json() -> None:
    a = Arch({"kernel": 3, "act": "relu", "lr": 0.01, "bn": True})
    b = Arch.from_json(a.to_json())
    assert a == b and hash(a) == hash(b) and a.id == b.id
    assert len(a.id) == 16
    assert Arch({"bn": True, "kernel": 3, "lr": 0.01, "act": "relu"}).id == a.id  # order-free
    assert a.replace(kernel=5).id != a.id
    with pytest.raises(TypeError):
        a["kernel"] = 5  # type: ignore[index]
    with pytest.raises(TypeError):
        Arch({"x": [1, 2]})


def test_choice_int_float_domains() -> None:
    c = Choice([1, 3, 5])
    assert c.values() == [1, 3, 5] and c.neighbors(3) == [1, 5]
    i = IntRange(16, 64, step=16)
    assert i.values() == [16, 32, 48, 64] and i.neighbors(16) == [32] and i.contains(48) and not i.contains(40)
    f = FloatRange(1e-4, 1e-1, log=True)
    assert f.size == math.inf
    draws = [f.sample(rng(s)) for s in range(200)]
    assert all(1e-4 <= d <= 1e-1 for d in draws)
    # log-uniform: about half the draws below the geometric midpoint
    assert 0.35 < np.mean(np.array(draws) < math.sqrt(1e-4 * 1e-1)) < 0.65
    assert FloatRange(0.0, 1.0, grid=3).values() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Choice([]), "non-empty"),
        (lambda: IntRange(5, 1), "low <= high"),
        (lambda: FloatRange(0.0, 1.0, log=True), "low > 0"),
        (lambda: Cell(nodes=1, ops=["a"]), "nodes"),
    ],
)
def test_bad_domains_are_refused_with_the_rule(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpaceError, match=message):
        make()


def test_grid_enumerates_exactly_cardinality_distinct_archs() -> None:
    space = SearchSpace(
        {
            "kernel": Choice([1, 3, 5]),
            "depth": IntRange(1, 3),
            "opt": Choice(["sgd", "adam"]),
            "momentum": Conditional(FloatRange(0.0, 0.9, grid=4), "opt", ("sgd",)),
            "layers": Repeat({"width": Choice([8, 16]), "act": Choice(["relu", "gelu"])}, 1, 2),
        }
    )
    archs = list(space.enumerate())
    # kernel 3 x depth 3 x (adam 1 + sgd 4) x (4 + 16) layers
    assert space.cardinality == 3 * 3 * 5 * 20 == len(archs)
    assert len({a.id for a in archs}) == len(archs)
    assert len({space.canonical(a) for a in archs}) == len(archs)
    assert archs == list(space.enumerate())  # stable order


def test_conditions_and_depth_decide_which_decisions_exist() -> None:
    space = SearchSpace(
        {
            "opt": Choice(["sgd", "adam"]),
            "momentum": Conditional(FloatRange(0.0, 0.9), "opt", ("sgd",)),
            "layers": Repeat({"width": Choice([8, 16])}, 1, 4),
        }
    )
    g = rng(1)
    for _ in range(200):
        a = space.sample(g)
        assert ("momentum" in a) == (a["opt"] == "sgd")
        depth = int(a["layers"])
        assert all((f"layers.{k}.width" in a) == (k < depth) for k in range(4))
        assert space.validate(a.to_dict()) == a


def test_constraints_hold_for_sample_mutate_neighbors_and_grid() -> None:
    space = SearchSpace(
        {"kernel": Choice([1, 3, 5, 7]), "channels": Choice([8, 16, 32, 64])},
        constraints=[Constraint(lambda a: a["kernel"] * a["channels"] <= 96, "cost")],
    )
    ok = lambda a: a["kernel"] * a["channels"] <= 96
    g = rng(2)
    archs = [space.sample(g) for _ in range(100)]
    assert all(ok(a) for a in archs)
    assert all(ok(space.mutate(a, g)) for a in archs)
    assert all(ok(n) for a in archs for n in space.neighbors(a))
    grid = list(space.enumerate())
    assert all(ok(a) for a in grid) and space.cardinality == len(grid) == 10


def test_impossible_constraints_are_refused() -> None:
    space = SearchSpace({"k": Choice([1, 3])}, constraints=[Constraint(lambda a: a["k"] > 10, "k > 10")])
    with pytest.raises(SpaceError, match="k > 10"):
        space.check_possible()
    with pytest.raises(SpaceError, match="space.constraints"):
        from_config({"decisions": {"k": {"choice": [1, 3]}}, "constraints": ["k > 10"]})


def test_neighbors_change_one_decision_and_mutate_changes_something() -> None:
    space = builtin("seed-cnn")
    a = Arch({"kernel": 3, "channels": 32, "units": 128})
    ns = space.neighbors(a)
    assert len(ns) == 6
    assert all(sum(n[k] != a[k] for k in a) == 1 for n in ns)
    g = rng(3)
    assert all(space.mutate(a, g) != a for _ in range(50))


def test_depth_neighbors_copy_or_drop_the_last_layer() -> None:
    space = SearchSpace({"layers": Repeat({"w": Choice([8, 16, 32])}, 1, 3)})
    a = Arch({"layers": 2, "layers.0.w": 8, "layers.1.w": 32})
    ns = {n.id: n for n in space.neighbors(a)}.values()
    deeper = [n for n in ns if n["layers"] == 3]
    shallower = [n for n in ns if n["layers"] == 1]
    assert deeper == [Arch({"layers": 3, "layers.0.w": 8, "layers.1.w": 32, "layers.2.w": 32})]
    assert shallower == [Arch({"layers": 1, "layers.0.w": 8})]


def test_crossover_takes_labels_from_a_parent_and_ordered_values_between_them() -> None:
    space = SearchSpace({"act": Choice(["relu", "gelu", "tanh"]), "units": Choice([16, 32, 64, 128])})
    a, b = Arch({"act": "relu", "units": 16}), Arch({"act": "tanh", "units": 128})
    children = [space.crossover(a, b, rng(seed)) for seed in range(40)]
    assert {c["act"] for c in children} == {"relu", "tanh"}  # never gelu: labels come from a parent
    assert {c["units"] for c in children} == {16, 32, 64, 128}  # an ordered value between the parents'
    near = Arch({"act": "relu", "units": 32})
    assert {space.crossover(near, Arch({"act": "relu", "units": 64}), rng(s))["units"] for s in range(20)} == {32, 64}


def test_encode_is_fixed_length_and_distinguishes_archs() -> None:
    space = SearchSpace(
        {
            "opt": Choice(["sgd", "adam"]),
            "lr": FloatRange(1e-4, 1e-1, log=True),
            "momentum": Conditional(FloatRange(0.0, 0.9), "opt", ("sgd",)),
            "layers": Repeat({"w": Choice([8, 16])}, 1, 3),
        }
    )
    g = rng(4)
    vecs = [space.encode(space.sample(g)) for _ in range(50)]
    assert {v.shape for v in vecs} == {(space.encoding_width,)}
    assert all(((v >= 0) & (v <= 1)).all() for v in vecs)
    a = Arch({"opt": "adam", "lr": 0.01, "layers": 1, "layers.0.w": 8})
    b = a.replace(opt="sgd").with_values({"momentum": 0.0})
    assert not np.array_equal(space.encode(a), space.encode(b))


def test_nb201_strings_round_trip_and_cardinality() -> None:
    space = builtin("nasbench201")
    assert space.cardinality == 5**6 == 15625
    text = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    a = space.from_string(text)
    assert space.to_string(a) == text
    assert a["cell.0-1"] == "nor_conv_3x3" and a["cell.2-3"] == "skip_connect"
    with pytest.raises(ValueError):
        space.from_string("|nor_conv_3x3~0|+|bogus~0|none~1|")


def nb(space: SearchSpace, text: str) -> str:
    return space.canonical(space.from_string(text))


def test_nb201_canonical_merges_known_equivalent_cells() -> None:
    space = builtin("nasbench201")
    # Isomorphic: swapping the two intermediate nodes when they are not connected.
    a = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    b = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    assert nb(space, a) == nb(space, b)
    # Dead edges: node 2 cannot reach the output, so its edges do not matter.
    c = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    d = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    assert nb(space, c) == nb(space, d)
    # Output cut off from the input: every such cell is the zero network.
    e = "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    f = "|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
    assert nb(space, e) == nb(space, f) == "0"
    # An identity edge in a chain is the same as the direct edge.
    g = "|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"
    h = "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"
    assert nb(space, g) == nb(space, h)
    # Different networks keep different keys.
    assert nb(space, h) != nb(space, h.replace("nor_conv_3x3", "nor_conv_1x1"))
    assert nb(space, a) != nb(space, c)


def test_nb201_unique_keys_count() -> None:
    """15,625 cells give 5,044 functions (keys; ``test_cell_equivalence`` checks them on the
    networks). The review's sharing-aware key gives 5,260: it keeps ``avg_pool(a + b)`` apart
    from ``avg_pool(a) + avg_pool(b)``, which are equal (average pooling is linear); ours
    merges only those of its classes. The old key (4,930) merged one conv
    reached through two identity paths with two independent convs. Pruning plus isomorphism
    alone gives 8,765 (every one of those classes inside one key)."""
    space = builtin("nasbench201")
    cell = space.cells["cell"]
    archs = list(space.enumerate())
    keys = [space.canonical(a) for a in archs]
    assert len(set(keys)) == 5044
    iso = {cell.to_string(cell.canonical(cell.ops_of("cell", a))) for a in archs}
    assert len(iso) == 8765
    by_iso: dict[str, set[str]] = {}
    for a, k in zip(archs, keys):
        by_iso.setdefault(cell.to_string(cell.canonical(cell.ops_of("cell", a))), set()).add(k)
    assert all(len(v) == 1 for v in by_iso.values())


def test_cell_encoding_is_equal_for_isomorphic_cells() -> None:
    space = builtin("nasbench201")
    a = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    b = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    assert np.array_equal(space.encode(space.from_string(a)), space.encode(space.from_string(b)))


def test_validate_names_the_bad_field() -> None:
    space = builtin("seed-cnn")
    with pytest.raises(SpaceError, match=r"arch.kernel: 4 is not a value"):
        space.validate({"kernel": 4, "channels": 16, "units": 64})
    with pytest.raises(SpaceError, match=r"arch.units: is missing"):
        space.validate({"kernel": 3, "channels": 16})
    with pytest.raises(SpaceError, match=r"arch.extra: is not an active decision"):
        space.validate({"kernel": 3, "channels": 16, "units": 64, "extra": 1})
