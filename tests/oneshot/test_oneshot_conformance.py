"""The one-shot evaluator through the evaluator conformance suite (nasforge.testing.evaluators):
a fresh evaluator trains the same supernet, a rebuilt one from its config scores the same."""

from __future__ import annotations

from nasforge.evaluators._oneshot import OneShot
from nasforge.space import builtin
from nasforge.testing.evaluators import EvaluatorConformance


class TestOneShot(EvaluatorConformance):
    space = staticmethod(lambda: builtin("seed-cnn"))
    make = staticmethod(lambda: OneShot("digits", space="seed-cnn", supernet_epochs=1, calibration_batches=2,
                                        threads=1, measure_latency=False))  # fmt: skip
    count = 2
