"""Resume never mixes results silently: a study stores a fingerprint of what defines its results
(the config file, the space, a table file, a ``function:`` module's source and the modules it
imports, an image folder, the package versions), and ``nasforge
resume`` refuses in one line when one of them changed, unless ``--accept-changes``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nasforge.cli import main

SPACE = {"decisions": {"x": {"int": [0, 9]}}}


def setup_run(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """A search of 4 trials whose budget says 8 (so resume has work left); its config and run dir."""
    (tmp_path / "t.csv").write_text("key,acc\n" + "".join(f"{x},{x / 10}\n" for x in range(10)))
    module = f"fp_{kind}_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text("def score(arch):\n    return {'acc': arch['x'] / 10}\n")
    evaluator = (
        {"table": "t.csv", "key": "{x}", "metric": "acc"} if kind == "table" else {"function": f"{module}:score"}
    )
    cfg = tmp_path / "config.yaml"
    config = {"name": "fp", "space": SPACE, "evaluator": evaluator, "objectives": {"acc": "maximize"},
              "budget": {"trials": 8}}  # fmt: skip
    cfg.write_text(yaml.safe_dump(config))
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "4"]) == 0
    return cfg, run


def refused(run: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    before = (run / "study.db").read_bytes()
    assert main(["resume", str(run), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: run_dir: ") and "--accept-changes" in lines[0], lines
    assert (run / "study.db").read_bytes() == before
    return lines[0]


@pytest.mark.parametrize("kind, edit, what", [
    ("table", lambda d: (d / "t.csv").write_text("key,acc\n" + "".join(f"{x},{-x}\n" for x in range(10))), "table"),
    ("function", lambda d: next(d.glob("fp_function_*.py")).write_text("def score(arch):\n    return {'acc': -1.0}\n"),
     "function module"),
    ("table", lambda d: (d / "config.yaml").write_text((d / "config.yaml").read_text() + "seed: 5\n"), "config file"),
])  # fmt: skip
def test_resume_refuses_a_changed_input_unless_accepted(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    edit,
    what: str,  # type: ignore[no-untyped-def]
) -> None:
    _, run = setup_run(tmp_path, kind)
    edit(tmp_path)
    line = refused(run, capsys)
    assert f"the {what} " in line and "changed" in line and "new results would mix" in line
    capsys.readouterr()
    assert main(["resume", str(run), "--accept-changes"]) == 0
    assert f"the {what} " in capsys.readouterr().err
    assert main(["resume", str(run)]) == 0  # the accepted state is the new fingerprint


def test_resume_of_an_unchanged_run_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, run = setup_run(tmp_path, "function")
    capsys.readouterr()
    assert main(["resume", str(run)]) == 0
    assert "changed" not in capsys.readouterr().err


def test_a_deleted_config_file_is_not_a_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Resume runs the stored config; a config file that is gone changes nothing."""
    cfg, run = setup_run(tmp_path, "table")
    cfg.unlink()
    assert main(["resume", str(run)]) == 0


def test_a_changed_module_that_the_function_imports_is_a_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    helper = f"fp_helper_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{helper}.py").write_text("SCALE = 10\n")
    module = f"fp_user_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{module}.py").write_text(f"import {helper}\n\ndef score(arch):\n    return {{'acc': arch['x'] / {helper}.SCALE}}\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"name": "fp", "space": SPACE, "evaluator": {"function": f"{module}:score"},
                                   "objectives": {"acc": "maximize"}, "budget": {"trials": 8}}))  # fmt: skip
    run = tmp_path / "run"
    assert main(["search", str(cfg), "--run-dir", str(run), "--trials", "4"]) == 0
    (tmp_path / f"{helper}.py").write_text("SCALE = -1\n")
    line = refused(run, capsys)
    assert f"the module imported by {module}.py {tmp_path.resolve() / helper}.py changed" in line


def test_a_changed_image_folder_and_changed_package_versions_are_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import sqlite3

    from nasforge.run import fingerprint
    from nasforge.space import from_config

    folder = tmp_path / "imgs"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "0.png").write_bytes(b"one")

    class Reads:  # an evaluator that reads an image folder
        def __init__(self) -> None:
            self.data_config = {"images": str(folder)}

    space = from_config(SPACE)
    first = fingerprint(space, Reads(), None)
    assert [e["what"] for e in first] == ["image folder", "space", "package versions"]
    (folder / "a" / "1.png").write_bytes(b"two")  # one image more
    again = fingerprint(space, Reads(), None, stored=first)
    assert again[0] != first[0] and again[1:] == first[1:]

    _, run = setup_run(tmp_path, "function")
    con = sqlite3.connect(run / "study.db")
    (raw,) = con.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
    stored = json.loads(raw)
    versions = next(e for e in stored if e["what"] == "package versions")
    versions["versions"] = "nasforge 0.0.1, numpy 1.0"
    con.execute("UPDATE meta SET value = ? WHERE key = 'fingerprint'", (json.dumps(stored),))
    con.commit()
    con.close()
    line = refused(run, capsys)
    assert "the package versions changed (were nasforge 0.0.1, numpy 1.0)" in line
