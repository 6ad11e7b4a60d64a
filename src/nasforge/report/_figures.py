"""The numbers behind each plot of a report, computed once and drawn twice (plotly in the HTML,
matplotlib for PNGs)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._trial import Trial
from ..space import Choice, Value
from ._data import RunData, best_so_far, fmt

MAX_BINS = 10
"""Ranges with more values than this are shown in this many bins."""


@dataclass
class History:
    """Each complete trial's primary metric against its number and its finishing time."""

    metric: str
    direction: str
    number: np.ndarray
    seconds: np.ndarray
    value: np.ndarray
    best: np.ndarray
    best_seconds: np.ndarray
    best_by_time: np.ndarray
    labels: list[str]


@dataclass
class ParetoPair:
    """Two objectives: every complete trial, and the Pareto front (over all objectives) sorted by x."""

    x_metric: str
    y_metric: str
    x: np.ndarray
    y: np.ndarray
    front_x: np.ndarray
    front_y: np.ndarray
    labels: list[str]
    front_labels: list[str]


@dataclass
class DecisionBoxes:
    """The primary metric's distribution for each value (or bin) of one decision."""

    decision: str
    categories: list[str]
    count: list[int]
    q1: list[float]
    median: list[float]
    q3: list[float]
    low: list[float]
    high: list[float]
    top: list[float]
    best_category: str | None


@dataclass
class Figures:
    """All plot data of one report."""

    history: History | None
    pareto: list[ParetoPair] = field(default_factory=list)
    decisions: list[DecisionBoxes] = field(default_factory=list)


def label(data: RunData, t: Trial, limit: int = 140) -> str:
    """Hover text of a trial: its number and architecture string (shortened)."""
    text = data.space.to_string(t.arch)
    return f"trial {t.number}: " + (text if len(text) <= limit else text[: limit - 1] + "…")


def history(data: RunData, labels: list[str]) -> History | None:
    done = data.complete
    if not done:
        return None
    metric = data.primary
    sign = data.objectives.primary.sign
    value = data.values(metric)
    t0 = min((t.started for t in data.trials if t.started is not None), default=0.0)
    seconds = np.array([(t.finished or t.started or t0) - t0 for t in done], dtype=np.float64)
    order = np.argsort(seconds, kind="stable")
    return History(
        metric, data.objectives.primary.direction, np.array([t.number for t in done]), seconds, value,
        sign * best_so_far(sign * value), seconds[order], sign * best_so_far(sign * value[order]), labels,
    )  # fmt: skip


def pareto(data: RunData, labels: list[str]) -> list[ParetoPair]:
    names = data.objectives.names
    if len(names) < 2 or not data.complete:
        return []
    cols = np.column_stack([data.values(m) for m in names])
    on_front = {t.number for t in data.pareto_front}  # the one definition: feasible, top budget
    front = np.array([i for i, t in enumerate(data.complete) if t.number in on_front], dtype=int)
    out = []
    for k in range(1, min(len(names), 4)):
        fx, fy = cols[front, 0], cols[front, k]
        order = np.lexsort((fy, fx))
        out.append(
            ParetoPair(
                names[0],
                names[k],
                cols[:, 0],
                cols[:, k],
                fx[order],
                fy[order],
                labels,
                [labels[i] for i in front[order]],
            )
        )
    return out


def _bins(data: RunData, name: str, values: Sequence[Value]) -> tuple[list[str], list[int]]:
    """Category labels and, per trial, the category index of a decision's values."""
    dom = data.space.decision(name).domain
    if isinstance(dom, Choice) or dom.size <= MAX_BINS:
        present = set(values)
        cats = [v for v in dom.values() if v in present] if dom.size <= 1000 else sorted(present, key=str)
        index = {v: k for k, v in enumerate(cats)}
        return [str(c) for c in cats], [index[v] for v in values]
    units = np.array([dom.encode(v)[0] for v in values])  # type: ignore[arg-type]
    idx = np.minimum((units * MAX_BINS).astype(int), MAX_BINS - 1)
    used = sorted(set(idx.tolist()))
    remap = {b: k for k, b in enumerate(used)}
    raw = np.array(values, dtype=np.float64)
    labels = [f"{fmt(float(raw[idx == b].min()), 3)}–{fmt(float(raw[idx == b].max()), 3)}" for b in used]
    return labels, [remap[int(b)] for b in idx]


def decision_boxes(data: RunData, order: list[str]) -> list[DecisionBoxes]:
    """Box statistics of the primary metric per value of each decision in ``order``."""
    metric = data.primary
    sign = data.objectives.primary.sign
    best = data.best
    out = []
    done = data.complete
    y_all = data.values(metric)
    for name in order:
        rows = [(i, t.arch[name]) for i, t in enumerate(done) if name in t.arch]
        if not rows:
            continue
        cats, idx = _bins(data, name, [v for _, v in rows])
        y = y_all[[i for i, _ in rows]]
        ids = np.array(idx)
        box = DecisionBoxes(name, cats, [], [], [], [], [], [], [], None)
        for k in range(len(cats)):
            v = y[ids == k]
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            box.count.append(len(v))
            box.q1.append(float(q1))
            box.median.append(float(med))
            box.q3.append(float(q3))
            box.low.append(float(v.min()))
            box.high.append(float(v.max()))
            box.top.append(float(sign * np.max(sign * v)))
        if best is not None and name in best.arch:
            b_cats, b_idx = _bins(data, name, [v for _, v in rows] + [best.arch[name]])
            box.best_category = b_cats[b_idx[-1]] if b_cats == cats else None
        out.append(box)
    return out


def compute(data: RunData, decision_order: list[str]) -> Figures:
    """Every plot's data for ``data``; decisions shown in ``decision_order``."""
    labels = [label(data, t) for t in data.complete]
    return Figures(history(data, labels), pareto(data, labels), decision_boxes(data, decision_order))


def finite(values: list[float]) -> list[float | None]:
    """Values for JSON: non-finite ones as ``None``."""
    return [v if math.isfinite(v) else None for v in values]
