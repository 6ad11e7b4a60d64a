"""PNG export of the report's plots for papers, drawn with matplotlib (no browser needed), and the
best architecture as SVG (vector, from the same drawing as the HTML)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import NasforgeError
from . import _figures as F
from ._data import RunData
from ._draw import architecture_svgs
from ._importance import Importance

DPI = 200


def _figure(width: float, height: float):  # type: ignore[no-untyped-def]
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise NasforgeError("PNG export needs matplotlib: pip install matplotlib") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path, written: list[Path]) -> None:  # type: ignore[no-untyped-def]
    fig.savefig(path, dpi=DPI)
    written.append(path)


def write_pngs(data: RunData, figs: F.Figures, importances: list[Importance], folder: Path) -> list[Path]:
    """Write ``history.png``, ``pareto.png``, ``importance.png``, ``decisions.png`` (where there is
    data) and ``best_arch*.svg`` into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    h = figs.history
    if h is not None:
        fig = _figure(10, 3.6)
        for ax, x, bx, by, xlabel in (
            (fig.add_subplot(1, 2, 1), h.number, h.number, h.best, "trial number"),
            (
                fig.add_subplot(1, 2, 2),
                h.seconds,
                h.best_seconds,
                h.best_by_time,
                "seconds since the first trial started",
            ),
        ):
            ax.scatter(x, h.value, s=6, alpha=0.4, color="#4c72b0", linewidths=0, label="trial")
            ax.step(bx, by, where="post", color="#c44e52", lw=1.6, label="best so far")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(h.metric)
            ax.grid(alpha=0.3)
        fig.axes[0].legend(loc="best", fontsize=8)
        _save(fig, folder / "history.png", written)
    if figs.pareto:
        fig = _figure(5 * len(figs.pareto), 4)
        for k, p in enumerate(figs.pareto):
            ax = fig.add_subplot(1, len(figs.pareto), k + 1)
            ax.scatter(p.x, p.y, s=6, alpha=0.35, color="#8c8c8c", linewidths=0, label="trial")
            ax.plot(
                p.front_x, p.front_y, "o-", color="#c44e52", ms=4, lw=1.2, drawstyle="steps-post", label="Pareto front"
            )
            ax.set_xlabel(p.x_metric)
            ax.set_ylabel(p.y_metric)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        _save(fig, folder / "pareto.png", written)
    if importances:
        names = list(importances[0].shares)[::-1]
        fig = _figure(7, max(2.5, 0.28 * len(names) * len(importances) + 1))
        ax = fig.add_subplot(1, 1, 1)
        height = 0.8 / len(importances)
        pos = np.arange(len(names))
        for k, imp in enumerate(importances):
            ax.barh(pos + k * height, [100 * imp.shares.get(n, 0.0) for n in names], height=height, label=imp.metric)
        ax.set_yticks(pos + height * (len(importances) - 1) / 2, names)
        ax.set_xlabel("% of variance explained (fANOVA main effect)")
        ax.grid(axis="x", alpha=0.3)
        if len(importances) > 1:
            ax.legend(fontsize=8)
        _save(fig, folder / "importance.png", written)
    if figs.decisions:
        cols = min(4, len(figs.decisions))
        rows = -(-len(figs.decisions) // cols)
        fig = _figure(3.4 * cols, 2.8 * rows)
        for k, b in enumerate(figs.decisions):
            ax = fig.add_subplot(rows, cols, k + 1)
            stats = [
                {"med": m, "q1": q1, "q3": q3, "whislo": lo, "whishi": hi, "label": c}
                for c, m, q1, q3, lo, hi in zip(b.categories, b.median, b.q1, b.q3, b.low, b.high)
            ]
            ax.bxp(stats, showfliers=False)
            ax.scatter(range(1, len(b.top) + 1), b.top, marker="D", s=18, color="#dd8452", zorder=3)
            if b.best_category is not None:
                i = b.categories.index(b.best_category)
                ax.scatter([i + 1], [b.top[i]], marker="*", s=120, color="#c44e52", zorder=4)
            ax.set_title(b.decision, fontsize=9)
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
            ax.tick_params(axis="y", labelsize=7)
        _save(fig, folder / "decisions.png", written)
    best = data.best
    if best is not None:
        for k, svg in enumerate(architecture_svgs(data.space, best.arch)):
            path = folder / (f"best_arch_{k}.svg" if k else "best_arch.svg")
            path.write_text(svg, encoding="utf-8")
            written.append(path)
    return written
