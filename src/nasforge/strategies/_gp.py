"""A small Gaussian process in NumPy: the surrogate of Bayesian optimization."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()  # finds the loaded BLAS libraries once (~0.3 ms); a limit then costs ~10 us


def one_blas_thread(fn: F) -> F:
    """Run ``fn`` with NumPy's BLAS on one thread (restored after). The model's matrices are at
    most a few hundred rows, where more threads gain nothing, and next to a busy core (a worker
    training) a multi-threaded BLAS made a bayesian ask about 11x slower here (85 vs 7.6 ms per
    trial, 300 NB201 trials); one thread also keeps the sums, and so the trials, the same on every
    machine."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _blas().limit(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]

LENGTHSCALES = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
"""Candidate lengthscales, in units of the root mean square distance between encodings."""

NOISES = (1e-3, 1e-2, 0.1, 0.3)
"""Candidate noise variances (the targets are standardised)."""


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and of ``b``."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


class GaussianProcess:
    """Exact GP regression with an exponential kernel ``exp(-d / lengthscale)`` on the
    Euclidean distance ``d`` between encodings (for one-hot encodings, ``d**2`` is twice the
    number of decisions that differ), its lengthscale and noise picked from a grid by the log
    marginal likelihood.

    The exponential (Matérn-1/2) kernel suits categorical encodings: its correlation falls
    by a constant factor per changed decision, and it makes no smoothness assumption that a
    one-hot vector cannot meet.

    Example:
        >>> x = np.eye(4)
        >>> gp = GaussianProcess().fit(x, np.array([0.0, 1.0, 2.0, 3.0]))
        >>> mean, std = gp.predict(x[:1])
        >>> bool(abs(mean[0]) < 0.5)
        True
    """

    def __init__(self, *, lengthscale: float | None = None, noise: float | None = None, warp: bool = False) -> None:
        self.lengthscale_fixed, self.noise_fixed = lengthscale, noise
        self.warp = warp

    @one_blas_thread
    def fit(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Condition on encodings ``x`` (n × d) with targets ``y`` (n); the lengthscale and
        noise given to the constructor are used as they are, the others picked by likelihood."""
        self.x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if self.warp:
            raw, y = y, normal_scores(y)
            order = np.argsort(raw, kind="stable")
            self._warp_table = (raw[order], y[order])
        self.mu = float(y.mean())
        self.sd = float(y.std()) or 1.0
        z = (y - self.mu) / self.sd
        d = np.sqrt(sq_dists(self.x, self.x))
        off = d[~np.eye(len(d), dtype=bool)]
        self.scale = float(np.sqrt(np.mean(off**2))) if off.size and off.any() else 1.0
        best: tuple[float, float, float, np.ndarray, np.ndarray] = (
            -math.inf, 1.0, NOISES[0], np.zeros(len(z)), np.eye(len(z))
        )  # fmt: skip
        lengthscales = LENGTHSCALES if self.lengthscale_fixed is None else (self.lengthscale_fixed,)
        noises = NOISES if self.noise_fixed is None else (self.noise_fixed,)
        for ls in lengthscales:
            k = np.exp(-d / (ls * self.scale))
            for noise in noises:
                try:
                    chol = np.linalg.cholesky(k + noise * np.eye(len(k)))
                except np.linalg.LinAlgError:
                    continue
                w = np.linalg.solve(chol, z)  # z' K^-1 z = |w|^2: one solve per grid point, the second for the winner
                lml = -0.5 * float(w @ w) - float(np.log(np.diag(chol)).sum())
                if lml > best[0]:
                    best = (lml, ls, noise, w, chol)
        _, self.lengthscale, self.noise, w, self.chol = best
        self.alpha = np.linalg.solve(self.chol.T, w)
        return self

    def scale_of(self, value: float) -> float:
        """``value`` (in the units of the targets) in the units of :meth:`predict`."""
        if not self.warp:
            return value
        return float(np.interp(value, *self._warp_table))

    @one_blas_thread
    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (in the units of ``y``) at rows of ``x``."""
        ks = np.exp(-np.sqrt(sq_dists(np.asarray(x, dtype=np.float64), self.x)) / (self.lengthscale * self.scale))
        mean = ks @ self.alpha
        v = np.linalg.solve(self.chol, ks.T)
        var = np.maximum(1.0 - (v * v).sum(0), 1e-12)
        return self.mu + self.sd * mean, self.sd * np.sqrt(var)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Expected improvement over ``best`` (larger is better) of normal predictions."""
    z = (mean - best) / std
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (mean - best) * cdf + std * pdf


def normal_ppf(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile function (Acklam's rational approximation; absolute
    error below 1e-8 for ``p`` in [1e-9, 1 - 1e-9])."""
    a = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    )
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572, 1.0)
    c = (
        -7.784894002430293e-3,
        -0.3223964580411365,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d = (7.784695709041462e-3, 0.3224671290700398, 2.445134137142996, 3.754408661907416, 1.0)
    p = np.asarray(p, dtype=np.float64)
    out = np.empty_like(p)
    low, high = p < 0.02425, p > 1 - 0.02425
    mid = ~(low | high)
    q = p[mid] - 0.5
    out[mid] = q * np.polyval(a, q * q) / np.polyval(b, q * q)
    for mask, sign, tail in ((low, 1.0, p[low]), (high, -1.0, 1 - p[high])):
        t = np.sqrt(-2 * np.log(tail))
        out[mask] = sign * np.polyval(c, t) / np.polyval(d, t)
    return out


def normal_scores(y: np.ndarray) -> np.ndarray:
    """``y`` replaced by the normal quantiles of its ranks (ties share the mean rank): a
    warping that keeps the order and tames heavy tails (e.g. a few broken networks)."""
    order = np.argsort(y, kind="stable")
    ranks = np.empty(len(y))
    ranks[order] = np.arange(len(y), dtype=np.float64)
    _, group, counts = np.unique(y, return_inverse=True, return_counts=True)
    ranks = (np.bincount(group, weights=ranks) / counts)[group]  # whole numbers: the sums are exact
    return normal_ppf((ranks + 0.5) / len(y))
