"""The self-contained HTML report: one file with the plotly library embedded, no network needed."""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError, NasforgeError
from .._trial import TrialState
from . import _figures as F
from ._data import RunData, fmt, fmt_seconds
from ._draw import architecture_svgs
from ._explain import Explanation, _explain, evidence, show
from ._importance import Importance, compute_importance

MAX_DECISION_PLOTS = 24
"""Per-decision plots shown (the most important decisions first)."""


def _e(value: Any) -> str:
    """Escape for HTML text and attributes."""
    return html.escape(str(value), quote=True)


def _p(value: Any) -> str:
    """Escape for plotly labels (plotly reads a few HTML tags in text and decodes entities)."""
    return html.escape(str(value), quote=False)


def _json_for_script(obj: Any) -> str:
    """JSON safe inside ``<script>`` (no ``</script>``, ``<!--`` or ``&`` can appear)."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _nums(a: np.ndarray | list[float], digits: int = 7) -> list[float | None]:
    return [None if not math.isfinite(v) else float(f"{v:.{digits}g}") for v in np.asarray(a, dtype=float).tolist()]


def _layout(title: str, x: str, y: str, *, height: int = 380, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": _p(title), "font": {"size": 15}},
        "xaxis": {"title": {"text": _p(x)}, "automargin": True},
        "yaxis": {"title": {"text": _p(y)}, "automargin": True},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "template": None,
        "plot_bgcolor": "#fafafa",
        **extra,
    }


def _history_figs(h: F.History) -> dict[str, Any]:
    labels = [_p(s) for s in h.labels]
    best_name = "best so far (" + ("max" if h.direction == "maximize" else "min") + ")"
    by_trial = {
        "data": [
            {"type": "scatter", "mode": "markers", "name": "trial", "x": h.number.tolist(), "y": _nums(h.value),
             "text": labels, "hovertemplate": "%{text}<br>%{y}<extra></extra>",
             "marker": {"size": 5, "color": "rgba(76,114,176,0.45)"}},
            {"type": "scatter", "mode": "lines", "name": best_name, "x": h.number.tolist(), "y": _nums(h.best),
             "line": {"shape": "hv", "color": "#c44e52", "width": 2}, "hoverinfo": "skip"},
        ],
        "layout": _layout(f"{h.metric} by trial", "trial number", h.metric),
    }  # fmt: skip
    by_time = {
        "data": [
            {"type": "scatter", "mode": "markers", "name": "trial", "x": _nums(h.seconds, 6), "y": _nums(h.value),
             "customdata": h.number.tolist(), "hovertemplate": "trial %{customdata}<br>%{x:.1f} s<br>%{y}<extra></extra>",
             "marker": {"size": 5, "color": "rgba(85,168,104,0.45)"}},
            {"type": "scatter", "mode": "lines", "name": best_name, "x": _nums(h.best_seconds, 6),
             "y": _nums(h.best_by_time), "line": {"shape": "hv", "color": "#c44e52", "width": 2}, "hoverinfo": "skip"},
        ],
        "layout": _layout(f"{h.metric} by time", "seconds since the first trial started", h.metric),
    }  # fmt: skip
    return {"fig-history-trials": by_trial, "fig-history-time": by_time}


def _pareto_figs(pairs: list[F.ParetoPair], numbers: list[int]) -> dict[str, Any]:
    out = {}
    for k, p in enumerate(pairs):
        out[f"fig-pareto-{k}"] = {
            "data": [
                {"type": "scatter", "mode": "markers", "name": "trial", "x": _nums(p.x), "y": _nums(p.y),
                 "customdata": numbers, "hovertemplate": "trial %{customdata}<br>%{x}, %{y}<extra></extra>",
                 "marker": {"size": 5, "color": "rgba(140,140,140,0.45)"}},
                {"type": "scatter", "mode": "lines+markers", "name": "Pareto front", "x": _nums(p.front_x),
                 "y": _nums(p.front_y), "text": [_p(s) for s in p.front_labels],
                 "hovertemplate": "%{text}<br>%{x}, %{y}<extra></extra>",
                 "line": {"shape": "hv", "color": "#c44e52"}, "marker": {"size": 8, "color": "#c44e52"}},
            ],
            "layout": _layout(f"Pareto front: {p.x_metric} vs {p.y_metric}", p.x_metric, p.y_metric, height=420),
        }  # fmt: skip
    return out


def _importance_fig(results: list[Importance], names: list[str]) -> dict[str, Any]:
    shown = list(reversed(names))
    data = []
    colours = ("#4c72b0", "#dd8452", "#55a868")
    for k, imp in enumerate(results):
        data.append(
            {"type": "bar", "orientation": "h", "name": _p(imp.metric), "y": [_p(n) for n in shown],
             "x": _nums([100 * imp.shares.get(n, 0.0) for n in shown], 4), "marker": {"color": colours[k % 3]},
             "hovertemplate": "%{y}: %{x:.1f}%<extra>" + _p(imp.metric) + "</extra>"}
        )  # fmt: skip
    layout = _layout("Decision importance (share of variance explained)", "% of variance", "",
                     height=max(260, 24 * len(shown) * max(1, len(results)) + 120))  # fmt: skip
    layout["yaxis"]["type"] = "category"
    layout["barmode"] = "group"
    layout["legend"] = {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}
    layout["showlegend"] = len(results) > 1
    layout["margin"]["t"] = 70
    return {"fig-importance": {"data": data, "layout": layout}}


def _decision_figs(boxes: list[F.DecisionBoxes], metric: str) -> dict[str, Any]:
    out = {}
    for k, b in enumerate(boxes):
        cats = [_p(c) for c in b.categories]
        data: list[dict[str, Any]] = [
            {"type": "box", "name": "trials", "x": cats, "q1": _nums(b.q1), "median": _nums(b.median),
             "q3": _nums(b.q3), "lowerfence": _nums(b.low), "upperfence": _nums(b.high),
             "marker": {"color": "#4c72b0"}, "hoverinfo": "y"},
            {"type": "scatter", "mode": "markers", "name": "best of value", "x": cats, "y": _nums(b.top),
             "customdata": b.count, "hovertemplate": "%{x}: best %{y}, %{customdata} trials<extra></extra>",
             "marker": {"symbol": "diamond", "size": 9, "color": "#dd8452"}},
        ]  # fmt: skip
        if b.best_category is not None:
            i = b.categories.index(b.best_category)
            data.append(
                {"type": "scatter", "mode": "markers", "name": "best architecture", "x": [cats[i]], "y": _nums([b.top[i]]),
                 "hoverinfo": "skip", "marker": {"symbol": "star", "size": 15, "color": "#c44e52"}}
            )  # fmt: skip
        layout = _layout(b.decision, "", metric, height=300, showlegend=False)
        layout["title"].update({"x": 0.02, "xanchor": "left"})
        layout["xaxis"]["type"] = "category"
        layout["margin"] = {"l": 55, "r": 10, "t": 40, "b": 40}
        out[f"fig-decision-{k}"] = {"data": data, "layout": layout}
    return out


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _summary(data: RunData) -> str:
    cfg = data.config()
    meta = data.meta
    counts = Counter(t.state.value for t in data.trials)
    states = ", ".join(f"{s.value} {counts[s.value]}" for s in TrialState if counts[s.value]) or "none"
    interrupted = sum(1 for t in data.trials if t.interrupted)
    if interrupted:
        states += f" ({interrupted} interrupted and re-run)"
    strategy = cfg.get("strategy", meta.get("strategy", "not recorded"))
    if isinstance(strategy, dict):
        options = ", ".join(f"{k}={v}" for k, v in strategy.items() if k != "name")
        strategy = str(strategy.get("name", "?")) + (f" ({options})" if options else "")
    budget = cfg.get("budget") or {}
    budget_text = (
        ", ".join(f"{k} {v}" for k, v in budget.items()) if isinstance(budget, dict) and budget else "not recorded"
    )
    cost = sum(t.cost_seconds or 0.0 for t in data.trials)
    created = meta.get("created")
    when = (
        _dt.datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(created, int | float)
        else "not recorded"
    )
    space = data.space
    decisions = "".join(f"<li>{_e(line)}</li>" for line in space.describe())
    best = data.best
    best_text = "no complete trial"
    if best is not None:
        values = ", ".join(f"{_e(k)} = {_e(fmt(v))}" for k, v in {**best.metrics, **best.report}.items())
        best_text = f"trial {best.number}: {values}<br><code>{_e(space.to_string(best.arch))}</code>"
    rows = [
        ("study", _e(data.name)),
        ("created", _e(when)),
        ("space", f"{_e(space.name)} ({_e(fmt(space.cardinality))} architectures)<ul>{decisions}</ul>"),
        ("strategy", _e(strategy)),
        ("objectives", _e(", ".join(f"{o.direction} {o.metric}" for o in data.objectives))),
        ("constraints", _e(", ".join(map(str, data.objectives.constraints)) or "none")),
        ("budget", _e(budget_text)),
        ("seed", _e(meta.get("seed", cfg.get("seed", "not recorded")))),
        ("wall time", _e(fmt_seconds(meta.get("elapsed_seconds")))),
        ("evaluation time", _e(fmt_seconds(cost)) + " (sum of the trials' own cost)"),
        ("trials", f"{len(data.trials)}: {_e(states)}"),
        ("best", best_text),
    ]
    return _kv_table(rows)


def _leaderboard(data: RunData, rows: int) -> str:
    ranked = data.ranked  # the one definition of best: complete, feasible, at the top budget
    done = ranked[:rows]
    if not done:
        return "<p>No complete trial" + (" meets the constraints.</p>" if data.complete else ".</p>")
    objectives = data.objectives.names
    metrics = objectives + [m for m in dict.fromkeys(k for t in done for k in t.metrics) if m not in objectives]
    reports = list(dict.fromkeys(k for t in done for k in t.report))
    head = ["rank", "trial", *metrics, *reports, "budget", "seconds", "architecture"]
    out = ['<table class="sortable board"><thead><tr>']
    out += [f'<th title="click to sort">{_e(h)}</th>' for h in head]
    out.append("</tr></thead><tbody>")

    def num(v: Any) -> str:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return f"<td>{_e('' if v is None else v)}</td>"
        return f'<td class="n" data-v="{v!r}">{_e(fmt(float(v)))}</td>'

    for rank, t in enumerate(done, 1):
        cells = [num(rank), num(t.number), *(num(t.metrics.get(m)) for m in metrics), *(num(t.report.get(r)) for r in reports),
                 num(1.0 if t.budget is None else t.budget), num(t.cost_seconds),
                 f"<td><code>{_e(data.space.to_string(t.arch))}</code></td>"]  # fmt: skip
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    left_out = len(data.complete) - len(ranked)
    why = f" ({left_out} left out: infeasible or at a lower budget)" if left_out else ""
    note = (
        f"<p>Top {len(done)} of {len(data.complete)} complete trials by {_e(data.primary)}{why}; "
        "click a column to sort.</p>"
    )
    return note + "".join(out)


def _failures(data: RunData) -> str:
    failed = [t for t in data.trials if t.state is TrialState.FAILED and not t.interrupted]
    if not failed:
        return ""
    reasons = Counter((t.error or "no reason recorded").strip().splitlines()[0][:200] for t in failed)
    items = "".join(f"<li>{n} × <code>{_e(r)}</code></li>" for r, n in reasons.most_common(10))
    rows = "".join(
        f"<tr><td>{t.number}</td><td><code>{_e(data.space.to_string(t.arch))}</code></td><td>{_e((t.error or '')[:300])}</td></tr>"
        for t in failed[-50:]
    )
    return (
        f'<section id="failed"><h2>Failed trials ({len(failed)})</h2><p>Most common reasons:</p><ul>{items}</ul>'
        f'<table class="board"><thead><tr><th>trial</th><th>architecture</th><th>error</th></tr></thead>'
        f"<tbody>{rows}</tbody></table><p>The last {min(50, len(failed))} failed trials are listed.</p></section>"
    )


def _explanation_html(exp: Explanation | None, note: str) -> str:
    if exp is None:
        return f"<p>{_e(note)}</p>"
    rows = []
    for e in exp.effects:
        a = e.alternatives[0] if e.alternatives else None
        alt = f"{_e(show(a.value))}: {_e(fmt(a.metric))} (trial {a.trial})" if a else "—"
        change = _e(f"{a.change:+.4g} [{a.low:+.3g}, {a.high:+.3g}]") if a else "—"
        proof = evidence(e) + ("; rests on one trial" if e.rests_on_one else "")
        rows.append(
            f'<tr><td>{_e(e.decision)}</td><td><code>{_e(show(e.value))}</code></td><td class="v-{_e(e.verdict)}">'
            f'{_e(e.verdict)}</td><td>{alt}</td><td class="n">{change}</td><td>{_e(proof)}</td></tr>'
        )
    table = (
        '<table class="board"><thead><tr><th>decision</th><th>best value</th><th>verdict</th>'
        "<th>closest alternative</th><th>change [95%]</th><th>evidence</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    return f'{table}<pre class="text">{_e(exp.text)}</pre>'


CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;padding:0 20px 40px;color:#222}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin-top:34px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav a{margin-right:14px}table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;text-align:left;vertical-align:top}
table.kv th{color:#555;font-weight:normal;white-space:nowrap}table.board{width:100%}
table.board th{background:#f0f0f0;position:sticky;top:0}table.board tr:nth-child(even){background:#fafafa}
table.sortable th{cursor:pointer}table.sortable th[data-dir=asc]:after{content:" ▲"}
table.sortable th[data-dir=desc]:after{content:" ▼"}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{word-break:break-all}pre.text{white-space:pre-wrap}
.scroll{max-height:520px;overflow:auto;border:1px solid #ddd}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:8px}
.arch{overflow-x:auto;margin:10px 0}pre{background:#f6f6f6;padding:10px;overflow-x:auto;font-size:12px}
.v-mattered{color:#a02020;font-weight:bold}.v-indifferent{color:#2a6a2a}.v-untested{color:#777}.note{color:#555;font-size:13px}
"""

SCRIPT = """
(function(){
  document.querySelectorAll('table.sortable').forEach(function(table){
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function(th, col){
      th.addEventListener('click', function(){
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var asc = th.getAttribute('data-dir') !== 'asc';
        Array.prototype.forEach.call(heads, function(h){ h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', asc ? 'asc' : 'desc');
        function key(row){ var c = row.cells[col]; var v = c.getAttribute('data-v'); return v === null ? c.textContent : v; }
        rows.sort(function(a, b){
          var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
          return asc ? c : -c;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      });
    });
  });
  var figs = JSON.parse(document.getElementById('nasforge-figures').textContent);
  var config = {responsive: true, displaylogo: false, toImageButtonOptions: {format: 'png', scale: 2}};
  var pending = Object.keys(figs).map(function(id){
    return Plotly.newPlot(document.getElementById(id), figs[id].data, figs[id].layout, config);
  });
  Promise.all(pending).then(function(){ document.body.setAttribute('data-plots-rendered', String(pending.length)); });
})();
"""


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise NasforgeError("the HTML report needs plotly: pip install plotly") from None
    return str(get_plotlyjs())


def build_html(
    data: RunData, *, leaderboard_rows: int = 200, resamples: int = 16, seed: int = 0
) -> tuple[str, dict[str, Any]]:
    """The report page of ``data`` and what the PNG export reuses (figures, importance)."""
    importances: list[Importance] = []
    importance_note = ""
    for metric in data.objectives.names[:3]:
        try:
            importances.append(compute_importance(data, metric=metric, resamples=resamples, seed=seed))
        except ConfigError as exc:
            importance_note = exc.message
            break
    order = list(importances[0].shares) if importances else data.space.names
    figs = F.compute(data, order[:MAX_DECISION_PLOTS])
    explanation: Explanation | None = None
    explain_note = ""
    try:
        explanation = _explain(data, tolerance=None, evaluated=0)
    except ConfigError as exc:
        explain_note = exc.message
    plots: dict[str, Any] = {}
    sections: list[str] = []

    def section(anchor: str, title: str, body: str) -> None:
        sections.append(f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>')

    section("summary", "Run summary", _summary(data))
    best = data.best
    if best is not None:
        drawings = "".join(f'<div class="arch">{svg}</div>' for svg in architecture_svgs(data.space, best.arch))
        summary_txt = ""
        if data.run_dir is not None and (data.run_dir / "best" / "summary.txt").is_file():
            text = (data.run_dir / "best" / "summary.txt").read_text(errors="replace")
            summary_txt = f"<h3>Summary of the trained model (best/summary.txt)</h3><pre>{_e(text)}</pre>"
        section("best", f"Best architecture (trial {best.number})", drawings + summary_txt)
    section("why", "Why this architecture", _explanation_html(explanation, explain_note))
    section("leaderboard", "Leaderboard", f'<div class="scroll">{_leaderboard(data, leaderboard_rows)}</div>')
    if figs.history is not None:
        plots.update(_history_figs(figs.history))
        section("history", "Optimization history",
                '<div id="fig-history-trials"></div><div id="fig-history-time"></div>')  # fmt: skip
    if figs.pareto:
        numbers = [t.number for t in data.complete]
        new = _pareto_figs(figs.pareto, numbers)
        plots.update(new)
        section("pareto", "Pareto front", "".join(f'<div id="{k}"></div>' for k in new)
                + '<p class="note">The front is over all objectives; each plot shows two of them.</p>')  # fmt: skip
    if importances:
        plots.update(_importance_fig(importances, order))
        method = _e(importances[0].method)
        section(
            "importance", "Decision importance", f'<div id="fig-importance"></div><p class="note">Method: {method}</p>'
        )
    else:
        section("importance", "Decision importance", f"<p>Not computed: {_e(importance_note)}</p>")
    if figs.decisions:
        new = _decision_figs(figs.decisions, data.primary)
        plots.update(new)
        more = len(order) - len(figs.decisions)
        note = f"<p class=\"note\">{_e(data.primary)} of the complete trials for each value of a decision (box: quartiles, " \
               "whiskers: min and max; diamond: best trial with that value; star: the best architecture's value)" \
               + (f"; {more} less important decisions not shown" if more > 0 else "") + ".</p>"  # fmt: skip
        section(
            "decisions",
            "Metric by decision",
            note + '<div class="grid">' + "".join(f'<div id="{k}"></div>' for k in new) + "</div>",
        )
    failures = _failures(data)
    if failures:
        sections.append(failures)
    nav = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in [("summary", "summary"), ("best", "best"), ("why", "why"), ("leaderboard", "leaderboard"),
                     ("history", "history"), ("pareto", "Pareto"), ("importance", "importance"),
                     ("decisions", "decisions"), ("failed", "failed")]
        if f'id="{a}"' in "".join(sections)
    )  # fmt: skip
    from .._version import __version__

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>nasforge report: {_e(data.name)}</title><style>{CSS}</style>"
        f"<script>{_plotly_js()}</script></head><body>"
        f'<h1>nasforge report: {_e(data.name)}</h1><p class="note">Generated {stamp} by nasforge {_e(__version__)} '
        f"from {len(data.trials)} trials. This file needs no network.</p><nav>{nav}</nav>"
        + "".join(sections)
        + f'<script type="application/json" id="nasforge-figures">{_json_for_script(plots)}</script>'
        f"<script>{SCRIPT}</script></body></html>"
    )
    return page, {"figures": figs, "importance": importances, "data": data}


def write_report(source: Any, out: str | os.PathLike[str] | None = None, *, png: str | os.PathLike[str] | None = None,
                 leaderboard_rows: int = 200, resamples: int = 16, seed: int = 0) -> Path:  # fmt: skip
    """Write the self-contained HTML report of a run; returns its path.

    Args:
        source: A run directory or a :class:`nasforge.Study`.
        out: The HTML file (default: ``RUN_DIR/report.html``, or ``report.html`` for a study
            kept in memory).
        png: A folder to also write each plot as a PNG (matplotlib) and the best architecture
            as SVG, for papers.
        leaderboard_rows: Rows of the leaderboard (the best by the primary objective).
        resamples: Bootstrap refits behind the intervals of decision importance.
        seed: Seed of the space sample and the resamples.

    Example:
        >>> import nasforge, tempfile, os
        >>> from nasforge.space import SearchSpace, Choice
        >>> space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1])})
        >>> study = nasforge.search(space, nasforge.Function(lambda x: {"y": x["a"] - x["b"]}),
        ...                         strategy="grid", objectives={"y": "maximize"})
        >>> path = write_report(study, os.path.join(tempfile.mkdtemp(), "report.html"))
        >>> path.stat().st_size > 1_000_000  # plotly is embedded
        True
    """
    data = RunData.load(source)
    if isinstance(leaderboard_rows, bool) or not isinstance(leaderboard_rows, int) or leaderboard_rows < 1:
        raise ConfigError("leaderboard_rows", f"must be a positive integer, got {leaderboard_rows!r}")
    if out is None:
        out = (data.run_dir / "report.html") if data.run_dir is not None else Path("report.html")
    out = Path(out)
    page, parts = build_html(data, leaderboard_rows=leaderboard_rows, resamples=resamples, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:  # a full disk: no partial page left behind, and the message names the file
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(out)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if png is not None:
        from ._png import write_pngs

        write_pngs(parts["data"], parts["figures"], parts["importance"], Path(png))
    return out
