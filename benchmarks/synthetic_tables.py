"""Tables of other shapes than the three we have, made up here, for checking that the default
strategy's lead does not depend on one table's shape (issue 12: "make the default win by design").

Each table is a complete one (a row per architecture of its space), written as a CSV with an
``arch`` key column, a validation column ``val`` and a test column ``test`` (the same made-up
quality plus independent noise, as a table's two splits disagree), and its space as YAML:

- ``channels``: 5 ordered width decisions of 8 values each (8 ... 64), 32,768 rows: a size
  search space like NATS-Bench's; wider is mostly better, with diminishing returns, a penalty
  for a narrow layer after a wide one, and interactions between adjacent layers.
- ``mixed``: 3 operation labels of 4 values, 3 ordered numbers of 6 values (width, dropout,
  learning rate on a log scale) and a yes/no normalization, 27,648 rows: hyperparameters and
  operations together; the two largest learning rates without normalization diverge (chance
  accuracy), as HPO tables have failed runs.
- ``wide``: one label of 24 values (e.g. a block type) and 4 labels of 3, 1,944 rows: a large
  unordered decision where few values are good.
- ``conditional``: a depth of 1-4 and, per layer present, an operation (3 labels) and a width (4
  ordered values), 22,620 rows: decisions that exist only under a condition (``when:``), empty
  in the rows where they are inactive.

``channels`` and ``conditional`` also have a ``params`` column (the weights of 3x3 convolutions
through the widths and a 10-class head) for two-objective searches (``--second params``).

Every main effect, interaction and noise draw comes from ``numpy.random.default_rng(seed)``;
about a third of each table's variance is interactions (pairs of decisions), so no additive
model is exact. The quality is scaled to accuracies around 70 (points), noise 0.4 points per split.

    python benchmarks/synthetic_tables.py --out /tmp/tables
    python benchmarks/strategies.py --table /tmp/tables/channels.csv --space /tmp/tables/channels.yaml \\
        --key-column arch --key "{w0}-{w1}-{w2}-{w3}-{w4}" --metric val --test test --seeds 30 \\
        --queries 25,50,100 --strategies random,evolution,local-search,bayesian,optuna-tpe

(the script prints the command for each table).
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

NOISE = 0.4
"""Points of accuracy: the noise of each split, drawn independently for val and test."""


def _ordered_effect(rng: np.random.Generator, n: int) -> np.ndarray:
    """A smooth effect over ``n`` ordered values: a random slope plus a bump at a random place."""
    r = np.arange(n) / max(1, n - 1)
    peak, width = rng.uniform(0.2, 1.2), rng.uniform(0.3, 0.8)
    return rng.normal(0, 1) * r + rng.uniform(0.5, 1.5) * np.exp(-((r - peak) / width) ** 2)


def _label_effect(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(0, 1, n)


def _pair_effect(rng: np.random.Generator, a: tuple[int, bool], b: tuple[int, bool]) -> np.ndarray:
    """An interaction matrix: smooth along an ordered side (a product of smooth effects), random
    along a label side."""
    (na, oa), (nb, ob) = a, b
    if oa and ob:
        return np.outer(_ordered_effect(rng, na) - 0.5, _ordered_effect(rng, nb) - 0.5) * 2
    return rng.normal(0, 1, (na, nb))


def _scaled(quality: np.ndarray, additive: np.ndarray, interaction: np.ndarray, share: float) -> np.ndarray:
    """``additive + c * interaction`` with ``c`` chosen so the interactions carry about ``share``
    of the variance, standardized."""
    c = np.sqrt(share / (1 - share)) * additive.std() / max(interaction.std(), 1e-12)
    z = quality + additive + c * interaction
    return (z - z.mean()) / z.std()


def _to_accuracy(z: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    acc = np.clip(70 + 5 * z, 10, 95)
    return acc + rng.normal(0, NOISE, acc.shape), acc + rng.normal(0, NOISE, acc.shape)


def make_product(name: str, decisions: dict[str, tuple[list[Any], bool]], rng: np.random.Generator, *,
                 pairs: int, fail: Callable[[dict[str, Any]], bool] | None = None,
                 params: Callable[[dict[str, Any]], int] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """A table over the product of ``decisions`` (name -> (values, ordered)); ``params``, when
    given, fills a ``params`` column (a second objective)."""
    names = list(decisions)
    shapes = [(len(v), o) for v, o in decisions.values()]
    mains = [(_ordered_effect if o else _label_effect)(rng, n) for n, o in shapes]
    chosen = rng.choice(len(list(itertools.combinations(range(len(names)), 2))), size=pairs, replace=False)
    combos = [list(itertools.combinations(range(len(names)), 2))[i] for i in chosen]
    inter = {(i, j): _pair_effect(rng, shapes[i], shapes[j]) for i, j in combos}
    index = np.array(list(itertools.product(*[range(n) for n, _ in shapes])))
    additive = sum(mains[d][index[:, d]] for d in range(len(names)))
    interaction = sum(m[index[:, i], index[:, j]] for (i, j), m in inter.items())
    z = _scaled(np.zeros(len(index)), np.asarray(additive), np.asarray(interaction), 1 / 3)
    val, test = _to_accuracy(z, rng)
    rows = []
    for k, idx in enumerate(index):
        arch = {n: decisions[n][0][i] for n, i in zip(names, idx)}
        if fail is not None and fail(arch):
            val[k], test[k] = 10 + rng.normal(0, NOISE), 10 + rng.normal(0, NOISE)
        row = {"arch": "-".join(str(arch[n]) for n in names), **arch, "val": round(float(val[k]), 3),
               "test": round(float(test[k]), 3)}  # fmt: skip
        if params is not None:
            row["params"] = params(arch)
        rows.append(row)
    space = {"name": name, "decisions": {n: {"choice": list(v)} for n, (v, _) in decisions.items()}}
    return rows, space


def make_conditional(rng: np.random.Generator, depth: int = 4) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Depth 1..``depth``; layer k's operation and width exist when the depth is at least k+1."""
    ops, widths = ["conv", "sep", "mbconv"], [16, 32, 64, 128]
    op_eff = [_label_effect(rng, 3) for _ in range(depth)]
    w_eff = [_ordered_effect(rng, 4) for _ in range(depth)]
    depth_eff = _ordered_effect(rng, depth) * 2
    pair = [rng.normal(0, 1, (3, 3)) for _ in range(depth - 1)]  # adjacent layers' operations
    archs, additive, interaction = [], [], []
    for d in range(1, depth + 1):
        for combo in itertools.product(range(3), range(4), repeat=d):
            o, w = combo[0::2], combo[1::2]
            archs.append((d, o, w))
            additive.append(depth_eff[d - 1] + sum(op_eff[k][o[k]] + w_eff[k][w[k]] for k in range(d)))
            interaction.append(sum(pair[k][o[k], o[k + 1]] for k in range(d - 1)) + (rng.normal(0, 1) if d == 1 else 0))
    z = _scaled(np.zeros(len(archs)), np.array(additive), np.array(interaction), 1 / 3)
    val, test = _to_accuracy(z, rng)
    names = ["depth"] + [f"{p}{k}" for k in range(depth) for p in ("op", "w")]
    rows = []
    for k, (d, o, w) in enumerate(archs):
        arch: dict[str, Any] = {"depth": d}
        for layer in range(d):
            arch[f"op{layer}"], arch[f"w{layer}"] = ops[o[layer]], widths[w[layer]]
        chain = [3] + [widths[w[layer]] for layer in range(d)]
        size = sum(9 * a * b * (1 if ops[o[i]] == "conv" else 0.3) for i, (a, b) in enumerate(itertools.pairwise(chain)))
        rows.append({"arch": "-".join(str(arch.get(n, "")) for n in names), **{n: arch.get(n, "") for n in names},
                     "val": round(float(val[k]), 3), "test": round(float(test[k]), 3),
                     "params": int(size + 10 * chain[-1])})  # fmt: skip
    decisions: dict[str, Any] = {"depth": {"choice": list(range(1, depth + 1))}}
    for layer in range(depth):
        when = {"when": {"depth": list(range(layer + 1, depth + 1))}} if layer else {}
        decisions[f"op{layer}"] = {"choice": list(ops), **when}
        decisions[f"w{layer}"] = {"choice": list(widths), **dict(when)}
    return rows, {"name": "conditional", "decisions": decisions}


def tables(seed: int) -> dict[str, tuple[list[dict[str, Any]], dict[str, Any]]]:
    out = {}
    widths = [8, 16, 24, 32, 40, 48, 56, 64]
    def conv_params(a: dict[str, Any]) -> int:  # 3x3 convolutions from 3 input channels through the widths, a 10-class head
        chain = [3] + [a[f"w{k}"] for k in range(5)]
        return sum(9 * x * y for x, y in itertools.pairwise(chain)) + 10 * chain[-1]

    rows, space = make_product("channels", {f"w{k}": (widths, True) for k in range(5)}, np.random.default_rng(seed),
                               pairs=4, params=conv_params)  # fmt: skip
    out["channels"] = (rows, space)
    ops4 = ["conv3", "conv5", "sep3", "skip"]
    mixed = {"op_a": (ops4, False), "op_b": (ops4, False), "op_c": (ops4, False),
             "width": ([16, 32, 64, 128, 256, 512], True), "dropout": ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], True),
             "lr": ([1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], True), "norm": (["yes", "no"], False)}  # fmt: skip
    out["mixed"] = make_product("mixed", mixed, np.random.default_rng(seed + 1), pairs=6,
                                fail=lambda a: a["lr"] >= 1e-2 and a["norm"] == "no")  # fmt: skip
    wide = {"block": ([f"b{k:02d}" for k in range(24)], False), **{f"opt{k}": (["x", "y", "z"], False) for k in range(4)}}
    out["wide"] = make_product("wide", wide, np.random.default_rng(seed + 2), pairs=4)
    out["conditional"] = make_conditional(np.random.default_rng(seed + 3))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder for the CSV and YAML files")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (rows, space) in tables(args.seed).items():
        with (out / f"{name}.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        (out / f"{name}.yaml").write_text(yaml.safe_dump(space, sort_keys=False))
        key = "-".join(f"{{{n}}}" for n in space["decisions"])
        vals = np.array([r["val"] for r in rows])
        print(f"# {name}: {len(rows)} rows, val mean {vals.mean():.1f}, max {vals.max():.1f}")
        print(f"python benchmarks/strategies.py --table {out / name}.csv --space {out / name}.yaml --key-column arch "
              f"--key '{key}' --metric val --test test --seeds 30 --queries 25,50,100 "
              "--strategies random,evolution,local-search,bayesian,optuna-tpe")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
