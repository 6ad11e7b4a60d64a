"""Transfer across studies: start a search from the best architectures of earlier studies over the
same space (another data set, another fidelity).

Method: **seeding, with negative-transfer detection** (model-free, for every strategy). The
sources' best architectures are proposed first, interleaved source by source in each source's
own order; every result is told to the inner strategy, so a model-based strategy (``bayesian``)
fits its first surrogate on them (the transfer is a prior in data form, corrected by every
target result), evolution starts its population from them and a local search its walks. Why
seeding rather than a fitted source model: the sources' rankings are what transfers between
data sets on NAS-Bench-201-like tables (accuracies differ in scale, orders agree), seeding
needs no assumption on that scale, and it works unchanged for every strategy.

A source hurts (negative transfer) when its seeds do no better on the target than the target's
own search. So the first ``patience`` seeds of each source go first, then the inner strategy
proposes ``patience`` architectures of its own (for every built-in strategy, its initial random
design: a baseline), then the remaining seeds. A source is dropped (its remaining seeds are not
proposed) as soon as the mean of its measured seeds falls below the median of the first
``patience`` trials of the target's own search (the baseline; the prior's proposals below are
not the target's own); it is judged again after every result, so evidence against it can
accumulate. (Judging against the median of *all* the target's own trials dropped helpful sources
in 4-13 of 20 ``bayesian`` runs on NAS-Bench-201: a good search's later trials beat any seed.) Dropping depends only on the results told, so a resumed study replays it exactly.
(A rank correlation between the source's order and the target's was tried first: among a
source's best few architectures the order is mostly noise, and it dropped helpful NAS-Bench-201
sources in half of the runs.)

Model-based strategies (``bayesian``; ``prior: auto``, or ``prior: true`` for any strategy) also
get the sources as a **prior over the space**: each source's results are modelled by a Gaussian
process on the normal scores of their ranks (a source's scale never matters, only its order);
the target's results, normal-scored likewise, are modelled as that prior mean (the sources'
means, weighted by how well each ranks the target's results so far: Kendall's tau, negative
counted as 0) plus a GP on the residuals. After the seeds, two asks in three propose the
architecture with the largest expected improvement under that model, among the one-step
neighbours of the target's best three results and :data:`PRIOR_POOL` random ones; the third goes to the inner strategy,
which is told every result. A source whose tau is below :data:`MIN_TAU` with 95% confidence
(one-sided, by tau's spread for unrelated orders), once ``2 * patience`` target results are in,
is dropped from the prior (and its seeds), so a source
that ranks the target badly stops steering the search; with every source dropped, the inner
strategy proposes alone. Why ranks: accuracies on different data sets differ in scale but
agree in order (NAS-Bench-201's three data sets: Spearman 0.9+), and a rank model needs no
assumption on the scale.

The sources are data: each :class:`TransferSource` holds the source's space config, metric,
and its best architectures with their values, read once from the source's run directory (by
the config layer, or :meth:`TransferSource.from_run`) and stored with the study's strategy
config, so resume replays the same prior even if the source directory changed or is gone. A
source over a different space is refused, naming the first difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial
from ..space import Arch, SearchSpace, from_config
from ._base import Ask, Strategy, Wrapper, registered_name
from ._gp import GaussianProcess, expected_improvement, normal_scores
from ._history import History

SOURCE_TOP = 400
"""Results kept from each source (its best first, by its own primary objective): the first
``top`` are seeds, all of them fit the prior."""

MIN_TAU = 0.0
"""A source ranking the target's results with Kendall's tau below this (with 95% confidence) is
dropped from the prior."""

PRIOR_POOL = 500
"""Random architectures (drawn once, at start) that the prior scores at each of its asks, besides
the one-step neighbours of the target's best three results."""


@dataclass(frozen=True)
class TransferSource:
    """An earlier study, as data: ``name`` (its run directory), its ``space`` config, the
    ``metric`` and ``direction`` it was searched on, and its best ``archs`` with their ``values``
    (best first)."""

    name: str
    space: str | dict[str, Any]
    metric: str
    direction: str
    archs: list[dict[str, Any]]
    values: list[float] = field(default_factory=list)

    @classmethod
    def from_run(cls, data: Any, *, name: str | None = None, top: int = SOURCE_TOP) -> TransferSource:
        """From a run's read model (:class:`nasforge.RunData`: ``space``, ``objectives``,
        ``ranked``), e.g. ``TransferSource.from_run(nasforge.RunDir("runs/a").results())``."""
        ranked = list(data.ranked)[:top]
        if not ranked:
            raise ConfigError("strategy.transfer", f"source {name or data.name!r} has no complete trial to transfer")
        primary = data.objectives.primary
        return cls(
            str(name if name is not None else (data.run_dir or data.name)),
            data.space.to_config(drop_python_constraints=True),
            primary.metric,
            primary.direction,
            [t.arch.to_dict() for t in ranked],
            [float(t.metrics[primary.metric]) for t in ranked],
        )

    @classmethod
    def from_config(cls, data: Any, field: str = "strategy.transfer") -> TransferSource:
        """From :meth:`to_config`'s form; anything else is one :class:`ConfigError` line."""
        if not isinstance(data, Mapping) or not {"name", "space", "metric", "archs"} <= set(data):
            raise ConfigError(field, "must be a run directory, or a stored source {name, space, metric, archs, values}")
        archs = data["archs"]
        if not isinstance(archs, list) or not archs or not all(isinstance(a, Mapping) for a in archs):
            raise ConfigError(f"{field}.archs", "must be a non-empty list of architectures")
        values = list(data.get("values") or [])
        return cls(str(data["name"]), data["space"], str(data["metric"]), str(data.get("direction", "maximize")),
                   [dict(a) for a in archs], [float(v) for v in values])  # fmt: skip

    def to_config(self) -> dict[str, Any]:
        """Plain data (stored with the study)."""
        return {"name": self.name, "space": self.space, "metric": self.metric, "direction": self.direction,
                "archs": self.archs, "values": self.values}  # fmt: skip


def space_difference(source: SearchSpace, target: SearchSpace) -> str | None:
    """The first difference between two spaces in words, or ``None`` when they are the same."""
    a, b = {d.name: d for d in source.decisions}, {d.name: d for d in target.decisions}
    only_source = [n for n in a if n not in b]
    only_target = [n for n in b if n not in a]
    if only_source:
        return f"decision {only_source[0]!r} is only in the source"
    if only_target:
        return f"decision {only_target[0]!r} is only in the target"
    for name, d in a.items():
        va = d.domain.values() if d.domain.size <= 10_000 else None
        vb = b[name].domain.values() if b[name].domain.size <= 10_000 else None
        if va != vb or type(d.domain) is not type(b[name].domain):
            return f"decision {name!r} is {d.domain.to_config()} in the source but {b[name].domain.to_config()} in the target"
        if (d.parent, d.parent_values) != (b[name].parent, b[name].parent_values):
            return f"decision {name!r} depends on {d.parent!r} differently"
    return None


class Transfer(Wrapper):
    """Wraps any strategy: proposes the sources' best architectures first, then asks the inner
    strategy; drops a source whose seeds do badly on the target (see the module's text).

    Args:
        inner: The strategy that searches after (and learns from) the seeds.
        sources: The earlier studies (:class:`TransferSource`), over the same space.
        top: Seeds proposed from each source at most.
        patience: Seeds of a source measured before it can be judged.
        prior: ``"auto"`` (a prior for a model-based inner strategy, ``bayesian``), ``True`` or
            ``False``: whether the sources also act as a model over the space (module text).

    Example:
        >>> from nasforge import Objectives
        >>> from nasforge.space import SearchSpace, IntRange
        >>> from nasforge.strategies import History, make_strategy
        >>> space, obj = SearchSpace({"x": IntRange(0, 99)}), Objectives.parse("y")
        >>> src = TransferSource("earlier", space.to_config(), "y", "maximize", [{"x": 98}, {"x": 97}], [0.9, 0.8])
        >>> s = Transfer(make_strategy("random"), [src])
        >>> s.start(space, obj, np.random.default_rng(0), History(space, obj))
        >>> s.ask().arch["x"], s.ask().arch["x"]
        (98, 97)
    """

    def __init__(self, inner: Strategy, sources: Sequence[TransferSource], *, top: int = 10, patience: int = 3,
                 prior: bool | str = "auto") -> None:  # fmt: skip
        if not isinstance(inner, Strategy):
            raise ConfigError("strategy", f"transfer wraps a strategy, got {type(inner).__name__}")
        if isinstance(inner, Transfer):
            raise ConfigError("strategy.transfer", "is given twice: a transfer cannot wrap another one")
        for name, value in (("top", top), ("patience", patience)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"strategy.transfer.{name}", f"must be a positive integer, got {value!r}")
        if not sources:
            raise ConfigError("strategy.transfer", "needs at least one source run directory")
        if prior not in (True, False, "auto"):
            raise ConfigError("strategy.transfer.prior", f"must be true, false or auto, got {prior!r}")
        self.inner = inner
        self.prior = prior
        self.sources = list(sources)
        self.top = top
        self.patience = patience
        self.dropped: dict[str, str] = {}
        """Sources dropped as negative transfer: name -> the evidence."""

    def validate(self, space: SearchSpace, objectives: Objectives) -> None:
        for k, src in enumerate(self.sources):
            try:
                source_space = from_config(src.space)
            except ConfigError as exc:
                raise ConfigError(f"strategy.transfer[{k}]", f"source {src.name!r}: its space cannot be read: {exc}") from None
            diff = space_difference(source_space, space)
            if diff is not None:
                raise ConfigError(f"strategy.transfer[{k}]", f"source {src.name!r} searched another space: {diff}")
        self.inner.validate(space, objectives)

    def to_config(self) -> dict[str, Any]:
        """The inner strategy's config with ``transfer: {sources: [...], top, patience}`` (the
        sources as data, so a resumed study replays the same prior)."""
        return {**self.inner.to_config(),
                "transfer": {"sources": [s.to_config() for s in self.sources], "top": self.top,
                             "patience": self.patience, "prior": self.prior}}  # fmt: skip

    @property
    def uses_prior(self) -> bool:
        """Whether the sources act as a model over the space (``prior``; ``auto``: when the
        innermost strategy is ``bayesian``)."""
        if self.prior != "auto":
            return bool(self.prior)
        inner = self.inner
        while isinstance(inner, Wrapper):
            inner = inner.inner
        return registered_name(type(inner)) == "bayesian"

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self.validate(space, objectives)
        self._prior_rng = rng.spawn(1)[0]
        self.inner.start(space, objectives, rng, history)
        self._models: dict[str, GaussianProcess] = {}
        if self.uses_prior:
            for src in self.sources:
                model = self._source_model(space, src)
                if model is not None:
                    self._models[src.name] = model
        self._asks = 0
        self._prior_keys: set[str] = set()
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._keys: dict[Arch, str] = {}  # canonical keys, computed once
        self._steps: dict[str, list[Arch]] = {}  # one-step neighbours, computed once
        self._pool = [space.sample(self._prior_rng) for _ in range(PRIOR_POOL if self._models else 0)]
        self.weights: dict[str, float] = {}
        """The prior's weight of each source (Kendall's tau on the target's results, at least 0)."""
        self.dropped = {}
        self._origin: dict[str, tuple[str, float]] = {}  # canonical key -> (source, its order score)
        self._seeded: dict[str, list[float]] = {s.name: [] for s in self.sources}
        lists = []
        for src in self.sources:
            archs = []
            for k, raw in enumerate(src.archs[: self.top]):
                try:
                    arch = space.validate(raw, field=f"strategy.transfer.{src.name}", constraints=False)
                except ConfigError:
                    continue
                archs.append((arch, -float(k)))  # the source's own order, best first
            lists.append((src.name, archs))
        self._queue: list[tuple[str, Arch]] = []
        self._proposed = 0  # seeds proposed
        self._baseline = 0  # the inner strategy's own candidates before the rest of the seeds
        for k in range(max((len(a) for _, a in lists), default=0)):
            for name, archs in lists:
                if k < len(archs):
                    arch, order = archs[k]
                    key = space.canonical(arch)
                    if key not in self._origin:
                        self._origin[key] = (name, order)
                        self._queue.append((name, arch))

    def ask(self) -> Ask:
        first = self.patience * len(self.sources)
        while self._queue:
            if self._proposed >= first and self._baseline < self.patience:
                ask = self.inner.ask()  # the target's own search, for the sources to be judged against
                if ask is not None:
                    if isinstance(ask, Candidate) and self.space.canonical(ask.arch) not in self._origin:
                        self._baseline += 1
                    return ask
                self._baseline = self.patience  # the inner strategy is exhausted: seeds only
            name, arch = self._queue.pop(0)
            if name in self.dropped:
                continue
            if self.history.is_new(arch) and self.space.satisfies(arch):
                self._proposed += 1
                return Candidate(arch)
        live = [n for n in self._models if n not in self.dropped]
        if live and len(self.history.trials) >= self.patience:
            self._asks += 1
            if self._asks % 3:
                proposal = self._prior_ask(live)
                if proposal is not None:
                    self._prior_keys.add(self.space.canonical(proposal))
                    return Candidate(proposal)
        return self.inner.ask()

    # -- the prior ---------------------------------------------------------------------------

    def _source_model(self, space: SearchSpace, src: TransferSource) -> GaussianProcess | None:
        sign = -1.0 if src.direction == "minimize" else 1.0
        x, y = [], []
        for raw, value in zip(src.archs, src.values):
            try:
                arch = space.validate(raw, field=f"strategy.transfer.{src.name}", constraints=False)
            except ConfigError:
                continue
            if math.isfinite(value):
                x.append(space.encode(arch))
                y.append(sign * value)
        if len(y) < 4 or len(set(y)) < 2:
            return None
        return GaussianProcess(warp=True).fit(np.array(x), np.array(y))

    def _scored(self) -> tuple[list[Arch], np.ndarray]:
        archs, scores = [], []
        for t in self.history.trials:
            s = self.objectives.score(t)
            if math.isfinite(s):
                archs.append(t.arch)
                scores.append(s)
        return archs, np.array(scores)

    def _key(self, arch: Arch) -> str:
        key = self._keys.get(arch)
        if key is None:
            key = self._keys[arch] = self.space.canonical(arch)
        return key

    def _coded(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """Encodings of ``archs`` and each source model's mean at them (rows: sources in the
        order of :attr:`_models`), computed once per architecture (the source models are fixed)."""
        keys = [self._key(a) for a in archs]
        missing = {k: a for k, a in zip(keys, archs) if k not in self._codes}
        if missing:
            x = np.array([self.space.encode(a) for a in missing.values()])
            means = np.array([m.predict(x)[0] for m in self._models.values()])
            for j, k in enumerate(missing):
                self._codes[k] = (x[j], means[:, j])
        return (np.array([self._codes[k][0] for k in keys]), np.array([self._codes[k][1] for k in keys]).T)

    def _prior_mean(self, names: list[str], means: np.ndarray) -> np.ndarray:
        rows = [list(self._models).index(n) for n in names]
        w = np.array([self.weights.get(n, 1.0) for n in names])
        if w.sum() <= 0:
            w = np.ones(len(names))
        return np.asarray((w[:, None] * means[rows]).sum(axis=0) / w.sum())

    def _prior_ask(self, names: list[str]) -> Arch | None:
        """The untried architecture with the largest expected improvement under the sources'
        prior mean plus a GP on the target's residuals from it."""
        archs, scores = self._scored()
        if len(scores) < 2:
            return None
        order = np.argsort(-scores, kind="stable")
        seen = {self._key(a) for a in archs}
        pool: dict[str, Arch] = {}
        for a in [*(n for i in order[:3] for n in self._neighbours(archs[int(i)])), *self._pool]:
            if (k := self._key(a)) not in seen:
                pool.setdefault(k, a)
        if not pool:
            return None
        cands = list(pool.values())
        x_obs, m_obs = self._coded(archs)
        x_new, m_new = self._coded(cands)
        known = self.history.replaying
        if known is not None and known.arch in cands and self.history.is_new(known.arch):
            return known.arch  # a resume's replay: the stored answer is what the model chose (nothing is kept of it)
        z = normal_scores(scores)
        resid = GaussianProcess().fit(x_obs, z - self._prior_mean(names, m_obs))
        mean, std = resid.predict(x_new)
        mean = mean + self._prior_mean(names, m_new)
        for i in np.argsort(-expected_improvement(mean, std, float(z.max())), kind="stable"):
            if self.history.is_new(cands[int(i)]):  # not pending either
                return cands[int(i)]
        return None

    def _neighbours(self, arch: Arch) -> list[Arch]:
        key = self._key(arch)
        if key not in self._steps:
            self._steps[key] = self.space.neighbors(arch)
        return self._steps[key]

    def _judge_prior(self) -> None:
        archs, scores = self._scored()
        if len(scores) < self.patience:
            return
        _, means = self._coded(archs)
        for row, name in enumerate(self._models):
            if name in self.dropped:
                continue
            tau = kendall_tau(means[row], scores)
            self.weights[name] = max(0.0, tau)
            n = len(scores)
            sd = math.sqrt(2.0 * (2 * n + 5) / (9.0 * n * (n - 1)))  # of tau for unrelated orders
            if n >= 2 * self.patience and tau + 1.645 * sd < MIN_TAU:
                self.dropped[name] = (f"its model ranks the target's {n} results with Kendall's tau {tau:+.2f}, "
                                      f"below {MIN_TAU} with 95% confidence (+{1.645 * sd:.2f})")  # fmt: skip

    def tell(self, trial: Trial) -> None:
        self.inner.tell(trial)
        if not math.isfinite(self.objectives.score(trial)):
            return
        if self._models:
            self._judge_prior()
        own = [
            s for t in self.history.trials
            if (k := self._key(t.arch)) not in self._origin and k not in self._prior_keys
            and math.isfinite(s := self.objectives.score(t))
        ][: self.patience]  # fmt: skip
        if len(own) < self.patience:
            return
        median = float(np.median(own))
        scores: dict[str, float] = {}  # History.scores(), with the keys computed once
        for t in self.history.trials:
            k = self._key(t.arch)
            scores[k] = max(scores.get(k, -math.inf), self.objectives.score(t))
        for name, seeds in self._seeded.items():
            if name in self.dropped:
                continue
            seeds[:] = [scores[k] for k, (src, _) in self._origin.items() if src == name and k in scores
                        and math.isfinite(scores[k])]  # fmt: skip
            if len(seeds) >= self.patience and float(np.mean(seeds)) < median:
                self.dropped[name] = (f"its {len(seeds)} seeds average {float(np.mean(seeds)):.4g}, below the median "
                                      f"{median:.4g} of the first {len(own)} trials of the target's own search")  # fmt: skip


def read_transfer(spec: Any, read: Any, *, field: str = "strategy.transfer") -> dict[str, Any]:
    """``transfer:`` as given in a config (a list of run directories or stored sources, or
    ``{sources: [...], top, patience}``) with every run directory read once by ``read(path)``
    (which returns the run's read model) into a stored source: the form :meth:`Transfer.to_config`
    writes and :func:`make_strategy` reads."""
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, list):
        spec = {"sources": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("sources"), list) or not spec["sources"]:
        raise ConfigError(field, f"must be a list of run directories, got {spec!r}")
    unknown = set(spec) - {"sources", "top", "patience", "prior"}
    if unknown:
        raise ConfigError(f"{field}.{min(unknown)}", "unknown option; accepted: sources, top, patience, prior")
    sources = []
    for k, item in enumerate(spec["sources"]):
        if isinstance(item, str):
            sources.append(TransferSource.from_run(read(item), name=item).to_config())
        else:
            sources.append(TransferSource.from_config(item, f"{field}.sources[{k}]").to_config())
    return {**spec, "sources": sources}


def make_transfer(inner: Strategy, spec: Any, *, field: str = "strategy.transfer") -> Transfer:
    """The :class:`Transfer` of a stored ``transfer:`` option (sources as data; run directories
    must first be read by :func:`read_transfer`)."""
    if isinstance(spec, list):
        spec = {"sources": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("sources"), list):
        raise ConfigError(field, f"must be a list of run directories, got {spec!r}")
    sources = []
    for k, item in enumerate(spec["sources"]):
        if isinstance(item, str):
            raise ConfigError(f"{field}.sources[{k}]", f"run directory {item!r} must be read first: "
                              "build the strategy from a config (RunConfig) or pass TransferSource.from_run(...)")  # fmt: skip
        sources.append(TransferSource.from_config(item, f"{field}.sources[{k}]"))
    return Transfer(inner, sources, top=spec.get("top", 10), patience=spec.get("patience", 3),
                    prior=spec.get("prior", "auto"))


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's rank correlation (tau-a) of two equally long sequences; 0 for fewer than 2."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2:
        return 0.0
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    n = len(a)
    return float((da * db).sum() / (n * (n - 1)))
