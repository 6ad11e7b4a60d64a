"""Does a cosine learning-rate schedule help the networks a search trains? (issue 10)

The same randomly drawn architectures of a space are trained twice with the same trainer,
seed and epochs, once with a constant learning rate (``scheduler: none``, the trainer's
default) and once annealed to 0 by cosine (``scheduler: cosine``); both are scored on the same
holdout split. Prints one row per architecture and the paired summary: mean difference,
how many pairs cosine wins, and a sign test.

    python benchmarks/schedule.py [--dataset digits] [--space cnn] [--archs 20] [--epochs 8] [--lr 0.003]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from nasforge.evaluators import Trainer
from nasforge.space import builtin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--space", default="cnn")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = builtin(args.space)
    common = {"validation": 0.2, "epochs": args.epochs, "batch_size": 32, "lr": args.lr, "threads": 1,
              "measure_latency": False, "seed": args.seed}  # fmt: skip
    flat = Trainer(args.dataset, space=args.space, scheduler="none", **common)
    cosine = Trainer(args.dataset, space=args.space, scheduler="cosine", **common)
    narrowed = space.with_constraints(flat.constraints(space))
    archs = [narrowed.sample(np.random.default_rng([args.seed, i])) for i in range(args.archs)]
    diffs = []
    print(f"{'#':>3} {'none':>7} {'cosine':>7} {'diff':>7}  architecture")
    for i, arch in enumerate(archs):
        a = flat.evaluate(arch).metrics["accuracy"]
        b = cosine.evaluate(arch).metrics["accuracy"]
        diffs.append(b - a)
        print(f"{i:3} {a:7.4f} {b:7.4f} {b - a:+7.4f}  {space.to_string(arch)}", flush=True)
    d = np.array(diffs)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    n = wins + losses
    # two-sided sign test: P(at least this lopsided | no effect)
    k = max(wins, losses)
    p = min(1.0, 2 * sum(math.comb(n, j) for j in range(k, n + 1)) / 2**n) if n else 1.0
    print(f"\n{args.dataset}/{args.space}, {args.epochs} epochs, lr {args.lr:g}: cosine - none = {d.mean():+.4f} "
          f"± {d.std(ddof=1) / math.sqrt(len(d)):.4f} (mean ± s.e. over {len(d)} architectures); cosine better in "
          f"{wins}, worse in {losses}, tied in {len(d) - n}; sign test p = {p:.3g}")  # fmt: skip


if __name__ == "__main__":
    main()
