"""Seconds per epoch of nasforge's Trainer against a bare PyTorch loop: same model, same data,
same threads. The goal is a ratio of at most 1.10 (the Trainer adds little to the loop).

For each data set (digits: overhead-bound; mnist5k: compute-bound) and one seed-cnn network
(kernel 3, 32 channels, 128 units), it times, alternating, with ``--repeats`` rounds:

* trainer: ``Trainer.evaluate`` (holdout split, ``--epochs`` epochs; builds the network,
  profiles it: parameters, FLOPs, measured latency; trains; validates), wall time / epochs;
* bare: the loop a careful user writes by hand: seed, build, fused Adam, reshuffle and slice
  the tensors each epoch, validate once at the end; wall time / epochs;
* dataloader: the textbook loop, ``DataLoader(TensorDataset, shuffle=True)`` + plain Adam.

Prints a markdown table of the medians and the ratios to the bare loop, in wall time and in
CPU time of the process (with 1 thread, CPU time is what other users of a shared machine
inflate least).

    python benchmarks/training.py [--epochs 5] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F

from nasforge.data import holdout_split, load_dataset
from nasforge.evaluators import Trainer
from nasforge.models import build_model
from nasforge.space import Arch

ARCH = Arch({"kernel": 3, "channels": 32, "units": 128})
BATCH = 64


def tensors(name: str) -> tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The data set and its trainer's holdout split (the same samples the trainer uses)."""
    ds = load_dataset(name, seed=0)
    tr, va = holdout_split(ds.y_train, 0.2, seed=0)
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    return ds, x[tr], y[tr], x[va], y[va]


def clock() -> tuple[float, float]:
    """(wall, CPU time of this process): CPU time is what the machine's other users do not inflate."""
    return time.perf_counter(), time.process_time()


def per_epoch(t0: tuple[float, float], epochs: int) -> tuple[float, float]:
    t1 = clock()
    return (t1[0] - t0[0]) / epochs, (t1[1] - t0[1]) / epochs


def bare(
    ds: Any, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor, epochs: int
) -> tuple[float, float]:
    t0 = clock()
    torch.manual_seed(0)
    model = build_model("seed-cnn", ARCH, ds.input_shape, ds.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y), generator=g)
        xs, ys = x[perm], y[perm]
        for i in range(0, len(y), BATCH):
            loss = F.cross_entropy(model(xs[i : i + BATCH]), ys[i : i + BATCH])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval()
    with torch.inference_mode():
        (model(xv).argmax(1) == yv).float().mean().item()
    return per_epoch(t0, epochs)


def dataloader(
    ds: Any, x: torch.Tensor, y: torch.Tensor, xv: torch.Tensor, yv: torch.Tensor, epochs: int
) -> tuple[float, float]:
    from torch.utils.data import DataLoader, TensorDataset

    t0 = clock()
    torch.manual_seed(0)
    model = build_model("seed-cnn", ARCH, ds.input_shape, ds.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        (model(xv).argmax(1) == yv).float().mean().item()
    return per_epoch(t0, epochs)


def ours(trainer: Trainer, epochs: int) -> tuple[float, float]:
    t0 = clock()
    trainer.evaluate(ARCH)
    return per_epoch(t0, epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist5k"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"seed-cnn {dict(ARCH)}, batch {BATCH}, {args.epochs} epochs, {args.threads} thread(s), "
          f"median of {args.repeats} alternating rounds (one warm-up round not counted)\n")  # fmt: skip
    print(
        "| data | train samples | clock | bare loop s/epoch | Trainer s/epoch | Trainer / bare | DataLoader loop s/epoch | DataLoader / bare |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.datasets:
        ds, x, y, xv, yv = tensors(name)
        trainer = Trainer(ds, space="seed-cnn", epochs=args.epochs, batch_size=BATCH, threads=args.threads)
        times: dict[str, list[tuple[float, float]]] = {"bare": [], "trainer": [], "dataloader": []}
        data = (ds, x, y, xv, yv)
        for r in range(args.repeats + 1):
            order = ["bare", "trainer", "dataloader"]
            for key in order if r % 2 == 0 else order[::-1]:
                if key == "trainer":
                    t = ours(trainer, args.epochs)
                else:
                    t = (bare if key == "bare" else dataloader)(*data, args.epochs)
                if r:  # round 0 warms up caches and lazy imports
                    times[key].append(t)
        for c, clock_name in enumerate(("wall", "CPU")):
            med = {k: statistics.median(t[c] for t in v) for k, v in times.items()}
            print(f"| {name} | {len(y)} | {clock_name} | {med['bare']:.3f} | {med['trainer']:.3f} | "
                  f"{med['trainer'] / med['bare']:.3f} | {med['dataloader']:.3f} | {med['dataloader'] / med['bare']:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
