"""Weight sharing in the supernets: two paths that use a layer run the same weights, so a
gradient step on one path changes what another computes; what cannot share is refused."""

from __future__ import annotations

import oneshot_nets
import pytest
import torch

from nasforge import ConfigError
from nasforge.models import Network, fit_space
from nasforge.models._supernet import MAX_STRUCTURES, build_supernet
from nasforge.nn import LayerChoice
from nasforge.space import builtin

CNN_A = {"layers": 1, "layers.0.kernel": 3, "layers.0.channels": 16, "layers.0.pool": "max",
         "layers.0.batchnorm": False, "layers.0.activation": "relu", "units": 64, "dropout": 0.0}  # fmt: skip
CNN_B = {"layers": 2, "layers.0.kernel": 5, "layers.0.channels": 32, "layers.0.pool": "none",
         "layers.0.batchnorm": False, "layers.0.activation": "gelu", "layers.1.kernel": 3, "layers.1.channels": 16,
         "layers.1.pool": "max", "layers.1.batchnorm": False, "layers.1.activation": "relu", "units": 64,
         "dropout": 0.0}  # fmt: skip


def _step(net: torch.nn.Module, path: dict, x: torch.Tensor) -> None:  # type: ignore[type-arg]
    """One SGD step of ``path`` on a made-up loss."""
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    net.set_path(path)  # type: ignore[operator]
    net.train()
    opt.zero_grad()
    net(x).square().mean().backward()
    opt.step()
    net.eval()


def _output(net: torch.nn.Module, path: dict, x: torch.Tensor) -> torch.Tensor:  # type: ignore[type-arg]
    net.set_path(path)  # type: ignore[operator]
    with torch.no_grad():
        return net(x).clone()


def test_chain_paths_share_the_sliced_layers() -> None:
    torch.manual_seed(0)
    net = build_supernet(Network("cnn", (1, 8, 8), 10), fit_space("cnn", (1, 8, 8))).eval()
    x = torch.randn(4, 1, 8, 8)
    before = _output(net, CNN_B, x)
    conv = net.convs[0]
    _step(net, CNN_A, x)
    # path A (16 filters, 3x3) trained the first 16 filters of the shared layer, at its centre
    assert conv.weight.grad is not None
    assert conv.weight.grad[:16, :, 1:4, 1:4].abs().sum() > 0
    assert conv.weight.grad[16:].abs().sum() == 0 and conv.weight.grad[:, :, 0].abs().sum() == 0
    assert not torch.allclose(before, _output(net, CNN_B, x))  # B runs those weights too


@pytest.mark.parametrize(("name", "shape", "path"), [
    ("mlp", (12,), {"layers": 2, "layers.0.units": 64, "layers.0.activation": "relu", "layers.1.units": 128,
                    "layers.1.activation": "gelu", "dropout": 0.0}),
    ("seed-cnn", (1, 8, 8), {"kernel": 3, "channels": 16, "units": 64}),
    ("cnn1d", (1, 20), {"layers": 1, "layers.0.kernel": 5, "layers.0.channels": 16, "layers.0.pool": "avg",
                        "layers.0.batchnorm": True, "layers.0.activation": "relu", "units": 0, "dropout": 0.0}),
])  # fmt: skip
def test_every_chain_space_has_a_supernet(name: str, shape: tuple[int, ...], path: dict) -> None:  # type: ignore[type-arg]
    torch.manual_seed(0)
    net = build_supernet(Network(name, shape, 3), fit_space(name, shape))
    x = torch.randn(4, *shape)
    out = _output(net, path, x)
    assert out.shape == (4, 3)
    _step(net, path, x)
    assert not torch.allclose(out, _output(net, path, x))


def test_nb201_cells_share_stem_and_each_operation() -> None:
    torch.manual_seed(0)
    net = build_supernet(Network("nasbench201", (3, 8, 8), 4, options={"C": 4, "N": 1}), builtin("nasbench201"))
    a = {f"cell.{i}-{j}": "nor_conv_3x3" if (i, j) == (0, 1) else "skip_connect" for j in range(1, 4) for i in range(j)}
    b = {**a, "cell.1-2": "nor_conv_1x1", "cell.0-3": "avg_pool_3x3"}
    x = torch.randn(2, 3, 8, 8)
    before = _output(net, b, x)
    _step(net, a, x)
    edge = net.cells[0].edges["0-1"]
    assert edge["nor_conv_3x3"][1].weight.grad is not None  # A's operation on edge 0-1 was trained ...
    assert edge["nor_conv_1x1"][1].weight.grad is None  # ... not the others of that edge
    assert net.cells[0].edges["1-2"]["nor_conv_1x1"][1].weight.grad is None
    assert not torch.allclose(before, _output(net, b, x))  # B uses the same conv on edge 0-1


def test_user_layer_choice_holds_each_candidate_once() -> None:
    torch.manual_seed(0)
    model = oneshot_nets.cell_net
    space = model.space((1, 8, 8), 3)
    net = build_supernet(Network(None, (1, 8, 8), 3, model_fn=model), space)
    assert len(net.builds) == 1  # only layer and input choices: one network, everything shared
    choice = next(m for m in net.modules() if isinstance(m, LayerChoice))
    conv_path, wide_path = {"op": "conv", "skip": 1}, {"op": "wide", "skip": 1}
    net.set_path(conv_path)
    first = choice.chosen()
    net.set_path({"op": "conv", "skip": 0})
    assert choice.chosen() is first  # two paths picking "conv" run the same module
    x = torch.randn(2, 1, 8, 8)
    before = _output(net, wide_path, x)
    _step(net, conv_path, x)
    stem = net.builds["n0"].stem[0]
    assert stem.weight.grad is not None and choice.candidates["c1"].weight.grad is None
    assert not torch.allclose(before, _output(net, wide_path, x))  # the shared stem moved


def test_user_value_choice_gets_one_network_per_value() -> None:
    torch.manual_seed(0)
    model = oneshot_nets.width_net
    net = build_supernet(Network(None, (4,), 2, model_fn=model), model.space((4,), 2))
    assert len(net.builds) == 2
    x = torch.randn(3, 4)
    relu8, tanh8, relu16 = ({"width": w, "act": a} for w, a in ((8, "relu"), (8, "tanh"), (16, "relu")))
    before8, before16 = _output(net, tanh8, x), _output(net, relu16, x)
    _step(net, relu8, x)
    assert not torch.allclose(before8, _output(net, tanh8, x))  # same width: shared first layer
    assert torch.allclose(before16, _output(net, relu16, x))  # another width: its own copy


def test_what_cannot_share_is_refused() -> None:
    model = oneshot_nets.too_many
    with pytest.raises(ConfigError, match=f"36 separate networks \\(more than {MAX_STRUCTURES}\\)"):
        build_supernet(Network(None, (4,), 2, model_fn=model), model.space((4,), 2))
    from nasforge.space import Choice, SearchSpace

    with pytest.raises(ConfigError, match="plain build"):
        build_supernet(Network(None, (4,), 2, model_fn=oneshot_nets.plain), SearchSpace({"units": Choice([4, 8])}))
