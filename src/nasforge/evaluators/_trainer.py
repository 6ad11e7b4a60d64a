"""Real training: the PyTorch evaluator with holdout or K-fold cross-validation."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import models
from .._errors import ConfigError, TrialFailed
from ..data import Dataset, holdout_split, kfold_splits, load_dataset, stratified_split
from ..space import Arch, SearchSpace, builtin
from ._base import Result

OPTIMIZERS = ("adam", "adamw", "sgd")
FIDELITIES = ("epochs", "data", "both")
ModelFn = Callable[[Arch, tuple[int, ...], int], nn.Module]
"""A user's model function: ``(arch, input_shape, num_classes) -> nn.Module``."""


def default_threads() -> int:
    """torch threads per trial when not given: ``OMP_NUM_THREADS`` when set (worker processes
    of the local and Ray executors set it), else half the CPUs this process may use (at least 1).

    On a 2-core machine that is 1 thread: 2 threads are at most 1.1-1.75x faster when the
    machine is idle, and 10-20x slower as soon as anything else uses a core (measured here),
    while 1 thread is unaffected. The count is fixed, not read from the load, because the
    thread count changes floating-point sums and so the scores.
    """
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, available_cpus() // 2)


def available_cpus() -> int:
    """CPUs this process may use (its CPU affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; other names as torch reads them."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError("evaluator.device", f"unknown device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("evaluator.device", "CUDA is not available on this machine; use device: auto or cpu")
    return dev


@contextlib.contextmanager
def torch_scope(threads: int, device: torch.device, seed: int | None = None) -> Iterator[None]:
    """Run a block that owns torch for a while: ``threads`` intra-op threads and a forked RNG
    (seeded with ``seed`` when given), both restored afterwards; CUDA's cache emptied."""
    before = torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    cuda = [device.index or 0] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        if threads != before:
            torch.set_num_threads(before)
        if device.type == "cuda":
            torch.cuda.empty_cache()


@dataclass
class FoldScore:
    """What one training run on one split gave."""

    accuracy: float
    loss: float
    epochs: int
    seconds: float


def _int_option(value: Any, field: str, *, low: int = 1, none_ok: bool = False) -> Any:
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(field, f"must be an integer >= {low}{' or null' if none_ok else ''}, got {value!r}")
    return int(value)


def _float_option(value: Any, field: str, *, positive: bool = True, none_ok: bool = False) -> Any:
    if value is None and none_ok:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= 0 if positive else value < 0):
        raise ConfigError(field, f"must be a {'positive' if positive else 'non-negative'} number, got {value!r}")
    return float(value)


class Trainer:
    """Evaluates an architecture by training its network (PyTorch) and scoring it on held-out
    validation data: one stratified holdout split, or stratified K-fold cross-validation whose
    score is the mean over the folds.

    Metrics (all visible to the search): ``accuracy`` (validation, mean over folds), ``loss``
    (validation cross-entropy), ``params``, ``flops`` (one input), ``latency_ms`` (one input,
    CPU) and ``train_seconds``. The report (hidden from the search) holds ``accuracy_std``,
    ``fold_accuracy`` (each fold's score) and ``epochs`` (mean epochs trained).

    The candidate's ``budget`` (a fraction in (0, 1], ``None`` = 1) scales the epochs, the
    training data, or both (``fidelity``). Each trial seeds torch from ``seed`` and the
    architecture's id inside a forked RNG state, so the same seed gives the same scores and
    the caller's RNG is untouched. A NaN loss, running past ``time_limit`` or any exception
    fails the trial; the search goes on. :meth:`finalize` retrains the best architecture on
    all the search data and tests it once on the test split.

    Args:
        data: A :class:`nasforge.data.Dataset` or a built-in data set name.
        space: The search space (or a built-in name); it picks the model builder and is
            narrowed to the architectures that fit the data (:attr:`space`).
        model: Instead of a built-in builder: ``model(arch, input_shape, num_classes) -> nn.Module``.
        folds: ``None`` for one holdout split of ``validation``; an integer ``k >= 2`` for
            stratified K-fold cross-validation.
        validation: Share of the search data held out for validation (holdout only).
        epochs: Epochs at the full budget.
        batch_size: Training batch size.
        optimizer: ``adam`` (fused where supported), ``adamw`` or ``sgd`` (with ``momentum``).
        lr: Learning rate.
        weight_decay: L2 penalty (decoupled for ``adamw``).
        momentum: SGD momentum.
        early_stopping: Patience in epochs: stop when the validation loss has not improved for
            this many epochs and report the epoch with the lowest validation loss. ``None``:
            train all epochs and validate once at the end.
        fidelity: What ``budget`` scales: ``epochs``, ``data`` or ``both``.
        seed: Seed of the data splits and of every trial's initialisation and shuffling.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``, ...
        threads: torch CPU threads during a trial (default: :func:`default_threads`, half the CPUs).
        time_limit: Seconds one trial may train before it fails.
        model_options: Options of the model builder (e.g. ``{"C": 16, "N": 1}`` for nasbench201).
        measure_latency: Time one forward pass per trial (about 10-50 ms).

    Example:
        >>> from nasforge import search
        >>> trainer = Trainer("digits", space="seed-cnn", folds=3, epochs=1, threads=1)
        >>> study = search(trainer.space, trainer, strategy="random", objectives={"accuracy": "maximize"}, trials=2)
        >>> 0.0 < study.best.metrics["accuracy"] <= 1.0
        True
    """

    def __init__(
        self,
        data: Dataset | str,
        *,
        space: SearchSpace | str | None = None,
        model: ModelFn | None = None,
        folds: int | None = None,
        validation: float = 0.2,
        epochs: int = 10,
        batch_size: int = 64,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
        early_stopping: int | None = None,
        fidelity: str = "epochs",
        seed: int = 0,
        device: str = "auto",
        threads: int | None = None,
        time_limit: float | None = None,
        model_options: Mapping[str, Any] | None = None,
        measure_latency: bool = True,
    ) -> None:
        f = "evaluator"
        self.seed = _int_option(seed, f"{f}.seed", low=0)
        self.data = load_dataset(data, seed=self.seed) if not isinstance(data, Dataset) else data
        self.folds = _int_option(folds, f"{f}.folds", low=2, none_ok=True)
        if isinstance(validation, bool) or not isinstance(validation, int | float) or not 0 < validation < 1:
            raise ConfigError(f"{f}.validation", f"must be a fraction between 0 and 1, got {validation!r}")
        self.validation = float(validation)
        self.epochs = _int_option(epochs, f"{f}.epochs")
        self.batch_size = _int_option(batch_size, f"{f}.batch_size")
        if optimizer not in OPTIMIZERS:
            raise ConfigError(f"{f}.optimizer", f"unknown optimizer {optimizer!r}; choose one of {list(OPTIMIZERS)}")
        self.optimizer = optimizer
        self.lr = _float_option(lr, f"{f}.lr")
        self.weight_decay = _float_option(weight_decay, f"{f}.weight_decay", positive=False)
        self.momentum = _float_option(momentum, f"{f}.momentum", positive=False)
        self.early_stopping = _int_option(early_stopping, f"{f}.early_stopping", none_ok=True)
        if fidelity not in FIDELITIES:
            raise ConfigError(f"{f}.fidelity", f"must be one of {list(FIDELITIES)}, got {fidelity!r}")
        self.fidelity = fidelity
        if not isinstance(device, str):
            raise ConfigError(f"{f}.device", f"must be a device name such as auto, cpu or cuda, got {device!r}")
        self.device_name = device
        resolve_device(device)
        self.threads = _int_option(threads, f"{f}.threads", none_ok=True)
        self.time_limit = _float_option(time_limit, f"{f}.time_limit", none_ok=True)
        self.model_options = dict(model_options or {})
        self.measure_latency = bool(measure_latency)
        self.model_fn = model
        if model is None and space is None:
            raise ConfigError("space", "the trainer needs a space with a model builder, or a model function")
        base_space: SearchSpace | None = builtin(space) if isinstance(space, str) else space
        if model is None:
            assert base_space is not None
            models.check_model_options(base_space, self.model_options)
            self.space: SearchSpace | None = models.fit_space(base_space, self.data.input_shape)
        else:
            self.space = base_space
        self.splits = self._make_splits()
        self._check_builds()
        self._cache: dict[str, Any] = {}

    # -- setup ----------------------------------------------------------------------------

    def _make_splits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        y = self.data.y_train
        if self.folds is not None:
            return kfold_splits(y, self.folds, seed=self.seed)
        return [holdout_split(y, self.validation, seed=self.seed)]

    def _check_builds(self) -> None:
        """Build one architecture of a built-in builder now, so that bad model options fail
        before the search (a user's model function is trusted until its trials run)."""
        if self.space is None or self.model_fn is not None:
            return
        arch = self.space.sample(np.random.default_rng(0))
        try:
            with torch.random.fork_rng(devices=[]):  # building draws weights; leave the caller's RNG alone
                self._build(arch)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "evaluator.model", f"cannot build a {self.space.name} network for this data: {exc}"
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}  # device tensors are rebuilt where the trainer is unpickled
        return state

    @property
    def device(self) -> torch.device:
        """The device trials train on."""
        return resolve_device(self.device_name)

    def _tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The search data as tensors on the training device (made once)."""
        if "xy" not in self._cache:
            dev = self.device
            self._cache["xy"] = (
                torch.from_numpy(self.data.x_train).to(dev),
                torch.from_numpy(self.data.y_train).to(dev),
            )
        return self._cache["xy"]  # type: ignore[no-any-return]

    def _build(self, arch: Arch) -> nn.Module:
        shape, n = self.data.input_shape, self.data.num_classes
        if self.model_fn is not None:
            return self.model_fn(arch, shape, n)
        assert self.space is not None
        return models.build_model(self.space, arch, shape, n, **self.model_options)

    def trial_seed(self, arch: Arch) -> int:
        """The seed of ``arch``'s trials: from :attr:`seed` and the architecture's id, so it does
        not depend on the order in which a strategy asks."""
        digest = hashlib.sha256(f"{self.seed}:{arch.id}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def epochs_for(self, budget: float | None) -> int:
        """Epochs at ``budget`` (at least one)."""
        if budget is None or self.fidelity == "data":
            return self.epochs
        return max(1, math.floor(self.epochs * budget + 0.5))

    def _trial_context(self, seed: int) -> contextlib.AbstractContextManager[None]:
        """Threads and torch's RNG as this trial owns them; both restored afterwards."""
        return torch_scope(self.threads or default_threads(), self.device, seed)

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        params = list(model.parameters())
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        cls = torch.optim.AdamW if self.optimizer == "adamw" else torch.optim.Adam
        return cls(params, lr=self.lr, weight_decay=self.weight_decay, fused=_fused_ok(params) or None)

    # -- training -------------------------------------------------------------------------

    def fit(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, generator: torch.Generator,
            val: tuple[torch.Tensor, torch.Tensor] | None = None, deadline: float | None = None) -> FoldScore:  # fmt: skip
        """Train ``model`` on ``(x, y)`` (tensors on the training device) for ``epochs``, the
        data reshuffled each epoch with ``generator``; score it on ``val`` (at every epoch with
        early stopping, else once at the end). Raises :class:`TrialFailed` on a NaN loss or
        past ``deadline`` (a ``time.perf_counter()`` value)."""
        t0 = time.perf_counter()
        opt = self._make_optimizer(model)
        n, bs = len(y), self.batch_size
        # A final batch of one sample breaks batch norm in training mode: drop it (it is a
        # different sample every epoch, since the data is reshuffled).
        stop = n - 1 if n % bs == 1 and n > 1 else n
        best: tuple[float, float] | None = None  # (val loss, val accuracy) of the best epoch
        since_best = 0
        done = 0
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=generator).to(x.device, non_blocking=True)
            xs, ys = x[perm], y[perm]
            losses = []
            for i in range(0, stop, bs):
                loss = F.cross_entropy(model(xs[i : i + bs]), ys[i : i + bs])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
                if deadline is not None and time.perf_counter() > deadline:
                    raise TrialFailed(f"time limit of {self.time_limit:g} s reached in epoch {epoch + 1} of {epochs}")
            done = epoch + 1
            if not losses:
                raise TrialFailed(f"no training batch: {n} training samples")
            train_loss = float(torch.stack(losses).mean())
            if not math.isfinite(train_loss):
                raise TrialFailed(f"training loss is {train_loss} in epoch {epoch + 1}; lower the learning rate")
            if val is not None and self.early_stopping is not None:
                vloss, vacc = self.score(model, *val)
                if best is None or vloss < best[0]:
                    best, since_best = (vloss, vacc), 0
                else:
                    since_best += 1
                    if since_best >= self.early_stopping:
                        break
        seconds = time.perf_counter() - t0
        if val is None:
            return FoldScore(math.nan, train_loss, done, seconds)
        if best is None:
            best = self.score(model, *val)
        if not math.isfinite(best[0]):
            raise TrialFailed(f"validation loss is {best[0]}")
        return FoldScore(best[1], best[0], done, seconds)

    def score(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 2048) -> tuple[float, float]:
        """Mean cross-entropy and accuracy of ``model`` on ``(x, y)`` in eval mode."""
        model.eval()
        loss = torch.zeros((), device=x.device)
        correct = torch.zeros((), device=x.device, dtype=torch.long)
        with torch.inference_mode():
            for i in range(0, len(y), batch):
                out = model(x[i : i + batch])
                loss += F.cross_entropy(out, y[i : i + batch], reduction="sum")
                correct += (out.argmax(1) == y[i : i + batch]).sum()
        n = max(len(y), 1)
        return float(loss) / n, float(correct) / n

    def evaluate(self, arch: Arch, budget: float | None = None) -> Result:
        """Train and validate ``arch`` at ``budget`` on every split; see the class docs."""
        t0 = time.perf_counter()
        deadline = t0 + self.time_limit if self.time_limit is not None else None
        seed = self.trial_seed(arch)
        epochs = self.epochs_for(budget)
        fraction = 1.0 if budget is None or self.fidelity == "epochs" else float(budget)
        x, y = self._tensors()
        dev = x.device
        scores: list[FoldScore] = []
        with self._trial_context(seed):
            model = self._build(arch)
            prof = models.profile(model, self.data.input_shape, latency=self.measure_latency)
            for k, (train_idx, val_idx) in enumerate(self.splits):
                if k:
                    model = self._build(arch)  # a fresh initialisation for every fold
                if fraction < 1.0:
                    sub, _ = stratified_split(
                        self.data.y_train[train_idx], 1.0 - fraction, np.random.default_rng(seed + k)
                    )
                    train_idx = train_idx[sub]
                tr = torch.from_numpy(train_idx).to(dev)
                va = torch.from_numpy(val_idx).to(dev)
                generator = torch.Generator().manual_seed(seed + k)
                model.to(dev)
                scores.append(self.fit(model, x[tr], y[tr], epochs=epochs, generator=generator,
                                       val=(x[va], y[va]), deadline=deadline))  # fmt: skip
                del model  # freed by reference counting; no gc.collect() (0.2 s with torch loaded)
        acc = np.array([s.accuracy for s in scores])
        metrics = {
            "accuracy": float(acc.mean()),
            "loss": float(np.mean([s.loss for s in scores])),
            "params": float(prof.params),
            "flops": float(prof.flops),
            "latency_ms": float(prof.latency_ms),
            "train_seconds": float(sum(s.seconds for s in scores)),
        }
        if not self.measure_latency:
            del metrics["latency_ms"]
        report: dict[str, Any] = {"epochs": float(np.mean([s.epochs for s in scores]))}
        if len(scores) > 1:
            report["accuracy_std"] = float(acc.std())
            report["fold_accuracy"] = [round(float(a), 6) for a in acc]
        return Result(metrics, report=report, cost_seconds=time.perf_counter() - t0)

    # -- the best model -------------------------------------------------------------------

    def retrain(self, arch: Arch) -> nn.Module:
        """``arch``'s network trained on all the search data (train + validation) for the full
        epochs, seeded like its trials; on the training device, in eval mode."""
        x, y = self._tensors()
        seed = self.trial_seed(arch)
        with self._trial_context(seed):
            model = self._build(arch).to(x.device)
            self.fit(model, x, y, epochs=self.epochs, generator=torch.Generator().manual_seed(seed))
        return model.eval()

    def test(self, model: nn.Module) -> tuple[float, float]:
        """Test loss and accuracy of ``model`` on the test split (use once, at the end)."""
        dev = next(iter(model.parameters())).device
        xt = torch.from_numpy(self.data.x_test).to(dev)
        yt = torch.from_numpy(self.data.y_test).to(dev)
        return self.score(model, xt, yt)

    def finalize(self, arch: Arch, run_dir: str | os.PathLike[str]) -> list[str]:
        """Retrain the best ``arch`` on train + validation, test it once, and write
        ``run_dir/best/``: ``arch.json``, ``model.safetensors``, ``summary.txt`` and (when the
        onnx package is installed) ``model.onnx``. Returns the lines the CLI prints."""
        t0 = time.perf_counter()
        model = self.retrain(arch)
        test_loss, test_acc = self.test(model)
        seconds = time.perf_counter() - t0
        out = Path(run_dir) / models.BEST_DIR
        info = {
            "dataset": self.data.name,
            "classes": list(self.data.classes),
            "epochs": self.epochs,
            "train_samples": len(self.data.y_train),
            "test_samples": len(self.data.y_test),
            "test_accuracy": test_acc,
            "test_loss": test_loss,
            "seed": self.seed,
        }
        space_name = self.space.name if self.model_fn is None and self.space is not None else models.CUSTOM
        arch_text = self.space.to_string(arch) if self.space is not None else arch.to_json()
        header = [
            f"Architecture: {arch_text}",
            f"Data: {self.data.name}, test accuracy {test_acc:.4f} on {len(self.data.y_test)} samples "
            + f"(retrained {self.epochs} epochs on {len(self.data.y_train)} samples)",
            "",
        ]
        models.save_model(model, out, space=space_name, arch=arch, input_shape=self.data.input_shape,
                          num_classes=self.data.num_classes, model_options=self.model_options, info=info,
                          summary_header=header)  # fmt: skip
        written = [models.ARCH_FILE, models.WEIGHTS_FILE, models.SUMMARY_FILE]
        if models.onnx_available():
            models.export_onnx(model, self.data.input_shape, out / models.ONNX_FILE)
            written.append(models.ONNX_FILE)
        return [
            f"test accuracy {test_acc:.4f} (test loss {test_loss:.4f}) on {len(self.data.y_test)} held-out samples "
            + f"never seen by the search; retrained {self.epochs} epochs on {len(self.data.y_train)} samples in {seconds:.1f} s",
            f"best model: {out}/ ({', '.join(written)})",
        ]


def _fused_ok(params: Sequence[torch.Tensor]) -> bool:
    """Fused Adam runs on CPU and CUDA floating-point parameters (15-35% faster steps here)."""
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
