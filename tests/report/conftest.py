"""Stored studies of each kind for the report tests, and a headless-Chromium page checker."""

from __future__ import annotations

import csv
import html
import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nasforge.cli import main

TOY = {"kernel": {"choice": [1, 3, 5, 7]}, "width": {"choice": [8, 16, 32, 64]}, "depth": {"int": [1, 5]}}


def toy_acc(kernel: int, width: int, depth: int) -> float:
    widths = {8: 0, 16: 1, 32: 2, 64: 3}
    return 90.0 - (kernel - 3) ** 2 - (widths[width] - 2) ** 2 - (depth - 3) ** 2


def write_table(path: Path, *, skip: int = 0) -> Path:
    """A synthetic results table over the toy space; every ``skip``-th row has no accuracy, a
    run that crashed (0: none), so its trial fails."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "acc", "test_acc", "seconds"])
        for n, (k, wd, d) in enumerate(itertools.product([1, 3, 5, 7], [8, 16, 32, 64], range(1, 6))):
            if skip and n % skip == 0:
                w.writerow([f"{k}-{wd}-{d}", "", "", k * wd])
                continue
            w.writerow([f"{k}-{wd}-{d}", toy_acc(k, wd, d), toy_acc(k, wd, d) - 1, k * wd])
    return path


def search(tmp_path: Path, config: dict[str, Any], name: str) -> Path:
    """Run ``nasforge search`` on ``config`` into ``tmp_path/name``; returns the run directory."""
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(yaml.safe_dump(config))
    run = tmp_path / name
    assert main(["search", str(cfg), "--run-dir", str(run)]) == 0
    return run


@pytest.fixture
def table_run(tmp_path: Path) -> Path:
    """Single objective, table evaluator, grid search of all 80 architectures."""
    write_table(tmp_path / "results.csv")
    return search(tmp_path, {
        "name": "table-grid", "seed": 1, "space": {"decisions": TOY},
        "evaluator": {"table": "results.csv", "key": "{kernel}-{width}-{depth}", "metric": "acc", "report": ["test_acc"]},
        "strategy": "grid", "objectives": {"acc": "maximize"},
    }, "table")  # fmt: skip


@pytest.fixture
def sparse_run(tmp_path: Path) -> Path:
    """Single objective, table evaluator, 8 random trials of the 80: few neighbours measured."""
    write_table(tmp_path / "results.csv")
    return search(tmp_path, {
        "name": "sparse", "seed": 5, "space": {"decisions": TOY},
        "evaluator": {"table": "results.csv", "key": "{kernel}-{width}-{depth}", "metric": "acc"},
        "strategy": "random", "objectives": {"acc": "maximize"}, "budget": {"trials": 8},
    }, "sparse")  # fmt: skip


@pytest.fixture
def failing_run(tmp_path: Path) -> Path:
    """A table without a result for every 4th architecture: a quarter of the trials fail."""
    write_table(tmp_path / "holes.csv", skip=4)
    return search(tmp_path, {
        "name": "with-failures", "seed": 2, "space": {"decisions": TOY},
        "evaluator": {"table": "holes.csv", "key": "{kernel}-{width}-{depth}", "metric": "acc"},
        "strategy": "random", "objectives": {"acc": "maximize"}, "budget": {"trials": 40},
    }, "failing")  # fmt: skip


@pytest.fixture
def multi_run(tmp_path: Path) -> Path:
    """Two objectives (accuracy up, parameters down) from a function evaluator; a repeat space."""
    module = f"mo_score_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text(
        "def score(arch):\n"
        "    depth = arch['layers']\n"
        "    width = sum(arch[f'layers.{k}.channels'] for k in range(depth))\n"
        "    return {'acc': 60 + 10 * depth - abs(arch['units'] - 64) / 8, 'params': width * 100 + arch['units']}\n"
    )
    space = {"decisions": {
        "layers": {"repeat": {"min": 1, "max": 3}, "block": {"channels": {"choice": [16, 32]}, "pool": {"choice": ["max", "none"]}}},
        "units": {"choice": [32, 64, 128]},
    }}  # fmt: skip
    return search(tmp_path, {
        "name": "multi", "seed": 0, "space": space, "evaluator": {"function": f"{module}:score"},
        "strategy": "random", "objectives": {"acc": "maximize", "params": "minimize"}, "budget": {"trials": 60},
    }, "multi")  # fmt: skip


# -- headless Chromium ------------------------------------------------------------------------

HOOK = """<script>window.__nf_errors=[];
window.addEventListener('error',function(e){window.__nf_errors.push('error: '+String(e.message||e))});
window.addEventListener('unhandledrejection',function(e){window.__nf_errors.push('rejection: '+String(e.reason))});
(function(){var ce=console.error;console.error=function(){window.__nf_errors.push('console.error: '+
Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments)}})();</script>"""

PROBE = """<script>window.addEventListener('load',function(){setTimeout(function(){
var out={errors:window.__nf_errors,rendered:document.body.getAttribute('data-plots-rendered'),plots:[],
pwned:window.__nf_pwned===undefined?null:window.__nf_pwned,title:document.querySelector('h1').textContent};
document.querySelectorAll('.js-plotly-plot').forEach(function(gd){out.plots.push({id:gd.id,
points:gd.data.map(function(t){return (t.x||t.y||[]).length}),
drawn:gd.querySelectorAll('.scatterlayer .point, .boxlayer path.box, .barlayer .point, .scatterlayer .js-line').length})});
out.divs=document.querySelectorAll('div[id^="fig-"]').length;
var table=document.querySelector('table.sortable');
if(table){var th=table.tHead.rows[0].cells[1];th.click();var up=table.tBodies[0].rows[0].cells[1].textContent;
th.click();var down=table.tBodies[0].rows[0].cells[1].textContent;out.sorted=[up,down];}
var pre=document.createElement('pre');pre.id='nf-probe';pre.textContent=JSON.stringify(out);
document.body.appendChild(pre);},200)});</script>"""


def chromium() -> str:
    """The Chromium binary; skips the test when there is none (CI installs it, so there it fails)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return exe


@pytest.fixture
def render() -> Any:
    """The page checker: ``render(page, tmp_path)`` (see :func:`render_page`)."""
    return render_page


def render_page(page: Path, tmp_path: Path) -> dict[str, Any]:
    """Open a copy of ``page`` in headless Chromium (no network) with an error hook first and a
    probe last; returns what the probe found: JavaScript errors, plots and their data."""
    text = page.read_text(encoding="utf-8")
    probed = tmp_path / f"probed-{page.name}"
    head = text.index("<head>") + len("<head>")
    end = text.rindex("</body>")
    probed.write_text(text[:head] + HOOK + text[head:end] + PROBE + text[end:], encoding="utf-8")
    profile = tmp_path / "chromium-profile"
    cmd = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", probed.as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="nf-probe">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert found, f"the probe did not run; chromium said: {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]
