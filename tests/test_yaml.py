"""The strict YAML loader: duplicate keys, alias bombs and bad YAML are refused in one line
naming the file (and the line); good YAML and JSON read as ``yaml.safe_load`` reads them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from nasforge import ConfigError
from nasforge._yaml import MAX_NODES, load_config_file, load_yaml
from nasforge.config import read_config_file

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
)


def refused(text: str, tmp_path: Path) -> str:
    path = tmp_path / "run.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("config: ") and "run.yaml" in message
    return message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("budget: 10\nspace: seed-cnn\nbudget: 20\n", r"run.yaml: key 'budget' is given twice \(line 1 and line 3\)"),
        ("evaluator:\n  table: t.csv\n  key: a\n  key: b\n", r"key 'key' is given twice \(line 3 and line 4\)"),
        ('{"seed": 1, "seed": 2}', r"key 'seed' is given twice \(line 1, column 2 and column 13\)"),
        (BOMB, f"expands to more than {MAX_NODES:,} values once its aliases"),
        ("a: &a [*a]\n", "alias that refers to itself"),
        ("a: " + "[" * 300 + "]" * 300 + "\n", "nests lists and mappings deeper than 200 levels"),
        # PyYAML's whole explanation, with line and column, on one line
        ("a: [1, 2\nb: 3\n", r"expected ',' or '\]', but got ':' at line 2, column 2; while parsing a flow sequence at line 1, column 4"),
        ("a: b: c\n", "mapping values are not allowed here at line 1, column 5"),
        ("a:\n\t- 1\n", r"found character '\\t' that cannot start any token at line 2, column 1"),
        ("a: 1\n\x00\n", r"unacceptable character #x0000 \(special characters are not allowed\) at line 2, column 1"),
        ("a: *nowhere\n", "found undefined alias 'nowhere' at line 1, column 4"),
        ("a: 1\n---\nb: 2\n", "but found another document at line 2, column 1"),
        ("? [1, 2]\n: x\n", "found unhashable key at line 1, column 3"),
        ("a: !!python/object/apply:os.system [ls]\n", "could not determine a constructor for the tag"),
        ("- 1\n- 2\n", "must hold a mapping of settings, got list"),
        ("", "must hold a mapping of settings, got NoneType"),
    ],
)
def test_bad_yaml_is_refused_in_one_line(text: str, expected: str, tmp_path: Path) -> None:
    assert re.search(expected, refused(text, tmp_path))


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path)  # a directory
    bad = tmp_path / "run.yaml"
    bad.write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"run.yaml is not valid YAML: not UTF-8 text"):
        load_config_file(bad)


def test_good_yaml_reads_as_safe_load_does(tmp_path: Path) -> None:
    text = """
name: demo
seed: 3
space:
  decisions:
    kernel: {choice: [1, 3, 5]}
    lr: {float: [1.0e-4, 0.1], log: true}
defaults: &d {epochs: 2, batch: 32}
evaluator:
  <<: *d
  epochs: 5
objectives: {accuracy: maximize}
flags: [yes, no, .nan, .inf, ~]
"""
    path = tmp_path / "run.yaml"
    path.write_text(text)
    assert load_config_file(path) == read_config_file(path)
    got, want = load_config_file(path), yaml.safe_load(text)
    assert json.dumps(got, default=str) == json.dumps(want, default=str)
    assert got["evaluator"] == {"epochs": 5, "batch": 32}  # a merge key is not a duplicate
    # a legitimate use of aliases stays well under the cap
    shared = "base: &b [" + ", ".join(str(i) for i in range(100)) + "]\n" + "".join(f"k{i}: *b\n" for i in range(50))
    assert len(load_yaml(shared)) == 51
    (tmp_path / "run.json").write_text(json.dumps({"a": [1, {"b": None}]}))
    assert load_config_file(tmp_path / "run.json") == {"a": [1, {"b": None}]}


def test_mutated_yaml_is_read_or_refused_in_one_line() -> None:
    """400 random edits (a character dropped, doubled or replaced by YAML punctuation) of a
    real config: each is read, or refused as one ConfigError line; nothing else escapes."""
    import random

    text = (Path(__file__).resolve().parents[1] / "examples" / "toy.yaml").read_text()
    text += "defaults: &d {a: [1, 2, {b: c}]}\nuse: {<<: *d, a: 3}\nlist: [*d, *d]\n"
    rng = random.Random(0)
    punctuation = list(":-[]{}&*!|>'\"%@`#,?\t\n ") + ["\x00", "\u2028", "---", "<<"]
    for _ in range(400):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.3:
                del chars[i]
            elif op < 0.5:
                chars.insert(i, chars[i])
            else:
                chars[i] = rng.choice(punctuation)
        try:
            load_yaml("".join(chars), "run.yaml")
        except ConfigError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("config: run.yaml")
