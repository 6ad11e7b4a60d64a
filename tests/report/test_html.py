"""The HTML report: generated from stored studies of each kind, escaped, rendered in a browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nasforge
from nasforge.cli import main
from nasforge.space import Choice, SearchSpace


def _figures(page: str) -> dict:  # type: ignore[type-arg]
    start = page.index('id="nasforge-figures">') + len('id="nasforge-figures">')
    return json.loads(page[start : page.index("</script>", start)])  # type: ignore[no-any-return]


def test_report_of_a_single_objective_table_study(table_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (table_run / "best").mkdir(exist_ok=True)
    (table_run / "best" / "summary.txt").write_text("layer  params\nconv   1,234 <ok>\n")
    assert main(["report", str(table_run)]) == 0
    assert "report.html" in capsys.readouterr().out
    page = (table_run / "report.html").read_text()
    assert "http://" not in page.split("<script>")[0] and 'src="http' not in page  # nothing loaded from a network
    figs = _figures(page)
    assert {"fig-history-trials", "fig-history-time", "fig-importance"} <= set(figs)
    assert not any(k.startswith("fig-pareto") for k in figs)  # one objective
    history = figs["fig-history-trials"]["data"]
    assert len(history[0]["x"]) == 80 and max(history[1]["y"]) == 90.0  # all trials; best so far reaches the best
    assert "conv   1,234 &lt;ok&gt;" in page  # best/summary.txt, escaped
    assert "fANOVA" in page and "Gaussian process" in page  # the method is named
    assert "Top 80 of 80 complete trials by acc" in page and "<h1>nasforge report: table-grid</h1>" in page
    assert "mattered" in page  # the explanation of the best is in the report


def test_report_of_a_multi_objective_study_has_a_pareto_front(multi_run: Path, tmp_path: Path) -> None:
    out = nasforge.write_report(multi_run, tmp_path / "multi.html", png=tmp_path / "png")
    figs = _figures(out.read_text())
    front = figs["fig-pareto-0"]["data"][1]
    assert len(front["x"]) >= 2
    data = nasforge.report.RunData.load(multi_run)
    assert len(front["x"]) == len(
        nasforge.Objectives.parse({"acc": "maximize", "params": "minimize"}).pareto_front(data.trials)
    )
    assert {p.name for p in (tmp_path / "png").iterdir()} >= {
        "history.png",
        "pareto.png",
        "importance.png",
        "decisions.png",
        "best_arch.svg",
    }
    assert (tmp_path / "png" / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_of_a_study_with_failed_trials_lists_them(failing_run: Path) -> None:
    path = nasforge.write_report(failing_run)
    page = path.read_text()
    assert path == failing_run / "report.html"
    info = nasforge.run.summarize(failing_run)
    failed = info["states"]["failed"]
    assert failed > 0
    assert f"Failed trials ({failed})" in page
    assert "not in" in page  # the reason stored with the trials


def test_user_strings_are_escaped(tmp_path: Path) -> None:
    evil = "<script>window.__nf_pwned=1</script>"
    space = SearchSpace({
        "<img src=x onerror='window.__nf_pwned=2'>": Choice(["</script><script>window.__nf_pwned=3</script>", "b&c"]),
        "k": Choice([1, 2, 3]),
    })  # fmt: skip
    name = next(iter(space.spec))
    study = nasforge.search(space, nasforge.Function(lambda a: {"y": a["k"] + (a[name] == "b&c")}), strategy="grid",
                            objectives={"y": "maximize"}, name=evil)  # fmt: skip
    page = nasforge.write_report(study, tmp_path / "evil.html").read_text()
    assert "<script>window.__nf_pwned" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__nf_pwned=1&lt;/script&gt;" in page


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["table_run", "multi_run", "failing_run"])
def test_report_renders_in_headless_chromium(kind: str, request: pytest.FixtureRequest, tmp_path: Path, render) -> None:  # type: ignore[no-untyped-def]
    run: Path = request.getfixturevalue(kind)
    page = nasforge.write_report(run, tmp_path / f"{kind}.html")
    found = render(page, tmp_path)
    assert found["errors"] == []
    assert int(found["rendered"]) == found["divs"] == len(found["plots"]) > 0
    for plot in found["plots"]:
        assert sum(plot["points"]) > 0 and plot["drawn"] > 0, plot
    if kind == "multi_run":
        assert any(p["id"].startswith("fig-pareto") for p in found["plots"])
    up, down = found["sorted"]  # the leaderboard sorts by trial number both ways
    assert int(up) == min(t.number for t in nasforge.report.RunData.load(run).complete)
    assert int(down) == max(t.number for t in nasforge.report.RunData.load(run).complete)


@pytest.mark.slow
def test_escaped_strings_run_no_script_in_the_browser(tmp_path: Path, render) -> None:  # type: ignore[no-untyped-def]
    evil = "<script>window.__nf_pwned=1</script>"
    space = SearchSpace({"<img src=x onerror='window.__nf_pwned=2'>": Choice(["</script><script>window.__nf_pwned=3</script>", "x"]),
                         "k": Choice([1, 2, 3])})  # fmt: skip
    study = nasforge.search(space, nasforge.Function(lambda a: {"y": a["k"]}), strategy="grid",
                            objectives={"y": "maximize"}, name=evil)  # fmt: skip
    found = render(nasforge.write_report(study, tmp_path / "evil.html"), tmp_path)
    assert found["errors"] == [] and found["pwned"] is None
    assert found["title"] == f"nasforge report: {evil}"


def test_study_report_writes_next_to_its_database(tmp_path: Path) -> None:
    space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1])})
    study = nasforge.Study(space, nasforge.Function(lambda x: {"y": x["a"] - x["b"]}), "grid", {"y": "maximize"},
                           storage=nasforge.SQLiteStorage(tmp_path / "run" / "study.db"), name="py-study")  # fmt: skip
    path = nasforge.write_report(study.run())  # the study's read model knows its run directory
    assert path == tmp_path / "run" / "report.html"
    figs = _figures(path.read_text())
    assert len(figs["fig-history-trials"]["data"][0]["x"]) == 6


@pytest.mark.slow
def test_the_browser_check_sees_javascript_errors(table_run: Path, tmp_path: Path, render) -> None:  # type: ignore[no-untyped-def]
    page = nasforge.write_report(table_run, tmp_path / "ok.html")
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("Plotly.newPlot(", "Plotly.newPlotX("))
    found = render(broken, tmp_path)
    assert found["errors"] and "newPlotX" in found["errors"][0]
    assert found["rendered"] is None and found["plots"] == []


def test_report_of_a_missing_run_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run_dir:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nowhere" / "report.html").exists()
