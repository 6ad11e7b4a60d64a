"""Distributed for real: a Ray head and a second Ray node started as separate processes on this
machine (`ray start --head`, `ray start --address`), and `nasforge search` joining them with
`executor: {name: ray, address: ...}`. Killing the second node (its raylet, `kill -9`) while
trials run fails only the trials running there; each is run again once on the head, and the
search finishes its budget.

Addresses: the test gives Ray only 127.0.0.1. Ray 2.x advertises the machine's own interface
address instead (it resolves loopback on purpose), which Linux routes over the loopback
device; nothing leaves the machine. The cluster uses a token of its own (``RAY_AUTH_TOKEN``),
and every process it started is found by a marker in its environment and ended by its pid
(not `ray stop --force`, which would stop every Ray on the machine, other tests' too).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from proc_helpers import config

from nasforge import SQLiteStorage, TrialState

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")]

RAY = Path(sys.executable).with_name("ray")
BUDGET = 14
SOURCE = """
import os
import time
from pathlib import Path

RUNNING = Path(__file__).resolve().parent / "running"


def steady(arch):
    mark = RUNNING / str(os.getpid())  # the test kills the second node while one of its trials runs
    mark.touch()
    try:
        time.sleep(0.8)
    finally:
        mark.unlink(missing_ok=True)
    return {"score": -abs(arch["x"] - 37)}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def marked(marker: str) -> list[int]:
    """Pids of the live processes whose environment holds ``marker`` (those this test started)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{entry}/environ").read_bytes():
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of ``pid``, or ``None`` when it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else (int(fields[1]), fields[19])


def tree(roots: set[int]) -> dict[int, str]:
    """``roots`` and all their descendants, each with its start time (so a reused pid is not mistaken)."""
    parents: dict[int, int] = {}
    started: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := stat(int(entry))) is not None:
            parents[int(entry)], started[int(entry)] = info
    found = {p for p in roots if p in started}
    while True:
        more = {p for p, parent in parents.items() if parent in found and p not in found}
        if not more:
            return {p: started[p] for p in found}
        found |= more


def end(pids: dict[int, str], sig: int) -> None:
    for pid, started in pids.items():
        info = stat(pid)
        if info is not None and info[1] == started:
            try:
                os.kill(pid, sig)
            except OSError:
                pass


class Cluster:
    def __init__(self, root: Path) -> None:
        self.marker = f"NASFORGE_RAY_TEST={secrets.token_hex(8)}"
        self.temp = Path(f"/tmp/nfr_{secrets.token_hex(4)}")  # short: Ray's socket paths have a length limit
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        name, value = self.marker.split("=")
        self.env = {**os.environ, name: value, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                    "RAY_AUTH_TOKEN": secrets.token_hex(32)}  # fmt: skip
        self.root = root
        self.known: dict[int, str] = {}
        """Every process of the cluster seen so far (Ray's agents rewrite their environment, so
        they are found as children of the marked ones, and remembered when their node dies)."""

    def scan(self) -> dict[int, str]:
        self.known = {p: t for p, t in self.known.items() if (i := stat(p)) is not None and i[1] == t}
        self.known.update(tree(set(marked(self.marker)) | set(self.known)))
        return self.known

    def ray(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RAY), *args], check=False, env=self.env, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        head = self.ray("start", "--head", f"--port={self.port}", "--num-cpus=1", "--include-dashboard=false",
                        "--disable-usage-stats", f"--temp-dir={self.temp}")  # fmt: skip
        if head.returncode != 0:
            pytest.skip(f"a Ray head cannot start here: {(head.stderr or head.stdout).strip().splitlines()[-1:]}")
        node = self.ray("start", f"--address={self.address}", "--num-cpus=1", '--resources={"nf_second": 1}',
                        "--disable-usage-stats")  # fmt: skip
        if node.returncode != 0:
            pytest.skip(f"a second Ray node cannot join here: {(node.stderr or node.stdout).strip().splitlines()[-1:]}")
        self.scan()

    def second_raylet(self) -> int:
        for pid in marked(self.marker):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"raylet/raylet" in cmdline and b"nf_second" in cmdline:
                return pid
        raise AssertionError("the second node's raylet is not running")

    def stop(self) -> None:
        end(self.scan(), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self.scan() and time.monotonic() < deadline:
            time.sleep(0.2)
        end(self.scan(), signal.SIGKILL)
        time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if not RAY.exists():
        pytest.skip(f"no `ray` command beside {sys.executable}")
    c = Cluster(tmp_path)
    try:
        c.start()
        yield c
    finally:
        c.stop()
    assert not c.scan(), "processes of the test's Ray cluster outlived it"


def complete(db: Path) -> int:
    if not db.exists():
        return 0
    storage = SQLiteStorage(db)
    try:
        return sum(t.state is TrialState.COMPLETE for t in storage.trials())
    finally:
        storage.close()


def test_killing_the_second_node_reruns_its_trials_once_and_the_search_finishes(
    tmp_path: Path, cluster: Cluster
) -> None:
    (tmp_path / "nf_cluster_trials.py").write_text(SOURCE)
    running = tmp_path / "running"
    running.mkdir()
    cfg = tmp_path / "config.yaml"
    executor = {"name": "ray", "address": cluster.address}
    cfg.write_text(yaml.safe_dump(config("nf_cluster_trials", "steady", budget={"trials": BUDGET}, executor=executor)))
    run = tmp_path / "run"
    search = subprocess.Popen([sys.executable, "-m", "nasforge.cli", "search", str(cfg), "--run-dir", str(run)],
                              env=cluster.env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while complete(run / "study.db") < 4 and search.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert search.poll() is None, search.communicate()[1].decode()[-2000:]
        # Kill while a trial runs on the second node: one of its workers has marked itself running.
        second = tree({cluster.second_raylet()})
        caught: list[Path] = []
        while time.monotonic() < deadline and not (caught := [p for p in running.iterdir() if int(p.name) in second]):
            time.sleep(0.02)
            second = tree({cluster.second_raylet()})
        # The whole node at once, as when its machine dies: the raylet, its workers and agents.
        end(second, signal.SIGKILL)
        assert caught, "no trial was seen running on the second node"
        _, err = search.communicate(timeout=240)
    finally:
        if search.poll() is None:
            search.kill()
            search.wait()
    assert search.returncode == 0, err.decode()[-3000:]

    storage = SQLiteStorage(run / "study.db")
    try:
        trials = storage.trials()
    finally:
        storage.close()
    assert [t.number for t in trials] == list(range(len(trials)))
    assert len(trials) == BUDGET and all(t.state is TrialState.COMPLETE for t in trials)  # nothing lost, nothing failed
    assert len({t.arch for t in trials}) == BUDGET
    retried = [t for t in trials if "retried_after" in t.report]
    assert retried, "the kill should have caught a trial running on the second node"
    assert all(
        str(t.report["retried_after"]).startswith("NodeDiedError: Task failed because the node") for t in retried
    )
    assert len(retried) <= 1  # the second node has one CPU: one trial ran there at a time
