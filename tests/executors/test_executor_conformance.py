"""Every executor through the same checks (nasforge.testing.executors); Ray, whose start-up
costs seconds, has its own tests in test_ray.py."""

from __future__ import annotations

import pytest

from nasforge.executors import InlineExecutor, LocalExecutor
from nasforge.testing.executors import ExecutorConformance


class TestInline(ExecutorConformance):
    make = staticmethod(lambda: InlineExecutor())


class TestInlineImitatingFourWorkers(ExecutorConformance):
    make = staticmethod(lambda: InlineExecutor(workers=4))


@pytest.mark.slow
class TestTwoLocalWorkers(ExecutorConformance):
    make = staticmethod(lambda: LocalExecutor(workers=2))
