"""Model builders: every built-in space builds for the data it fits; input-shape constraints;
parameter, FLOP and summary counts."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from nasforge import ConfigError
from nasforge.models import build_model, count_params, fit_space, input_constraints, profile, summary
from nasforge.space import Arch, builtin

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("space_name", "shape"),
    [("seed-cnn", (1, 8, 8)), ("seed-cnn", (28, 28)), ("cnn", (1, 8, 8)), ("cnn", (3, 12, 12)), ("cnn1d", (1, 40)),
     ("cnn1d", (40,)), ("mlp", (1, 8, 8)), ("mlp", (5,)), ("nasbench201", (1, 8, 8))],
)  # fmt: skip
def test_every_sampled_architecture_builds_and_runs(space_name: str, shape: tuple[int, ...]) -> None:
    space = fit_space(space_name, shape)
    rng = np.random.default_rng(0)
    for _ in range(8):
        arch = space.sample(rng)
        model = build_model(space, arch, shape, num_classes=7)
        assert model(torch.randn(3, *shape)).shape == (3, 7)


def test_constraints_refuse_exactly_the_architectures_that_cannot_be_built() -> None:
    shape = (1, 8, 8)
    space = builtin("cnn")
    fitted = space.with_constraints(input_constraints(space, shape))
    rng = np.random.default_rng(1)
    refused = 0
    for _ in range(150):
        arch = space.sample(rng)
        fits = fitted.satisfies(arch)
        refused += not fits
        try:
            size = 8
            for k in range(arch["layers"]):
                assert arch[f"layers.{k}.kernel"] <= size
                if arch[f"layers.{k}.pool"] != "none":
                    assert size >= 2
                    size //= 2
            buildable = True
        except AssertionError:
            buildable = False
        assert fits == buildable, arch
        if fits:
            build_model(space, arch, shape, 10)(torch.zeros(2, *shape))
    assert refused > 10  # the digits input really narrows the cnn space


def test_seed_cnn_kernel_must_fit_the_input() -> None:
    space = fit_space("seed-cnn", (1, 4, 4))
    assert sorted({a["kernel"] for a in space.enumerate()}) == [1, 3]
    assert space.cardinality == 18


@pytest.mark.parametrize(
    ("space_name", "shape"), [("cnn", (40,)), ("seed-cnn", (40,)), ("nasbench201", (1, 2, 2)), ("cnn1d", (1, 2))]
)
def test_a_space_of_which_nothing_fits_is_one_line_error(space_name: str, shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError) as err:
        fit_space(space_name, shape)
    assert err.value.field == "space" and "\n" not in str(err.value) and str(shape) in str(err.value)


def test_unknown_space_has_no_builder() -> None:
    with pytest.raises(ConfigError, match="no model builder for space 'custom'"):
        build_model("custom", {"a": 1}, (3,), 2)


def test_summary_total_equals_the_parameter_count() -> None:
    rng = np.random.default_rng(2)
    for name, shape in [("cnn", (1, 8, 8)), ("nasbench201", (3, 8, 8)), ("mlp", (10,)), ("cnn1d", (2, 30))]:
        space = fit_space(name, shape)
        model = build_model(space, space.sample(rng), shape, 4)
        text = summary(model, shape)
        total = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))  # type: ignore[union-attr]
        rows = sum(
            int(line.split()[-1].replace(",", ""))
            for line in text.splitlines()
            if "(" in line and line.split()[-1].replace(",", "").isdigit()
        )
        assert total == sum(p.numel() for p in model.parameters()) == rows


def test_flops_and_params_of_an_mlp_follow_the_formula() -> None:
    arch = {"layers": 2, "layers.0.units": 64, "layers.1.units": 32, "dropout": 0.0}
    model = build_model("mlp", arch, (20,), 5)
    p = profile(model, (20,))
    assert p.params == count_params(model) == (20 * 64 + 64) + (64 * 32 + 32) + (32 * 5 + 5)
    assert p.flops == 2 * (20 * 64 + 64 * 32 + 32 * 5)
    assert p.latency_ms > 0


def test_nasbench201_network_matches_the_published_parameter_range() -> None:
    # NAS-Bench-201 (C=16, N=5, CIFAR-10) reports 0.073 MB to 1.532 MB of parameters: the cell
    # of no convolutions and the cell of six 3x3 convolutions.
    space = builtin("nasbench201")
    big = build_model(space, {n: "nor_conv_3x3" for n in space.names}, (3, 32, 32), 10, C=16, N=5)
    small = build_model(space, {n: "skip_connect" for n in space.names}, (3, 32, 32), 10, C=16, N=5)
    assert count_params(big) == 1_531_546 and count_params(small) == 73_306


def test_nasbench201_none_edges_carry_nothing() -> None:
    space = builtin("nasbench201")
    arch = Arch({n: "none" for n in space.names})
    model = build_model(space, arch, (1, 8, 8), 3).eval()
    # Every cell outputs zeros, so the logits do not depend on the input.
    out = model(torch.randn(4, 1, 8, 8))
    assert torch.allclose(out, out[:1].expand(4, -1))
