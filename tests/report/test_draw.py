"""Architecture drawings: well-formed SVG, one labelled curve per live cell edge, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nasforge.report import architecture_svgs, cell_svg
from nasforge.space import Arch, Cell, Choice, Repeat, SearchSpace, builtin

NS = "{http://www.w3.org/2000/svg}"


def test_cell_is_a_dag_with_an_op_on_each_live_edge() -> None:
    space = builtin("nasbench201")
    arch = space.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|")
    (svg,) = architecture_svgs(space, arch)
    root = ET.fromstring(svg)
    paths = root.findall(f"{NS}path")  # the marker's path is inside <defs>
    assert len(paths) == 4  # 6 edges, 2 of them none
    texts = [t.text for t in root.iter(f"{NS}text")]
    for op in ("nor_conv_3x3", "skip_connect", "avg_pool_3x3", "nor_conv_1x1"):
        assert op in texts
    assert any("none (no edge): 0→2, 1→3" == t for t in texts)


def test_chain_draws_one_box_per_layer() -> None:
    space = builtin("cnn")
    arch = space.validate({
        "layers": 2, "units": 64, "dropout": 0.25,
        **{f"layers.{k}.{n}": v for k in range(2) for n, v in
           {"kernel": 3, "channels": 32, "pool": "max", "batchnorm": True, "activation": "relu"}.items()},
    })  # fmt: skip
    (svg,) = architecture_svgs(space, arch)
    root = ET.fromstring(svg)
    heads = [t.text for t in root.iter(f"{NS}text") if t.get("font-weight") == "bold"]
    assert heads == ["input", "layers 1/2", "layers 2/2", "choices", "output"]


def test_user_strings_are_escaped_in_svg() -> None:
    space = SearchSpace({"<b>": Choice(["<script>x</script>"]), "r": Repeat({"k": Choice([1])}, 1, 1)})
    arch = Arch({"<b>": "<script>x</script>", "r": 1, "r.0.k": 1})
    svg = architecture_svgs(space, arch)[0]
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ET.fromstring(svg)
    cell = Cell(nodes=3, ops=["none", "<op>"])
    ET.fromstring(cell_svg(cell, {(0, 1): "<op>", (0, 2): "none", (1, 2): "<op>"}, title="<t>"))
