"""One-shot weight sharing: single-path one-shot search (SPOS, Guo et al. 2020) as an evaluator.

A supernet (:mod:`nasforge.models._supernet`) is trained once, one sampled path per step;
then each architecture a strategy asks for is scored with the weights it inherits from the
supernet, after its batch-norm statistics are recalibrated on a few training batches. At the
end the top-k architectures are trained stand-alone, the best on validation is picked and
retrained, tested once and exported like any other final model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import _validate as v
from .. import models
from .._errors import ConfigError, FatalError
from .._validate import called, check_keys
from ..models._supernet import Supernet, build_supernet, recalibrate
from ..space import Arch, Constraint, SearchSpace
from ._base import EvaluatorSetup, FinalModel, Result
from ._hooks import TRAINING_DECISIONS
from ._trainer import Trainer

SAMPLINGS = ("uniform", "fair", "sandwich")
"""How the supernet's training picks its paths: ``uniform`` (one random path per step, SPOS),
``sandwich`` (the sandwich rule of BigNAS / Once-for-All: each step trains the widest path —
largest depth and widths, the other decisions random — and a random one; for the
sliced chain spaces) or ``fair`` (FairNAS: each step trains a round of paths in which every value of every
decision appears equally often, gradients summed before one update: an epoch costs a round of
paths per batch, so give it proportionally fewer epochs)."""

ONE_SHOT_KEYS = {"epochs": "supernet_epochs", "sampling": "sampling", "top_k": "top_k",
                 "calibration_batches": "calibration_batches"}  # fmt: skip
"""The keys of ``evaluator.one_shot`` and the :class:`OneShot` options they set."""

NOT_WITH_ONE_SHOT = {
    "folds": "one-shot search scores inherited weights on one holdout split; use validation instead",
    "fidelity": "one-shot trials have one fidelity (inherited weights cost the same at any budget); leave it out",
    "fit_fn": "a custom fit step cannot train a supernet (one path per step); leave it out with one_shot",
    "epoch_reports": "a one-shot trial trains nothing, so it has no per-epoch curve; leave it out",
    "on_epoch": "a one-shot trial trains nothing, so it has no epochs; leave it out",
}
"""Trainer options that mean nothing for a one-shot search: refused, with the reason."""

MAX_FAIR_ROUND = 12
"""Longest round of fair sampling: the least common multiple of the decisions' sizes, or the
largest size when that is longer."""


class SupernetTrainer(Trainer):
    """The :class:`Trainer` a :class:`OneShot` evaluator trains with: its data handling
    (splits, standardization, settings, optimizer, loss, score) plus the supernet's fit loop."""

    def holdout(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, tuple[float, float]]:
        """The holdout split's training and validation tensors, scaled with the statistics of
        the training part only, and the target's ``(mean, std)``."""
        x, y = self._tensors()
        train_idx, val_idx = self.splits[0]
        tr = torch.from_numpy(train_idx).to(x.device)
        va = torch.from_numpy(val_idx).to(x.device)
        stats = self._scaling(x[tr], y[tr])
        xtr, ytr = self._scaled(stats, x[tr], y[tr])
        xva, yva = self._scaled(stats, x[va], y[va])
        return xtr, ytr, xva, yva, (stats[2], stats[3]) if stats is not None else (0.0, 1.0)

    def scope(self, seed: int) -> Any:
        """Threads and torch's RNG as a trial owns them (restored afterwards)."""
        return self._trial_context(seed)

    def train_supernet(self, net: Supernet, paths: Callable[[], list[Arch]], x: torch.Tensor, y: torch.Tensor, *,
                       epochs: int, generator: torch.Generator) -> dict[str, float]:  # fmt: skip
        """Train ``net`` on ``(x, y)`` for ``epochs``: each batch trains the paths ``paths()``
        gives (their gradients summed), then one optimizer step. Returns the mean training
        loss of the last epoch and the steps taken."""
        s = self.settings()
        opt = self._make_optimizer(net, s)
        n, bs = len(y), s.batch_size
        stop = n - 1 if n % bs == 1 and n > 1 else n  # a last batch of one sample breaks batch norm
        steps = epochs * len(range(0, stop, bs))
        sched = self._make_scheduler(opt, steps)
        net.train()
        loss_mean = math.nan
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=generator).to(x.device)
            xs, ys = x[perm], y[perm]
            losses = []
            for i in range(0, stop, bs):
                xb, yb = xs[i : i + bs], ys[i : i + bs]
                if self.augment is not None:
                    xb = self.augment(xb, generator)
                opt.zero_grad(set_to_none=True)
                total = 0.0
                for path in paths():
                    net.set_path(path)
                    loss = self._loss(net(xb), yb)
                    loss.backward()
                    total += float(loss.detach())
                opt.step()
                if sched is not None:
                    sched.step()
                losses.append(total)
            loss_mean = float(np.mean(losses)) if losses else math.nan
            if not math.isfinite(loss_mean):
                raise FatalError(
                    f"the supernet's training loss is {loss_mean} in epoch {epoch + 1}; lower the learning rate"
                )
        net.eval()
        return {"loss": loss_mean, "steps": float(steps)}


class UniformPaths:
    """One path per step, sampled uniformly from the space (its constraints respected)."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator) -> None:
        self.space, self.rng = space, rng

    def __call__(self) -> list[Arch]:
        return [self.space.sample(self.rng)]


class SandwichPaths:
    """Two paths per step: the widest (the supernet's :attr:`~nasforge.models.Supernet.widest`
    values, every other decision random, the constraints met; left out when 20 draws break
    them) and a uniform one."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, widest: Mapping[str, Any]) -> None:
        self.space, self.rng, self.widest = space, rng, dict(widest)
        self.replaced = 0

    def __call__(self) -> list[Arch]:
        out = [self.space.sample(self.rng)]
        for _ in range(20):
            proposal = {d.name: d.domain.sample(self.rng) for d in self.space.decisions}
            arch = _active(self.space, {**proposal, **self.widest})
            if self.space.satisfies(arch):
                return [arch, *out]
        self.replaced += 1
        return out


def _active(space: SearchSpace, proposal: Mapping[str, Any]) -> Arch:
    """The decisions of ``proposal`` that are active (conditions and depth applied)."""
    kept: dict[str, Any] = {}
    for d in space.decisions:
        if d.parent is not None and (d.parent not in kept or kept[d.parent] not in d.parent_values):
            continue
        kept[d.name] = proposal[d.name]
    return Arch(kept)


class FairPaths:
    """FairNAS's strict fairness: each step is a round of :attr:`round` paths in which every
    value of every decision with at most 64 values is proposed equally often (exactly, when the
    round is the least common multiple of the decisions' sizes; else as evenly as possible); a
    decision with more values is sampled per path. A decision that a path does not activate
    (a layer beyond its depth) is left out; a path that breaks the space's constraints is
    replaced by a uniform sample that meets them (counted in :attr:`replaced`).

    Example:
        >>> from nasforge.space import SearchSpace, Choice
        >>> paths = FairPaths(SearchSpace({"a": Choice([1, 2, 3])}), np.random.default_rng(0))
        >>> sorted(p["a"] for p in paths())
        [1, 2, 3]
    """

    def __init__(self, space: SearchSpace, rng: np.random.Generator) -> None:
        self.space, self.rng = space, rng
        self.finite = [d for d in space.decisions if d.domain.size <= 64]
        sizes = [int(d.domain.size) for d in self.finite] or [1]
        lcm = math.lcm(*sizes)
        self.round = lcm if lcm <= MAX_FAIR_ROUND else max(sizes)
        self.replaced = 0
        self.proposed: dict[str, list[Any]] = {}
        """The values proposed in the last round, per decision (what fairness is about)."""

    def __call__(self) -> list[Arch]:
        m = self.round
        columns: dict[str, list[Any]] = {}
        for d in self.finite:
            values = d.domain.values()
            base = self.rng.permutation(len(values))
            order = self.rng.permutation(np.resize(base, m))
            columns[d.name] = [values[int(i)] for i in order]
        self.proposed = columns
        out = []
        for i in range(m):
            arch = self._path({name: col[i] for name, col in columns.items()})
            if not self.space.satisfies(arch):
                arch = self.space.sample(self.rng)
                self.replaced += 1
            out.append(arch)
        return out

    def _path(self, proposal: Mapping[str, Any]) -> Arch:
        full = {
            d.name: proposal[d.name] if d.name in proposal else d.domain.sample(self.rng) for d in self.space.decisions
        }
        return _active(self.space, full)


def _from_trainer(name: str, doc: str) -> Any:
    """A read-only attribute of :class:`OneShot` that is its trainer's (what the run directory's
    fingerprint and the report read of an evaluator)."""
    return property(lambda self: getattr(self.trainer, name), doc=doc)


class OneShot:
    """Evaluates architectures with weights inherited from a supernet trained once (SPOS).

    :meth:`prepare` (called by the study before its executor starts, so that the trained
    supernet is sent to each worker once; :meth:`evaluate` calls it when not yet done) trains
    the supernet of the space for ``supernet_epochs`` on the training part of the holdout
    split, one path per step (``sampling: uniform``) or a fair round of paths per step
    (``fair``), only paths that meet the space's constraints. It is seeded from ``seed``, so a
    resumed search trains it again to the same weights. :meth:`evaluate` sets the path,
    recalibrates its batch-norm statistics on ``calibration_batches`` training batches (the
    same batches for every path; 0: keep the statistics of the supernet's training), and scores
    it on the validation part.

    Metrics: ``accuracy`` and ``loss`` (inherited-weight validation; ``mse``, ``mae``, ``r2``
    for regression), any ``extra_metrics``, and ``params``, ``flops`` (and ``latency_ms`` with
    ``measure_latency``) of the path's stand-alone network, so that metric constraints such as
    ``params <= 50000`` judge the sampled paths. The search has one fidelity: a budget below 1
    stops the search.

    For the final model (:meth:`choose_final`, then the :class:`Finalizer` methods) the
    ``top_k`` architectures by inherited-weight score are trained stand-alone (``epochs`` on
    the training part) and scored on validation; the best is retrained on all the search data,
    tested once and exported.

    Every other option is a :class:`Trainer` option (``epochs``, ``batch_size``, ``lr``,
    ``optimizer``, ``scheduler``, ...): the supernet trains with the same optimizer settings.
    ``folds``, ``fidelity``, ``fit_fn``, ``epoch_reports`` and ``on_epoch`` are refused, and so
    are training decisions (``lr``, ...) in the space: inherited weights cannot judge them.

    Args:
        data: The data, as for :class:`Trainer`.
        supernet_epochs: Epochs of the supernet's training (``one_shot.epochs`` in YAML).
        sampling: ``uniform`` or ``fair`` (:data:`SAMPLINGS`).
        top_k: Architectures retrained stand-alone to pick the final one.
        calibration_batches: Training batches that recompute each path's batch-norm statistics.
        **options: :class:`Trainer` options.

    Example:
        >>> from nasforge import search
        >>> from nasforge.space import builtin
        >>> ev = OneShot("digits", space="seed-cnn", supernet_epochs=1, epochs=1, threads=1)
        >>> study = search(builtin("seed-cnn"), ev, strategy="random", objectives={"accuracy": "maximize"},
        ...                trials=2, progress=False)
        >>> 0.0 < study.best.metrics["accuracy"] <= 1.0
        True
    """

    def __init__(
        self,
        data: Any,
        *,
        supernet_epochs: int = 30,
        sampling: str = "uniform",
        top_k: int = 3,
        calibration_batches: int = 10,
        **options: Any,
    ) -> None:
        with called("OneShot"):
            _refuse(options)
            self._settings(supernet_epochs, sampling, top_k, calibration_batches)
            self._attach(SupernetTrainer(data, **options))

    def _settings(self, supernet_epochs: Any, sampling: Any, top_k: Any, calibration_batches: Any) -> None:
        self.supernet_epochs = v.positive_int(supernet_epochs, "supernet_epochs")
        self.sampling = v.one_of(sampling, SAMPLINGS, "sampling")
        self.top_k = v.positive_int(top_k, "top_k")
        self.calibration_batches = v.non_negative_int(calibration_batches, "calibration_batches")

    def _attach(self, trainer: SupernetTrainer) -> None:
        self.trainer = trainer
        """The trainer whose data, model builder and options this evaluator uses."""
        self.supernet: Supernet | None = None
        """The trained supernet (after :meth:`prepare`)."""
        self.supernet_report: dict[str, float] = {}
        """What training the supernet gave: seconds, steps, last training loss, replaced paths."""
        self._space: SearchSpace | None = None
        self._trained_norms: dict[str, torch.Tensor] = {}
        self._data: tuple[Any, ...] | None = None
        if trainer.space is not None:
            self._check_space(trainer.space.with_constraints(trainer.network.constraints(trainer.space)))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_data"] = None  # device tensors: rebuilt where it runs
        return state

    # -- config ---------------------------------------------------------------------------

    @classmethod
    def options(cls) -> list[str]:
        """The keys of ``evaluator: {dataset: ..., one_shot: {...}}``."""
        return sorted([*(k for k in Trainer.options() if k not in NOT_WITH_ONE_SHOT), "one_shot"])

    multi_fidelity = False
    """One fidelity: inherited weights cost the same at any budget (the study refuses successive
    halving and Hyperband with it)."""

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], space: SearchSpace | None, base: Path) -> EvaluatorSetup:
        """``{dataset: digits, one_shot: {epochs: 30, sampling: uniform, top_k: 3,
        calibration_batches: 10}, ...trainer options}``; errors name relative fields."""
        block = v.mapping(spec["one_shot"], "one_shot", "{epochs: 30, sampling: uniform, top_k: 3}")
        check_keys(block, ONE_SHOT_KEYS, "one_shot")
        rest = {k: val for k, val in spec.items() if k != "one_shot"}
        _refuse(rest)
        obj = cls.__new__(cls)
        try:
            obj._settings(*(block.get(k, d) for k, d in zip(ONE_SHOT_KEYS, (30, "uniform", 3, 10))))
        except ConfigError as exc:
            raise ConfigError(f"one_shot.{_yaml_key(exc.field)}", exc.message) from None
        setup = SupernetTrainer.from_config(rest, space, base)
        assert isinstance(setup.evaluator, SupernetTrainer)
        try:
            obj._attach(setup.evaluator)
        except ConfigError as exc:
            if exc.field != "sampling":
                raise
            raise ConfigError("one_shot.sampling", exc.message) from None
        setup.evaluator = obj
        setup.strategy = "evolution"  # a trial costs a fraction of a second: a model-free default
        return setup

    def to_config(self) -> dict[str, Any]:
        """The trainer's config with the ``one_shot`` block."""
        return {**self.trainer.to_config(), "one_shot": self.one_shot_config()}

    def one_shot_config(self) -> dict[str, Any]:
        """The ``one_shot`` block of :meth:`to_config`."""
        return {"epochs": self.supernet_epochs, "sampling": self.sampling, "top_k": self.top_k,
                "calibration_batches": self.calibration_batches}  # fmt: skip

    # -- capabilities ---------------------------------------------------------------------

    data = _from_trainer("data", "The trainer's data set.")
    network = _from_trainer("network", "The trainer's model builder (:class:`nasforge.models.Network`).")
    data_config = _from_trainer("data_config", "The data set's config form (``None`` for data given in memory).")
    model_ref = _from_trainer("model_ref", "``module:callable`` of the user's model when the YAML named it.")
    seed = _from_trainer("seed", "The seed of the data splits, the supernet and the stand-alone trainings.")
    loss = _from_trainer("loss", "The trainer's loss hook.")
    extra_metrics = _from_trainer("extra_metrics", "The trainer's extra metrics.")
    augment = _from_trainer("augment", "The trainer's augmentation hook.")
    make_optimizer = _from_trainer("make_optimizer", "The trainer's optimizer hook.")
    scheduler = _from_trainer("scheduler", "The trainer's learning-rate schedule.")

    @property
    def space(self) -> SearchSpace | None:
        """The space given, or the one the model declares."""
        return self.trainer.space

    @property
    def metrics(self) -> list[str]:
        """The metrics each trial produces."""
        return [m for m in self.trainer.metrics if m != "train_seconds"]

    def constraints(self, space: SearchSpace) -> list[Constraint]:
        """The study's hook: the trainer's (what fits the data's shape; a decision nothing reads
        is refused), and a refusal of training decisions and of spaces that cannot share weights."""
        found = self.trainer.constraints(space)
        for name in TRAINING_DECISIONS:
            if name in space.names and not self.trainer.network.reads_itself(name):
                raise ConfigError(
                    f"space.{name}",
                    "a training option cannot be searched with inherited weights (the supernet is trained once, "
                    f"with the evaluator's options); set {name} in the evaluator, or search without one_shot",
                )
        narrowed = space.with_constraints(found) if found else space
        self._check_space(narrowed)
        return found

    def _check_space(self, space: SearchSpace) -> None:
        """Build the supernet once (weights thrown away) so that a space that cannot share is
        refused before any work."""
        with torch.random.fork_rng(devices=[]):
            net = build_supernet(self.trainer.network, space)
        if self.sampling == "sandwich" and not net.widest:
            raise ConfigError(
                "sampling",
                f"sandwich needs a supernet with sliced widths (cnn, cnn1d, mlp, seed-cnn); the "
                f"{self.trainer.network.name} supernet has none: use uniform or fair",
            )
        if self._space is not None and self._space.describe() != space.describe():
            self.supernet = None
        self._space = space

    # -- the supernet ---------------------------------------------------------------------

    def _tensors(self) -> tuple[Any, ...]:
        if self._data is None:
            xtr, ytr, xva, yva, y_stats = self.trainer.holdout()
            bs = self.trainer.batch_size
            order = torch.from_numpy(np.random.default_rng(self.trainer.seed).permutation(len(ytr))).to(xtr.device)
            batches = [xtr[order[i * bs : (i + 1) * bs]] for i in range(self.calibration_batches)]
            self._data = (xtr, ytr, xva, yva, y_stats, [b for b in batches if len(b) > 1])
        return self._data

    def prepare(self) -> None:
        """Train the supernet (once; nothing to do when it is trained)."""
        if self.supernet is not None:
            return
        space = self._space
        if space is None:
            raise ConfigError(
                "space", "the one-shot evaluator needs a space (give space=, or a model that declares one)"
            )
        t0 = time.perf_counter()
        xtr, ytr, *_ = self._tensors()
        seed = models.arch_seed(self.trainer.seed, Arch({"one_shot": self.sampling}))
        rng = np.random.default_rng(seed)
        with self.trainer.scope(seed):
            net = build_supernet(self.trainer.network, space).to(xtr.device)
            paths: UniformPaths | FairPaths | SandwichPaths = (
                SandwichPaths(space, rng, net.widest) if self.sampling == "sandwich"
                else FairPaths(space, rng) if self.sampling == "fair" else UniformPaths(space, rng)
            )  # fmt: skip
            fit = self.trainer.train_supernet(net, paths, xtr, ytr, epochs=self.supernet_epochs,
                                              generator=torch.Generator().manual_seed(seed))  # fmt: skip
        self._trained_norms = {k: t.clone() for k, t in net.state_dict().items() if _is_norm_state(k, net)}
        self.supernet = net
        self.supernet_report = {
            "seconds": time.perf_counter() - t0,
            **fit,
            "replaced_paths": float(getattr(paths, "replaced", 0)),
        }

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        """``arch``'s inherited-weight validation scores (see the class docs)."""
        if budget is not None and budget < 1.0:
            raise FatalError(
                f"the one-shot evaluator has one fidelity, but budget {budget:g} was asked; use a single-fidelity "
                "strategy (evolution, random, bayesian)"
            )
        self.prepare()
        assert self.supernet is not None
        t0 = time.perf_counter()
        *_, xva, yva, y_stats, batches = self._tensors()
        net = self.supernet
        tr = self.trainer
        with tr.scope(tr.trial_seed(arch)):
            net.set_path(arch)
            if self.calibration_batches:
                recalibrate(net, batches)
            else:
                net.load_state_dict(self._trained_norms, strict=False)
            scores = tr.score(net, xva, yva, y_stats=y_stats)
            prof = models.profile(tr.network.build(arch), tr.data.input_shape, latency=tr.measure_latency)
        metrics = {**scores, "params": float(prof.params), "flops": float(prof.flops)}
        if tr.measure_latency:
            metrics["latency_ms"] = float(prof.latency_ms)
        return Result(metrics, cost_seconds=time.perf_counter() - t0)

    # -- the final model ------------------------------------------------------------------

    def choose_final(self, ranked: Sequence[Arch]) -> tuple[int, dict[str, Any]]:
        """Train the first ``top_k`` of ``ranked`` (best first by inherited-weight score)
        stand-alone on the training part of the holdout split and score them on validation;
        returns the index of the best and a record of why (each candidate's stand-alone score)."""
        main, sign = ("mse", -1.0) if self.trainer.data.regression else ("accuracy", 1.0)
        rows: list[dict[str, Any]] = []
        for arch in ranked[: self.top_k]:
            result = Trainer.evaluate(self.trainer, arch)
            rows.append({f"standalone_{main}": result.metrics[main], "train_seconds": result.metrics["train_seconds"]})
        best = max(range(len(rows)), key=lambda i: (sign * rows[i][f"standalone_{main}"], -i))
        why = (
            f"{'lowest' if sign < 0 else 'highest'} stand-alone validation {main} among the top {len(rows)} of the "
            f"search (its objectives, with inherited weights; each trained {self.trainer.epochs} epochs on the "
            "training split)"
        )
        return best, {"reason": why, "candidates": rows}

    def retrain(self, arch: Arch) -> torch.nn.Module:
        """``arch``'s network trained stand-alone on all the search data (:meth:`Trainer.retrain`)."""
        return self.trainer.retrain(arch)

    def test(self, model: torch.nn.Module) -> dict[str, float]:
        """The final model's test scores (:meth:`Trainer.test`)."""
        return self.trainer.test(model)

    def final_info(self) -> FinalModel:
        """The trainer's, with the one-shot settings recorded."""
        info = self.trainer.final_info()
        seconds = round(self.supernet_report.get("seconds", 0.0), 2)
        extra = {"one_shot": {**self.one_shot_config(), "supernet_seconds": seconds}}
        return FinalModel(info.space, info.input_shape, info.num_classes, info.model_options, {**info.info, **extra})


def _refuse(options: Mapping[str, Any]) -> None:
    for name, why in NOT_WITH_ONE_SHOT.items():
        if name in options:
            raise ConfigError(name, why)


def _yaml_key(option: str) -> str:
    return {o: k for k, o in ONE_SHOT_KEYS.items()}.get(option, option)


def _is_norm_state(key: str, net: torch.nn.Module) -> bool:
    owner = key.rsplit(".", 1)[0] if "." in key else ""
    module = net.get_submodule(owner) if owner else net
    return isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and not key.endswith(("weight", "bias"))
