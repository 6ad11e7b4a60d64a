"""Why this architecture: the effect of changing each decision of the best alone."""

from __future__ import annotations

from pathlib import Path

import pytest

import nasforge
from nasforge.cli import main
from nasforge.report import neighbour_decision
from nasforge.space import Arch, Choice, Conditional, Repeat, SearchSpace


def test_explain_ranks_what_mattered_and_names_the_indifferent() -> None:
    space = SearchSpace({"big": Choice([0, 1, 2]), "small": Choice(["a", "b"]), "idle": Choice([1, 2, 3])})
    fn = nasforge.Function(lambda x: {"acc": 10 * x["big"] + (x["small"] == "b")})
    exp = nasforge.explain(nasforge.search(space, fn, strategy="grid", objectives={"acc": "maximize"}))
    assert exp.arch["big"] == 2 and exp.arch["small"] == "b" and exp.value == 21
    assert [(e.decision, e.verdict) for e in exp.effects] == [
        ("big", "mattered"),
        ("small", "mattered"),
        ("idle", "indifferent"),
    ]
    big = exp.effects[0]
    assert [(a.value, a.change, a.trials) for a in big.alternatives] == [(1, -10.0, 1), (0, -20.0, 1)]
    assert big.untried == [] and big.trials == 2
    assert "Mattered most" in exp.text and "Indifferent" in exp.text
    assert "big = 2: the closest alternative, big = 1 gives acc 11 (-10 [-10.2, -9.79]; trial" in exp.text
    assert "Evidence: 2 of 2 alternative values measured, 2 trials." in exp.text


def test_minimized_metric_and_tolerance() -> None:
    space = SearchSpace({"a": Choice([0, 1, 2]), "b": Choice([0, 1])})
    study = nasforge.search(space, nasforge.Function(lambda x: {"loss": x["a"] + 0.05 * x["b"]}), strategy="grid",
                            objectives={"loss": "minimize"})  # fmt: skip
    exp = nasforge.explain(study)
    assert exp.arch == {"a": 0, "b": 0}
    assert {e.decision: e.verdict for e in exp.effects} == {"a": "mattered", "b": "mattered"}
    assert exp.effects[1].alternatives[0].change == pytest.approx(-0.05)  # worse is negative
    loose = nasforge.explain(study, tolerance=0.1)
    assert {e.decision: e.verdict for e in loose.effects} == {"a": "mattered", "b": "indifferent"}


def test_neighbours_along_a_depth_or_a_parent_may_differ_in_what_it_adds() -> None:
    space = SearchSpace({
        "opt": Choice(["sgd", "adam"]), "mom": Conditional(Choice([0.0, 0.9]), "opt", ("sgd",)),
        "layers": Repeat({"k": Choice([3, 5])}, 1, 3),
    })  # fmt: skip
    anc = {d.name: set() for d in space.decisions}
    anc.update({"mom": {"opt"}, "layers.0.k": {"layers"}, "layers.1.k": {"layers"}, "layers.2.k": {"layers"}})
    best = Arch({"opt": "adam", "layers": 1, "layers.0.k": 3})
    from nasforge.space._neighbours import ancestors as _ancestors

    assert _ancestors(space) == anc
    assert neighbour_decision(best, Arch({"opt": "sgd", "mom": 0.9, "layers": 1, "layers.0.k": 3}), anc) == "opt"
    assert (
        neighbour_decision(best, Arch({"opt": "adam", "layers": 2, "layers.0.k": 3, "layers.1.k": 5}), anc) == "layers"
    )
    assert neighbour_decision(best, Arch({"opt": "adam", "layers": 2, "layers.0.k": 5, "layers.1.k": 5}), anc) is None
    assert neighbour_decision(best, Arch({"opt": "adam", "layers": 1, "layers.0.k": 5}), anc) == "layers.0.k"
    assert neighbour_decision(best, best, anc) is None


def test_explain_evaluate_climbs_until_every_neighbour_of_the_best_is_measured(
    sparse_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = nasforge.explain(sparse_run)
    assert any(e.untried for e in before.effects)
    n_before = nasforge.run.summarize(sparse_run)["trials"]
    assert main(["explain", str(sparse_run)]) == 0
    assert "--evaluate" in capsys.readouterr().out
    assert main(["explain", str(sparse_run), "--evaluate"]) == 0
    text, err = capsys.readouterr()
    assert "explain --evaluate, round 1: " in err and f"of the best, trial {before.trial}" in err
    after = nasforge.explain(sparse_run)
    n_after = nasforge.run.summarize(sparse_run)["trials"]
    assert n_after > n_before and after.evaluated == 0
    assert f"({n_after - n_before} neighbours just evaluated)" in text
    # one --evaluate climbs to the toy's single optimum: every change of its explanation is measured
    assert after.arch == {"kernel": 3, "width": 32, "depth": 3} != before.arch
    assert all(not e.untried and e.verdict == "mattered" for e in after.effects)
    assert sorted(len(e.alternatives) for e in after.effects) == [3, 3, 4]  # every other value of each
    assert f"moved the best from trial {before.trial} to trial {after.trial}" in text
    assert "every change below is measured" in text
    # The study stays resumable: the stored trials replay, the budget counts the new trials too.
    assert main(["resume", str(sparse_run)]) == 0
    assert nasforge.run.summarize(sparse_run)["trials"] == n_after
    _, study = nasforge.run.load_study(sparse_run)
    study.run(trials=0)  # rebuilds the strategy: the enqueued neighbours are told, not asked
    assert study.replay_mismatches == 0
    assert sum(t.enqueued for t in study.trials) == n_after - n_before
    assert nasforge.RunDir(sparse_run).evaluate_neighbours() == (0, after.trial)  # nothing left to measure


def test_explain_evaluate_bounded_by_rounds_or_trials(sparse_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasforge.space._neighbours import one_change_neighbours

    _, study = nasforge.run.load_study(sparse_run)
    best = study.best
    assert best is not None
    measured = {t.arch for t in study.trials}
    missing = [a for a in one_change_neighbours(study.space, best.arch) if a not in measured]
    n = len(study.trials)
    study.storage.close()
    assert main(["explain", str(sparse_run), "--evaluate", "--max-trials", "2"]) == 0
    assert nasforge.run.summarize(sparse_run)["trials"] == n + 2
    assert "(2 neighbours just evaluated)" in capsys.readouterr().out
    evaluated, previous = nasforge.RunDir(sparse_run).evaluate_neighbours(rounds=1)
    assert previous is not None and evaluated <= len(missing) - 2  # one round: the (current) best's neighbours only
    assert main(["explain", str(sparse_run), "--rounds", "1"]) == 2
    assert "--rounds: bounds --evaluate, which is not given" in capsys.readouterr().err
    with pytest.raises(nasforge.ConfigError, match="max_trials"):
        nasforge.RunDir(sparse_run).evaluate_neighbours(max_trials=-1)


def test_explain_json_and_errors(table_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["explain", str(table_run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trial"] >= 0 and {e["decision"] for e in data["effects"]} == {"kernel", "width", "depth"}
    assert all(e["verdict"] == "mattered" for e in data["effects"])  # the toy score has one optimum
    assert main(["explain", str(tmp_path / "nowhere")]) == 2
    with pytest.raises(nasforge.ConfigError, match="holds no study"):  # evaluating needs a stored study
        nasforge.RunDir(tmp_path / "nowhere").evaluate_neighbours()


def test_evidence_of_a_continuous_range_has_no_total() -> None:
    from nasforge.report import Alternative, DecisionEffect
    from nasforge.report._explain import evidence, show

    e = DecisionEffect("lr", 0.0123456, "mattered", [Alternative(0.1, 1.0, -1.0, 2, 5)], [], 2, None)
    assert evidence(e) == "1 alternative value measured, 2 trials"
    assert show(0.0123456) == "0.01235" and show("relu") == "'relu'"


def _write_cv_module(tmp_path: Path) -> str:
    """A function evaluator that reports like a 3-fold Trainer: the mean of three fold scores
    (the fold noise seeded by the architecture, std 0.004), ``accuracy_std`` and ``fold_accuracy``."""
    module = f"cv_score_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text(
        "import numpy as np\n"
        "from nasforge.evaluators import Result\n"
        "def score(arch):\n"
        "    rng = np.random.default_rng([arch['kernel'], arch['width'], arch['tiny']])\n"
        "    true = 0.9 - 0.05 * (arch['kernel'] != 3) - 0.02 * (arch['width'] != 32) + 0.0005 * arch['tiny']\n"
        "    folds = true + rng.normal(0.0, 0.004, size=3)\n"
        "    return Result({'accuracy': float(folds.mean())},\n"
        "                  report={'accuracy_std': float(folds.std()), 'fold_accuracy': [float(f) for f in folds]})\n"
    )
    return module


def test_explain_of_a_3_fold_run_takes_the_noise_from_the_folds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .conftest import search

    module = _write_cv_module(tmp_path)
    space = {"decisions": {"kernel": {"choice": [1, 3, 5]}, "width": {"choice": [16, 32, 64]}, "tiny": {"choice": [0, 1]}}}
    run = search(tmp_path, {
        "name": "cv3", "seed": 0, "space": space, "evaluator": {"function": f"{module}:score"},
        "strategy": "grid", "objectives": {"accuracy": "maximize"},
    }, "cv3")  # fmt: skip
    exp = nasforge.explain(run)
    assert "3-fold cross-validation (18 trials)" in exp.noise_source
    assert exp.sigma is not None and 0.0005 < exp.sigma < 0.006  # the standard error of a 3-fold mean
    assert exp.tolerance == pytest.approx(1.96 * 2**0.5 * exp.sigma)
    verdicts = {e.decision: e for e in exp.effects}
    assert verdicts["kernel"].verdict == "mattered" and verdicts["width"].verdict == "mattered"
    assert verdicts["tiny"].verdict == "indifferent"  # 0.0005 is far inside the fold noise
    for e in exp.effects:  # every measured change carries a paired interval around it
        for a in e.alternatives:
            assert a.low < a.change < a.high
    assert main(["explain", str(run)]) == 0
    text = capsys.readouterr().out
    assert "Intervals are 95%" in text and "per trial from the median standard error over the folds" in text
    assert "kernel = 3: the closest alternative, kernel = " in text and "trials measured" not in text
    assert "which agrees" in text  # a one-trial verdict corroborated by the model of every trial


def test_a_verdict_on_one_trial_says_so() -> None:
    space = SearchSpace({"a": Choice([0, 1]), "b": Choice([0, 1])})
    study = nasforge.search(space, nasforge.Function(lambda x: {"y": x["a"] + x["b"]}), strategy="grid",
                            objectives={"y": "maximize"}, progress=False)  # fmt: skip
    exp = nasforge.explain(study)
    assert exp.arch == {"a": 1, "b": 1} and exp.model_trials == 0  # 4 trials: too few for a model
    assert [(e.verdict, e.rests_on_one) for e in exp.effects] == [("mattered", True), ("mattered", True)]
    assert exp.text.count("Rests on one trial (trial") == 2 and "no model (too few trials)" in exp.text


def test_a_two_objective_run_is_explained_for_each_objective(
    multi_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = nasforge.explain(multi_run)
    assert exp.metric == "acc" and [o.metric for o in exp.others] == ["params"]
    params = exp.for_metric("params")
    assert params.trial == exp.trial and params.direction == "minimize"
    assert {e.decision for e in params.effects} == {e.decision for e in exp.effects}
    units = next(e for e in params.effects if e.decision == "units")
    for a in units.alternatives:  # params = width * 100 + units: fewer units save exactly that many
        assert a.change == pytest.approx(exp.arch["units"] - a.value)
    assert main(["explain", str(multi_run)]) == 0
    text = capsys.readouterr().out
    assert "on the Pareto front of" in text and "The same architecture for params (minimize)" in text
    with pytest.raises(nasforge.ConfigError, match="not an objective"):
        exp.for_metric("loss")


def test_a_swap_to_the_same_network_counts_as_measured_by_its_twin() -> None:
    from nasforge.space import Cell

    space = SearchSpace({"cell": Cell(nodes=3, ops=["none", "skip_connect", "conv"])})
    fn = nasforge.Function(lambda x: {"y": 2.0 * (x["cell.0-2"] == "conv") + (x["cell.0-1"] == "none")})
    study = nasforge.search(space, fn, strategy="grid", objectives={"y": "maximize"}, progress=False)
    exp = nasforge.explain(study)
    assert exp.arch["cell.0-1"] == "none" and exp.arch["cell.0-2"] == "conv"
    dead = next(e for e in exp.effects if e.decision == "cell.1-2")  # node 1 gets nothing: the edge carries nothing
    assert dead.verdict == "indifferent" and dead.untried == []
    assert all(a.equivalent and a.change == 0.0 for a in dead.alternatives)
    assert "the same network)" in exp.text


def test_unmeasured_swaps_are_predicted_with_an_interval(sparse_run: Path) -> None:
    exp = nasforge.explain(sparse_run)
    assert exp.model_trials == 8  # every complete trial at the fidelity
    predicted = [p for e in exp.effects for p in e.predicted]
    assert predicted and all(p.low <= p.change <= p.high for p in predicted)
    assert {p.value for e in exp.effects for p in e.predicted} <= {v for e in exp.effects for v in e.untried}
    assert "Predicted, not measured (a model of 8 trials" in exp.text
    assert set(exp.value_effects) == {"kernel", "width", "depth"}


def _pair_key(arch: Arch) -> str:
    """(a, b) and (b, a) are one network."""
    return "-".join(sorted((str(arch["a"]), str(arch["b"]))))


def test_evaluate_neighbours_skips_networks_already_measured_by_an_equivalent() -> None:
    space = SearchSpace({"a": Choice(["p", "q", "r"]), "b": Choice(["p", "q", "r"])}, canonical=_pair_key)
    score = {"p": 0, "q": 1, "r": 3}
    fn = nasforge.Function(lambda x: {"acc": score[x["a"]] + score[x["b"]] + 0.5 * (x["a"] == x["b"])})
    study = nasforge.Study(space, fn, strategy="random", objectives={"acc": "maximize"}, seed=0, progress=False)
    for arch in ({"a": "q", "b": "p"}, {"a": "r", "b": "q"}):
        study.enqueue(arch)
    study.run(trials=2)  # best (r, q); measured: (q, p) and (r, q) = (q, r)
    ran = study.evaluate_neighbours(rounds=1)
    # neighbours of (r, q): (p, q) = (q, p) measured; (q, q) new; (r, p) new; (r, r) new
    assert ran == 3
    assert sorted(_pair_key(t.arch) for t in study.trials[2:]) == ["p-r", "q-q", "r-r"]
    best = study.best
    assert best is not None and dict(best.arch) == {"a": "r", "b": "r"}
    assert study.evaluate_neighbours() == 0  # (r, r)'s neighbours are (q, r) and (p, r), each measured as its twin
