"""A model space written as the network (issue 10): every construct (value choice, int/float,
layer choice, input choice, repeat, conditional parts and chains of them), the derived space,
building candidates, options and hyperparameters as decisions, the Trainer and YAML."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import nasforge.nn as nf
from nasforge import ConfigError, SpaceError, search
from nasforge.space import Arch, Choice, Conditional, FloatRange, IntRange, Repeat, SearchSpace

torch.set_num_threads(1)
SHAPE, CLASSES = (1, 8, 8), 10


def form(item: object) -> object:
    """A comparable form of a space item (domains have no ``==``)."""
    if isinstance(item, Conditional):
        return ("when", item.domain.to_config(), item.parent, item.values)
    if isinstance(item, dict):
        return {k: form(v) for k, v in item.items()}
    return item.to_config()  # type: ignore[attr-defined]


def build(net: nf.ModelSpace, arch: dict[str, object]) -> nn.Module:
    model = net(arch, SHAPE, CLASSES)
    from nasforge.models import materialize

    return materialize(model, SHAPE)


def test_value_choices_int_float_and_a_layer_choice() -> None:
    @nf.model_space
    def net(c: nf.Choices) -> nn.Module:
        ch = c.choice("channels", [4, 8])
        k = c.choice("kernel", [3, 5])
        hidden = c.int("hidden", 8, 32, step=8)
        p = c.float("p", 0.0, 0.5)
        pool = c.layer("pool", {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2), "none": nn.Identity()})
        return nn.Sequential(nn.Conv2d(1, ch, k, padding="same"), pool, nn.Flatten(), nn.LazyLinear(hidden),
                             nn.Dropout(p), nn.LazyLinear(c.num_classes))  # fmt: skip

    space = net.space(SHAPE, CLASSES)
    assert space.names == ["channels", "kernel", "hidden", "p", "pool"] and space.name == "net"
    assert space.decision("pool").domain.values() == ["max", "avg", "none"]
    assert isinstance(space.decision("hidden").domain, IntRange) and isinstance(space.decision("p").domain, FloatRange)
    arch = {"channels": 8, "kernel": 5, "hidden": 16, "p": 0.25, "pool": "avg"}
    model = build(net, arch)
    assert isinstance(model[1], nn.AvgPool2d) and model[0].kernel_size == (5, 5) and model[4].p == 0.25
    assert model[3].weight.shape == (16, 8 * 4 * 4) and model(torch.zeros(2, *SHAPE)).shape == (2, 10)


def test_a_layer_choice_of_factories_builds_only_the_chosen_one() -> None:
    made: list[str] = []

    def maker(name: str) -> object:
        def make() -> nn.Module:
            made.append(name)
            return nn.ReLU()

        return make

    @nf.model_space
    def net(c: nf.Choices) -> nn.Module:
        return nn.Sequential(nn.Flatten(), c.layer("act", [maker("a"), maker("b")]), nn.LazyLinear(c.num_classes))

    assert net.space(SHAPE, CLASSES).decision("act").domain.values() == [0, 1]
    made.clear()
    build(net, {"act": 1})
    assert made == ["b"]


def test_depth_via_a_repeat_with_per_layer_choices() -> None:
    @nf.model_space
    def net(c: nf.Choices) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in c.repeat("blocks", 1, 3):
            layers += [nn.LazyLinear(c.choice("units", [8, 16])), c.layer("act", {"relu": nn.ReLU, "gelu": nn.GELU})]
        return nn.Sequential(*layers, nn.LazyLinear(c.num_classes))

    space = net.space(SHAPE, CLASSES)
    assert isinstance(space.spec["blocks"], Repeat) and (space.spec["blocks"].min, space.spec["blocks"].max) == (1, 3)
    assert set(space.spec["blocks"].block) == {"units", "act"}
    assert space.cardinality == 4 + 16 + 64
    model = build(
        net, {"blocks": 2, "blocks.0.units": 8, "blocks.0.act": "gelu", "blocks.1.units": 16, "blocks.1.act": "relu"}
    )
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [8, 16, 10] and isinstance(model[2], nn.GELU)
    assert all(space.validate(a) for a in space.enumerate())  # every candidate of the space builds:
    for a in list(space.enumerate())[::9]:
        assert build(net, dict(a))(torch.zeros(1, *SHAPE)).shape == (1, 10)


def test_a_repeat_with_nothing_chosen_inside_is_a_plain_depth() -> None:
    @nf.model_space
    def net(c: nf.Choices) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten(), nn.LazyLinear(8)]
        for _ in c.repeat("extra", 0, 2):
            layers += [nn.ReLU(), nn.Linear(8, 8)]
        return nn.Sequential(*layers, nn.LazyLinear(c.num_classes))

    space = net.space(SHAPE, CLASSES)
    assert form(space.spec["extra"]) == form(IntRange(0, 2))
    assert len([m for m in build(net, {"extra": 2}) if isinstance(m, nn.Linear)]) == 4


def test_conditional_parts_and_a_chain_of_them() -> None:
    @nf.model_space
    def net(c: nf.Choices) -> nn.Module:
        layers: list[nn.Module] = [nn.Conv2d(1, 4, 3, padding=1)]
        if c.choice("norm", [False, True]):
            kind = c.choice("norm_kind", ["batch", "group"])
            if kind == "group":
                layers.append(nn.GroupNorm(c.choice("groups", [1, 2]), 4))
            else:
                layers.append(nn.BatchNorm2d(4, momentum=c.choice("momentum", [0.1, 0.01])))
        return nn.Sequential(*layers, nn.Flatten(), nn.LazyLinear(c.num_classes))

    space = net.space(SHAPE, CLASSES)
    assert space.names[:2] == ["norm", "norm_kind"] and set(space.names[2:]) == {"momentum", "groups"}
    assert form(space.spec["norm_kind"]) == form(Conditional(Choice(["batch", "group"]), "norm", (True,)))
    assert form(space.spec["momentum"]) == form(Conditional(Choice([0.1, 0.01]), "norm_kind", ("batch",)))
    assert form(space.spec["groups"]) == form(Conditional(Choice([1, 2]), "norm_kind", ("group",)))
    assert space.cardinality == 1 + 2 + 2
    for arch in space.enumerate():
        model = build(net, dict(arch))
        assert model(torch.zeros(2, *SHAPE)).shape == (2, 10)
    assert isinstance(build(net, {"norm": True, "norm_kind": "group", "groups": 2})[1], nn.GroupNorm)


def test_a_conditional_part_inside_a_repeated_layer() -> None:
    @nf.model_space
    def net(c: nf.Choices) -> nn.Module:
        layers: list[nn.Module] = [nn.Flatten()]
        for _ in c.repeat("layers", 1, 2):
            layers.append(nn.LazyLinear(16))
            if c.choice("dropout", [False, True]):
                layers.append(nn.Dropout(c.choice("rate", [0.1, 0.5])))
        return nn.Sequential(*layers, nn.LazyLinear(c.num_classes))

    block = net.space(SHAPE, CLASSES).spec["layers"].block  # type: ignore[union-attr]
    assert form(block) == form(
        {"dropout": Choice([False, True]), "rate": Conditional(Choice([0.1, 0.5]), "dropout", (True,))}
    )
    model = build(net, {"layers": 2, "layers.0.dropout": True, "layers.0.rate": 0.5, "layers.1.dropout": False})
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5]


def test_an_input_choice_picks_which_tensor_a_connection_reads() -> None:
    class Skip(nn.Module):
        def __init__(self, c: nf.Choices) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 4, 3, padding=1)
            self.pick = c.input_choice("skip", 2)
            self.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(c.num_classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.a(x)
            return self.head(self.pick([h, self.b(h)]))

    net = nf.model_space(Skip)  # an nn.Module class is a network function too
    assert net.space(SHAPE, CLASSES).decision("skip").domain.values() == [0, 1]
    model = build(net, {"skip": 0})
    assert model.pick.index == 0 and model(torch.zeros(1, *SHAPE)).shape == (1, 10)


def test_options_extra_decisions_and_the_plain_form_with_a_declared_space() -> None:
    @nf.model_space(extra={"width": Choice([8, 32]), "lr": Choice([1e-3, 1e-2])})
    def net(c: nf.Choices, *, width: int = 4) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), nn.ReLU(), nn.LazyLinear(c.num_classes))

    space = net.space(SHAPE, CLASSES)
    assert space.names == ["width", "lr"] and net.options == {"width": 4}
    assert build(net, {"width": 32, "lr": 1e-2})[1].out_features == 32  # the decision overrides the option
    assert net.reads("width") and not net.reads("lr")  # lr is the trainer's

    declared = SearchSpace({"units": Choice([8, 16])}, name="plain")
    plain = nf.model_space(lambda arch, shape, n: nn.Sequential(nn.Flatten(), nn.LazyLinear(arch["units"])),
                           space=declared)  # fmt: skip
    assert plain.space(SHAPE, CLASSES) is declared and build(plain, {"units": 16})[1].out_features == 16


def test_what_cannot_be_expressed_is_refused_naming_the_decision() -> None:
    @nf.model_space
    def nested(c: nf.Choices) -> nn.Module:
        for _ in c.repeat("a", 1, 2):
            for _ in c.repeat("b", 1, 2):
                c.choice("x", [1, 2])
        return nn.Identity()

    with pytest.raises(SpaceError, match="repeat inside a repeat"):
        nested.space(SHAPE, CLASSES)

    @nf.model_space
    def clash(c: nf.Choices) -> nn.Module:
        c.choice("k", [1, 2])
        c.choice("k", [1, 3])
        return nn.Identity()

    with pytest.raises(SpaceError, match=r"nn\.k: is asked twice with different values"):
        clash.space(SHAPE, CLASSES)

    @nf.model_space
    def broken(c: nf.Choices) -> nn.Module:
        if c.choice("big", [False, True]):
            raise ValueError("too big")
        return nn.Identity()

    with pytest.raises(SpaceError, match=r"nn\.big: running the network with big=True failed: ValueError: too big"):
        broken.space(SHAPE, CLASSES)


# -- with the trainer -----------------------------------------------------------------------------


@nf.model_space(extra={"lr": Choice([1e-7, 1e-2])})
def lazy_net(c: nf.Choices) -> nn.Module:
    ch = c.choice("channels", [4, 8])
    return nn.Sequential(
        nn.Conv2d(1, ch, 3, padding=1), c.layer("act", {"relu": nn.ReLU, "tanh": nn.Tanh}), nn.Flatten(),
        nn.LazyLinear(16), nn.ReLU(), nn.LazyLinear(c.num_classes),
    )  # fmt: skip


def test_the_trainer_derives_the_space_trains_every_candidate_and_reads_lr(tmp_path: Path) -> None:
    from nasforge.evaluators import Trainer

    t = Trainer("digits", model_fn=lazy_net, epochs=1, threads=1, measure_latency=True)
    assert t.space is not None and t.space.names == ["channels", "act", "lr"]
    study = search(t.space, t, strategy="grid", objectives={"accuracy": "maximize"}, trials=8,
                   run_dir=tmp_path / "run", progress=False)  # fmt: skip
    done = [tr for tr in study.trials if tr.state.name == "COMPLETE"]
    assert len(done) == 8
    by_lr = {
        tr.arch["lr"]: tr.metrics["accuracy"] for tr in done if tr.arch["channels"] == 4 and tr.arch["act"] == "relu"
    }
    assert by_lr[1e-2] > by_lr[1e-7] + 0.3  # same network, only lr differs
    record = json.loads((tmp_path / "run" / "best" / "arch.json").read_text())
    assert record["space"] == "lazy_net" and record["builder"].endswith("test_model_space:lazy_net")


def test_a_decision_the_network_does_not_read_is_refused() -> None:
    from nasforge.evaluators import Trainer

    t = Trainer("digits", model_fn=lazy_net, epochs=1, threads=1, measure_latency=False)
    assert t.space is not None
    more = SearchSpace({**t.space.spec, "warmup": Choice([0, 1])}, name="lazy_net")
    with pytest.raises(ConfigError, match=r"space\.warmup: no part reads this decision"):
        t.constraints(more)


def test_yaml_names_the_model_and_the_space_comes_from_it(tmp_path: Path) -> None:
    from nasforge.config import RunConfig

    (tmp_path / "yaml_net_a.py").write_text(textwrap.dedent('''
        from torch import nn
        import nasforge.nn as nf

        @nf.model_space
        def net(c):
            return nn.Sequential(nn.Flatten(), nn.LazyLinear(c.choice("units", [8, 16])), nn.ReLU(),
                                 nn.LazyLinear(c.num_classes))

        def plain(arch, input_shape, num_classes):
            return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))
    '''))  # fmt: skip
    cfg = RunConfig.parse({"evaluator": {"dataset": "digits", "model": "yaml_net_a:net", "epochs": 1}}, tmp_path)
    assert cfg.space.names == ["units"] and cfg.space.name == "net"
    assert cfg.raw["space"]["decisions"] == {"units": {"choice": [8, 16]}}  # stored with the run, for status/report
    assert cfg.evaluator.to_config()["model"] == "yaml_net_a:net"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"^space: is required: the model 'yaml_net_a:plain' declares no space"):
        RunConfig.parse({"evaluator": {"dataset": "digits", "model": "yaml_net_a:plain"}}, tmp_path)
    with_space = RunConfig.parse({"space": {"decisions": {"units": {"choice": [4]}}},
                                  "evaluator": {"dataset": "digits", "model": "yaml_net_a:plain"}}, tmp_path)  # fmt: skip
    assert with_space.space.names == ["units"]
    with pytest.raises(ConfigError, match=r"^evaluator\.model: cannot import module 'nowhere'"):
        RunConfig.parse({"evaluator": {"dataset": "digits", "model": "nowhere:net"}}, tmp_path)
    assert np.isfinite(cfg.evaluator.evaluate(Arch({"units": 8})).metrics["accuracy"])


def test_a_model_space_pickles_by_name_for_worker_processes() -> None:
    import pickle

    from nasforge.evaluators import Trainer

    assert pickle.loads(pickle.dumps(lazy_net)) is lazy_net
    import own_nets  # a top-level function wrapped without being a module attribute: pickled by state

    wrapped = nf.ModelSpace(own_nets.plain, space=SearchSpace({"units": Choice([4])}, name="plain"))
    assert pickle.loads(pickle.dumps(wrapped)).space(SHAPE, CLASSES).names == ["units"]
    t = Trainer("digits", model_fn=lazy_net, epochs=1, threads=1, measure_latency=False)
    again = pickle.loads(pickle.dumps(t))
    assert again.model_fn is lazy_net and again.space.names == t.space.names  # type: ignore[union-attr]


def test_zero_cost_scores_a_model_named_in_yaml_with_its_own_space(tmp_path: Path) -> None:
    from nasforge.config import RunConfig

    (tmp_path / "yaml_net_zc.py").write_text(textwrap.dedent('''
        from torch import nn
        import nasforge.nn as nf

        @nf.model_space
        def net(c):
            return nn.Sequential(nn.Flatten(), nn.LazyLinear(c.choice("units", [8, 64])), nn.ReLU(),
                                 nn.LazyLinear(c.num_classes))

        def plain(arch, input_shape, num_classes):
            return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))
    '''))  # fmt: skip
    spec = {"dataset": "digits", "proxy": ["synflow", "params"], "model": "yaml_net_zc:net"}
    cfg = RunConfig.parse({"evaluator": spec}, tmp_path)
    assert cfg.space.names == ["units"] and cfg.raw["space"]["decisions"] == {"units": {"choice": [8, 64]}}
    assert cfg.evaluator.to_config()["model"] == "yaml_net_zc:net"  # type: ignore[attr-defined]
    small, big = (cfg.evaluator.evaluate(Arch({"units": u})).metrics for u in (8, 64))
    assert big["params"] > small["params"]  # the user's network was built for each architecture
    with pytest.raises(ConfigError, match=r"^space: is required"):
        RunConfig.parse({"evaluator": {**spec, "model": "yaml_net_zc:plain"}}, tmp_path)
