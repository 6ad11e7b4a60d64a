"""Search your own network: a PyTorch model written once with its choices inside, searched on
scikit-learn's digits (bundled, no download) together with the learning rate.

    python examples/own_network.py RUN_DIR [TRIALS]
    nasforge status RUN_DIR; nasforge report RUN_DIR; nasforge explain RUN_DIR

The network has a layer choice (activation, pooling), value choices (channels, kernel, units),
a conditional part (batch norm, with its momentum only when it is on), an ``nn.LazyLinear``
head (no flatten size to compute by hand), and ``lr`` as a decision, read by the trainer. Two
architectures that differ only in ``lr`` are measured first, to show that it is used.
"""

from __future__ import annotations

import sys

from torch import nn

import nasforge
import nasforge.nn as nf
from nasforge.evaluators import Trainer


@nf.model_space
def digits_net(c: nf.Choices) -> nn.Module:
    channels = c.choice("channels", [8, 16, 32])
    kernel = c.choice("kernel", [3, 5])
    layers: list[nn.Module] = [nn.Conv2d(c.input_shape[0], channels, kernel, padding="same")]
    if c.choice("batchnorm", [False, True]):
        layers.append(nn.BatchNorm2d(channels, momentum=c.choice("bn_momentum", [0.1, 0.01])))
    layers.append(c.layer("act", {"relu": nn.ReLU, "gelu": nn.GELU}))
    layers.append(c.layer("pool", {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2), "none": nn.Identity()}))
    layers += [nn.Flatten(), nn.LazyLinear(c.choice("units", [32, 64, 128])), nn.ReLU(), nn.LazyLinear(c.num_classes)]
    c.choice("lr", [3e-4, 1e-3, 3e-3])  # a training hyperparameter: the trainer reads it
    return nn.Sequential(*layers)


def main(run_dir: str, trials: int = 8) -> nasforge.Study:
    trainer = Trainer("digits", model_fn=digits_net, epochs=5, folds=None, threads=1)
    space = trainer.space  # derived from the network
    assert space is not None
    print("\n".join(["Search space derived from digits_net:", *("  " + line for line in space.describe())]))
    run = nasforge.RunDir(run_dir)
    with run.lock():
        study = run.create(space, trainer, "evolution", {"accuracy": "maximize"}, trials=trials, progress=True)
        base = {"channels": 16, "kernel": 3, "batchnorm": False, "act": "relu", "pool": "max", "units": 64}
        study.enqueue({**base, "lr": 3e-4})
        study.enqueue({**base, "lr": 3e-3})
        study.run(trials=trials)
        lines = run.finish(study)
    print("\n".join(lines))
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    print(f"{len(done)} of {len(study.trials)} trials complete")
    first, second = study.trials[0], study.trials[1]
    print(f"only lr differs: lr={first.arch['lr']:g} -> accuracy {first.metrics['accuracy']:.4f}, "
          f"lr={second.arch['lr']:g} -> accuracy {second.metrics['accuracy']:.4f}")  # fmt: skip
    return study


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python examples/own_network.py RUN_DIR [TRIALS]")
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8)
