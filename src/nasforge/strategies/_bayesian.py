"""Bayesian optimization over architectures: a GP on the space's encoding, expected
improvement maximised over the neighbours of a local incumbent, with restarts."""

from __future__ import annotations

import math

import numpy as np

from .._errors import ConfigError
from .._trial import Candidate, Objectives, Trial, TrialState
from .._validate import boolean, integer
from ..space import Arch, SearchSpace
from ._base import Ask, Strategy, register_strategy
from ._gp import GaussianProcess, expected_improvement
from ._history import History
from ._util import decision_weights, near, one_change, unconstrained


@register_strategy("bayesian")
class BayesianOptimization(Strategy):
    """Bayesian optimization that knows architectures, in the trust-region style of
    CASMOPOLITAN (Wan et al. 2021) for categorical spaces.

    A Gaussian process (:class:`GaussianProcess`, NumPy only) models the primary objective
    over the space's ``encode`` vectors, in which equivalent cells encode alike, weighted so
    that a label change and an ordered choice or a range moved end to end are equally far
    (:func:`~nasforge.strategies._util.decision_weights`). Once
    ``initial`` results have been told (random architectures, or a warm start's), the best
    one becomes the incumbent of a local run.
    Each ask proposes the untried one-decision change of the incumbent (any other value of
    one decision: for an ordered choice or a range the model, which knows the order, decides
    how far to move) with the largest expected improvement over it; a result that beats the incumbent becomes the new
    incumbent. After ``patience`` proposals in a row that did not beat it, the run restarts
    from a new architecture: a random one (``restart: random``), or the one with the largest
    expected improvement over the best so far among ``candidates`` random ones
    (``restart: model``). Restarts are what find the global optimum when the landscape has
    several basins; the model is what makes each climb short.

    Architectures still running enter the model at the worst score seen ("constant liar"),
    which spreads parallel asks apart; an evaluated or pending architecture (by canonical
    key) is never proposed again. The model keeps at most ``max_points`` results (the best
    and the most recent halves), so an ask costs milliseconds even after thousands of trials.
    A resume does not refit the model for each stored ask: it takes the stored answer
    (:attr:`History.replaying`), keeps the random draws and the hyperparameter schedule, and
    fits once, at the first new ask.

    With several objectives it is ParEGO (Knowles 2006): each ask draws random weights,
    scalarizes the normalised objectives with the augmented Chebyshev function, fits the GP
    to that and proposes the untried architecture with the largest expected improvement among
    the one-decision changes of the best result under those weights and ``candidates``
    random ones; an infeasible result (``violation > 0``) scores below every feasible one.

    It is the default strategy (:data:`DEFAULT_STRATEGY`). Use it when each trial is
    expensive (real training) and the budget is tens to a few hundred trials. Its defaults (``patience: 8``, ``warp: true``) were chosen on the
    NAS-Bench-201 table (``benchmarks/strategies.py``).

    Args:
        initial: Random architectures before the model is used.
        patience: Proposals without improvement before a restart.
        restart: ``random`` or ``model`` (see above).
        candidates: Random architectures scored at a ``model`` restart.
        max_points: Most results the model is fitted on.
        warp: Model the normal scores of the results' ranks instead of the raw values,
            which keeps a few broken networks (near-chance accuracy) from flattening the
            differences among good ones.

    Example:
        >>> import numpy as np
        >>> from nasforge import Objectives
        >>> from nasforge.space import SearchSpace, Choice
        >>> from nasforge.strategies import History
        >>> space, obj = SearchSpace({"k": Choice([1, 3, 5])}), Objectives.parse("acc")
        >>> s = BayesianOptimization(initial=2)
        >>> s.start(space, obj, np.random.default_rng(0), History(space, obj))
        >>> s.ask().arch["k"] in (1, 3, 5)
        True
    """

    def __init__(
        self,
        *,
        initial: int = 10,
        patience: int = 8,
        restart: str = "random",
        candidates: int = 200,
        max_points: int = 400,
        warp: bool = True,
    ) -> None:
        self.warp = boolean(warp, "warp")
        self.initial = integer(initial, "initial", low=1)
        self.patience = integer(patience, "patience", low=1)
        if restart not in ("random", "model"):
            raise ConfigError("restart", f"must be `random` or `model`, got {restart!r}")
        self.restart = restart
        self.candidates = integer(candidates, "candidates", low=1)
        self.max_points = integer(max_points, "max_points", low=4)

    max_objectives = None
    """Any number: with several objectives it is ParEGO (see the class docstring)."""

    def start(self, space: SearchSpace, objectives: Objectives, rng: np.random.Generator, history: History) -> None:
        super().start(space, objectives, rng, history)
        self._vectors: dict[str, tuple[Arch, list[float]]] = {}  # several objectives: key -> (arch, values)
        self._observed: dict[str, tuple[Arch, float]] = {}  # key -> (arch, best score), tell order
        self._pending: dict[str, Arch] = {}  # this strategy's proposals still running (the model's liars)
        self._codes: dict[str, np.ndarray] = {}
        self._weights = decision_weights(space)
        self._tells = 0  # results told: the initial design is complete at ``initial``
        self._hyper: tuple[float, float] | None = None  # (lengthscale, noise)
        self._refit: tuple[np.ndarray, np.ndarray] | None = None  # the data of a refit that fell due in a replay
        self._hyper_n = 0
        self._centre: tuple[str, Arch] | None = None
        self._centre_score = -math.inf
        self._neighbours: list[tuple[str, Arch]] = []
        self._neighbour_keys: set[str] = set()
        self._failures = 0
        self._restart_at: tuple[str, Arch] | None = None  # a restart whose result is pending
        self._open = unconstrained(space)  # for telling a sparse neighbourhood (a table with part of the space)

    # -- bookkeeping ----------------------------------------------------------------------

    def tell(self, trial: Trial) -> None:
        self._tells += 1
        key = self.history.key(trial.arch)
        self._pending.pop(key, None)
        if len(self.objectives) > 1:
            vector = self.objectives.vector(trial)
            if trial.state is TrialState.COMPLETE and all(map(math.isfinite, vector)):
                if trial.violation > 0:  # infeasible: below every feasible result on every objective
                    vector = [-math.inf] * len(vector)
                self._vectors[key] = (trial.arch, vector)
            return
        score = self.objectives.score(trial)
        ok = trial.state is TrialState.COMPLETE and math.isfinite(score)
        if ok:
            old = self._observed.get(key)
            if old is None or score > old[1]:
                self._observed[key] = (trial.arch, score)
        if self._restart_at is not None and key == self._restart_at[0]:
            self._restart_at = None
            self._move(key, trial.arch, score)
        elif key in self._neighbour_keys:
            if ok and score > self._centre_score:
                self._move(key, trial.arch, score)
            else:
                self._failures += 1

    def _move(self, key: str, arch: Arch, score: float) -> None:
        """Make ``arch`` the incumbent of the local run."""
        self._centre, self._centre_score, self._failures = (key, arch), score, 0
        self._neighbours = [(self.history.key(n), n) for n in near(self.space, self._open, arch)]
        self._neighbour_keys = {k for k, _ in self._neighbours}

    def _code(self, key: str, arch: Arch) -> np.ndarray:
        """The weighted encoding of ``arch``, kept by canonical key: the first of equivalent
        architectures met gives the code of all, so the model sees them as one point (a
        replay must therefore meet them in the same order)."""
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = self.space.encode(arch) * self._weights
        return code

    def _model(self, *, schedule_only: bool = False) -> GaussianProcess | None:
        """The GP on the results (capped at ``max_points``) and the pending architectures.

        Its lengthscale and noise are refitted by likelihood whenever the results have grown
        by a fifth, and kept in between. With ``schedule_only`` (a replayed ask whose answer
        is known, :attr:`History.replaying`) no GP is fitted and ``None`` returned: a refit that
        falls due keeps its data and is done at the next real ask, exactly as the first run did it.
        """
        n = min(len(self._observed), self.max_points)
        due = self._hyper_n == 0 or n >= 1.2 * self._hyper_n
        if schedule_only and not due:
            return None
        items = list(self._observed.items())
        if len(items) > self.max_points:
            half = self.max_points // 2
            best = sorted(range(len(items)), key=lambda i: (-items[i][1][1], i))[:half]
            keep = sorted(set(best) | set(range(len(items) - (self.max_points - half), len(items))))
            items = [items[i] for i in keep]
        scores = np.array([s for _, (_, s) in items])
        pending = list(self._pending.items())
        x = np.stack([self._code(k, a) for k, (a, _) in items] + [self._code(k, a) for k, a in pending])
        y = np.concatenate([scores, np.full(len(pending), scores.min())])
        if due:
            self._refit, self._hyper_n = (x, y), len(items)
        if schedule_only:
            return None
        if self._refit is not None:
            fitted = GaussianProcess(warp=self.warp).fit(*self._refit)
            self._hyper, self._refit = (fitted.lengthscale, fitted.noise), None
            if due:
                return fitted
        assert self._hyper is not None
        return GaussianProcess(lengthscale=self._hyper[0], noise=self._hyper[1], warp=self.warp).fit(x, y)

    def _best_of(self, pool: list[tuple[str, Arch]], reference: float) -> Arch:
        """The architecture of ``pool`` with the largest expected improvement over ``reference``
        (in a replay, the one the first run chose, when it is in ``pool``)."""
        known = self._known(pool)
        gp = self._model(schedule_only=known is not None)
        if known is not None:
            for k, a in pool:
                self._code(k, a)  # met in the same order as in the first run
            return known
        assert gp is not None
        mean, std = gp.predict(np.stack([self._code(k, a) for k, a in pool]))
        return pool[int(np.argmax(expected_improvement(mean, std, gp.scale_of(reference))))][1]

    def _known(self, pool: list[tuple[str, Arch]]) -> Arch | None:
        """During a replay, the member of ``pool`` the replayed ask first answered (else ``None``)."""
        if self.history.replaying is None:
            return None
        known = self.history.replaying.arch
        return next((a for _, a in pool if a == known), None)

    def _new(self, arch: Arch | None) -> Candidate | None:
        if arch is None:
            return None
        self._pending[self.history.key(arch)] = arch
        return Candidate(arch)

    # -- asking ---------------------------------------------------------------------------

    def ask(self) -> Ask:
        if len(self.objectives) > 1:
            if self._tells < self.initial or not self._vectors:
                return self._new(self._sample_new())
            return self._new(self._parego())
        if self._tells < self.initial or not self._observed:
            return self._new(self._sample_new())
        if self._restart_at is not None:
            return self._new(self._sample_new())  # the restart point is still running
        if self._centre is None:
            key, (arch, score) = max(self._observed.items(), key=lambda kv: kv[1][1])
            self._move(key, arch, score)
        pool = [(k, a) for k, a in self._neighbours if self.history.is_new(a)]
        if pool and self._failures < self.patience:
            return self._new(self._best_of(pool, self._centre_score))
        return self._new_run()

    def _parego(self) -> Arch | None:
        """ParEGO (Knowles 2006): one random Chebyshev scalarization of the normalised
        objectives per ask, the GP fitted to it, and the candidate with the largest expected
        improvement among the untried one-decision changes of the best result under that
        scalarization and ``candidates`` random architectures."""
        items = list(self._vectors.items())[-self.max_points :]
        values = np.array([v for _, (_, v) in items], dtype=np.float64)
        finite = np.asarray(np.isfinite(values).all(axis=1), dtype=bool)
        if not finite.any():
            return self._sample_new()
        low, high = values[finite].min(0), values[finite].max(0)
        z = np.where(finite[:, None], (values - low) / np.where(high > low, high - low, 1.0), 0.0)
        weights = self.rng.dirichlet(np.ones(values.shape[1]))
        scores = np.min(weights * z, axis=1) + 0.05 * (z @ weights)
        scores[~finite] = scores[finite].min() - 0.1
        centre = items[int(np.argmax(scores))][1][0]
        pool: dict[str, Arch] = {}
        for n in one_change(self.space, centre):
            if self.history.is_new(n):
                pool.setdefault(self.history.key(n), n)
        for _ in range(self.candidates):
            a = self.space.sample(self.rng)
            if self.history.is_new(a):
                pool.setdefault(self.history.key(a), a)
        if not pool:
            return self._sample_new()
        known = self._known(list(pool.items()))
        if known is not None:  # a replay: this ask's GP (fitted afresh, nothing kept) is not needed
            for k, a in pool.items():
                self._code(k, a)  # met in the same order as in the first run
            return known
        pending = list(self._pending.items())
        x = np.stack([self._code(k, a) for k, (a, _) in items] + [self._code(k, a) for k, a in pending])
        y = np.concatenate([scores, np.full(len(pending), scores.min())])
        gp = GaussianProcess(warp=self.warp).fit(x, y)  # each ask's weights are new: so are the hyperparameters
        options = list(pool.items())
        mean, std = gp.predict(np.stack([self._code(k, a) for k, a in options]))
        best = gp.scale_of(float(scores.max()))
        return options[int(np.argmax(expected_improvement(mean, std, best)))][1]

    def _new_run(self) -> Candidate | None:
        """Restart the local run at a new architecture."""
        arch: Arch | None = None
        if self.restart == "model":
            found: dict[str, Arch] = {}
            for _ in range(self.candidates):
                a = self.space.sample(self.rng)
                if self.history.is_new(a):
                    found.setdefault(self.history.key(a), a)
            if found:
                best = max(s for _, s in self._observed.values())
                arch = self._best_of(list(found.items()), best)
        if arch is None:
            arch = self._sample_new()
        if arch is None:
            return None
        self._centre, self._neighbours, self._neighbour_keys = None, [], set()
        self._restart_at = (self.history.key(arch), arch)
        return self._new(arch)
