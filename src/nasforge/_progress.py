"""The progress line a search shows on stderr, from Python and the CLI alike."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

from ._trial import Trial, TrialState

if TYPE_CHECKING:
    from .study import Study


class Progress:
    """A progress bar on stderr: one redrawn line on a terminal, a line per 10% otherwise.

    It counts the trials it is shown (after those already stored), so each update is O(1).
    With a time budget (``seconds``; ``elapsed`` of it spent by earlier runs) and no trial
    budget, the bar follows time (``12/30 s``).
    """

    def __init__(self, study: Study, total: int | None, stream: TextIO | None = None, *,
                 seconds: float | None = None, elapsed: float = 0.0) -> None:  # fmt: skip
        stream = sys.stderr if stream is None else stream
        trials = study.trials
        self.total, self.stream, self.objectives = total, stream, study.objectives
        self.metric = study.objectives.primary.metric
        self.done = sum(1 for t in trials if t.counts_toward_budget)
        self.failed = sum(1 for t in trials if t.state is TrialState.FAILED and not t.interrupted)
        self.closed = False
        self.best = study.best
        self.start_done = self.done
        self.t0 = time.monotonic()
        self.tty = stream.isatty()
        self._last_step = -1
        self.seconds, self.elapsed = seconds, elapsed

    def __call__(self, study: Study, trial: Trial) -> None:
        self.done += 1
        self.failed += trial.state is TrialState.FAILED
        # The same rule as study.best (largest budget first, feasible trials only), one trial at a time.
        self.best = self.objectives.best(t for t in (self.best, trial) if t is not None)
        best_text = f"best {self.metric}={self.best.metrics[self.metric]:.4g}" if self.best else "no result yet"
        spent = time.monotonic() - self.t0
        rate = (self.done - self.start_done) / max(spent, 1e-9)
        by_time = not self.total and self.seconds is not None
        if self.total:
            filled = int(24 * min(self.done, self.total) / self.total)
            bar = "[" + "#" * filled + "-" * (24 - filled) + f"] {self.done}/{self.total}"
        elif self.seconds is not None:
            used = min(self.elapsed + spent, self.seconds)
            filled = int(24 * used / self.seconds)
            bar = "[" + "#" * filled + "-" * (24 - filled) + f"] {used:.0f}/{self.seconds:g} s  {self.done} trials"
        else:
            bar = f"{self.done} trials"
        line = f"{bar}  {best_text}  {self.failed} failed  {rate:.1f} trials/s"
        if self.tty:
            self.stream.write("\r" + line + " " * 4)
            self.stream.flush()
        else:
            if by_time and self.seconds:
                step = int(10 * (self.elapsed + spent) / self.seconds)
            else:
                step = int(10 * self.done / self.total) if self.total else self.done // 10
            if step != self._last_step:
                self._last_step = step
                self.stream.write(line + "\n")

    def close(self) -> None:
        """End the redrawn line (once)."""
        if self.tty and not self.closed:
            self.stream.write("\n")
        self.closed = True
