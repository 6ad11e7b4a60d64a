"""The NAS-Bench-201 cell key is functional equivalence, checked on the networks themselves:
cells with one key compute the same function once one's weights are copied into the other;
cells with different keys compute different functions for every such copy.

Independent of the key: each cell is built as ``nasforge.models.CellBlock`` (float64, 3
channels, a batch of 4 random 5x5 images), its conv weights and BN scales drawn at random
(BN shifts 0: an op on an identically zero input then outputs zero, the convention the key
states). Two cells match in one direction when some one-to-one copy of the first's live conv
edges into the second's live conv edges of the same op (the second's other convs set to zero)
gives the same output (relative error < 1e-9, train-mode BN); they are equivalent when they
match both ways.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from nasforge.space import builtin

torch = pytest.importorskip("torch")
models = pytest.importorskip("nasforge.models")

SPACE = builtin("nasbench201")
CELL = SPACE.cells["cell"]
CHANNELS = 3
Ops = dict[tuple[int, int], str]


def _random_network(ops: Ops, gen: torch.Generator) -> torch.nn.Module:
    net = models.CellBlock(ops, CELL.nodes, CHANNELS).double()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen, dtype=torch.float64))
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=gen, dtype=torch.float64))
                module.bias.zero_()
    return net


def _live_convs(ops: Ops) -> list[tuple[int, int]]:
    return sorted(e for e, op in CELL.prune(ops).items() if op.startswith("nor_conv"))


def _matches(src: Ops, dst: Ops, x: torch.Tensor, seed: int) -> bool:
    """Whether ``dst`` computes ``src``'s function for some copy of src's live convs into dst's."""
    a = _random_network(src, torch.Generator().manual_seed(seed))
    b = _random_network(dst, torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        want = a(x)
        scale = float(want.abs().max()) or 1.0
        live_a, live_b = _live_convs(src), _live_convs(dst)
        for module in b.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.zero_()
        for targets in itertools.permutations(live_b, len(live_a)):
            if any(src[e] != dst[t] for e, t in zip(live_a, targets)):
                continue
            for e, t in zip(live_a, targets):
                b.edges[f"{t[0]}-{t[1]}"].load_state_dict(a.edges[f"{e[0]}-{e[1]}"].state_dict())
            if float((b(x) - want).abs().max()) / scale < 1e-9:
                return True
            for t in targets:
                b.edges[f"{t[0]}-{t[1]}"][1].weight.zero_()
    return False


def equivalent(a: Ops, b: Ops, seed: int) -> bool:
    x = torch.randn((4, CHANNELS, 5, 5), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return _matches(a, b, x, seed) and _matches(b, a, x, seed + 7)


@pytest.fixture(scope="module")
def cells() -> tuple[list[Ops], list[str]]:
    ops = [CELL.ops_of("cell", a) for a in SPACE.enumerate()]
    return ops, [CELL.key(o) for o in ops]


def test_the_wrongly_merged_pair_of_the_issue_gets_two_keys() -> None:
    one = CELL.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|skip_connect~2|")
    two = CELL.parse("|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|")
    assert CELL.key(one) == "2*nor_conv_3x3(x)" and CELL.key(two) == "nor_conv_3x3(x)+nor_conv_3x3(x)"
    assert not equivalent(one, two, seed=0)


def test_cells_with_one_key_compute_the_same_function(cells: tuple[list[Ops], list[str]]) -> None:
    ops, keys = cells
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    rng = np.random.default_rng(0)
    # pairs that are not merely isomorphic or differ only in dead edges (the non-trivial merges),
    # and a few of any kind
    hard, easy = [], []
    for k in sorted(groups):
        members = groups[k]
        if len(members) < 2 or k == "0":
            continue
        i, j = (members[int(t)] for t in rng.choice(len(members), size=2, replace=False))
        (hard if CELL.canonical(ops[i]) != CELL.canonical(ops[j]) else easy).append((i, j))
    picks = [hard[int(t)] for t in rng.choice(len(hard), size=30, replace=False)]
    picks += [easy[int(t)] for t in rng.choice(len(easy), size=6, replace=False)]
    pooled = [p for p in hard if "avg_pool_3x3" in keys[p[0]] and "nor_conv" in keys[p[0]]]
    picks += [pooled[int(t)] for t in rng.choice(len(pooled), size=6, replace=False)]
    for n, (i, j) in enumerate(picks):
        assert equivalent(ops[i], ops[j], seed=n), (CELL.to_string(ops[i]), CELL.to_string(ops[j]), keys[i])


def test_cells_with_different_keys_compute_different_functions(cells: tuple[list[Ops], list[str]]) -> None:
    ops, keys = cells
    rng = np.random.default_rng(1)
    # hard pairs: the same live ops and the same number of live convs of each kind, other keys
    by_ops: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, o in enumerate(ops):
        by_ops[tuple(sorted(op for op in CELL.prune(o).values() if op != "none"))].append(i)
    hard = []
    for sig in sorted(by_ops):
        members = by_ops[sig]
        if len(members) < 2:
            continue
        i, j = (members[int(t)] for t in rng.choice(len(members), size=2, replace=False))
        if keys[i] != keys[j]:
            hard.append((i, j))
    picks = [hard[int(t)] for t in rng.choice(len(hard), size=30, replace=False)]
    while len(picks) < 40:  # and pairs one edge apart
        i = int(rng.integers(len(ops)))
        edge = CELL.edges[int(rng.integers(len(CELL.edges)))]
        other = dict(ops[i])
        other[edge] = CELL.ops[int(rng.integers(len(CELL.ops)))]
        j = next(n for n, o in enumerate(ops) if o == other)
        if keys[i] != keys[j]:
            picks.append((i, j))
    for n, (i, j) in enumerate(picks):
        assert not equivalent(ops[i], ops[j], seed=n), (CELL.to_string(ops[i]), CELL.to_string(ops[j]))
