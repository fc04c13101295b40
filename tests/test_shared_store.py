"""Several processes sharing one machine's store file (issue 8): ``EmulatedHost(store=path)``
in each, creating overlapping persistent blocks at the same moment.  Two never both win;
the loser gets ERROR_SHARING_VIOLATION; the file ends up holding exactly the winners, and
a fresh host loads them with no overlap.

Each worker is a real Python process (``sys.executable``), started together on a file that
does not exist yet (so they also race to make the machine), and goes through the interface
or through the emulated iphlpapi.  ``test_store.py`` checks the store itself the same way.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from portpool import EmulatedHost, PortRange, Protocol, windows_code

SHARING_VIOLATION, NOT_FOUND = 32, 1168

WORKER = textwrap.dedent("""
    import ctypes, json, os, random, sys, time
    from portpool import EmulatedHost, PortPoolError, Protocol
    from portpool._winsock import _abi

    path, go, index, mode, plan = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    if os.environ.get("PLANT_NO_STORE_CHECK"):  # the control: each host checks only itself
        from portpool._model import _machine
        from portpool._model._store import _sqlite
        _sqlite._in_the_way = lambda connection, new: None
        _machine.Machine._sync = lambda self: None
        _machine.Machine._stale = lambda self: False
        _machine.Machine._take_in = lambda self: None
    host = EmulatedHost(store=path)  # started together: the first of them makes the machine
    open(go + "." + str(index), "w").close()  # ready
    while not os.path.exists(go):  # everyone starts at once
        time.sleep(0.001)
    log = []
    if mode == "interface":
        app = host.process(admin=True)
        def call(verb, protocol, start, count):
            try:
                method = getattr(app, verb + "_persistent_reservation")
                return 0, method(protocol, start, count) or 0
            except PortPoolError as exc:
                return exc.winerror, 0
    else:
        _, iph = host.dlls(admin=True)
        def call(verb, protocol, start, count):
            name = verb.title() + "Persistent" + protocol.name.title() + "PortReservation"
            token = _abi.ULONG64()
            args = (_abi.htons(start), count) + (() if verb == "delete" else (ctypes.byref(token),))
            return getattr(iph, name)(*args), token.value
    for verb, protocol, start, count in json.loads(plan):
        code, token = call(verb, Protocol(protocol), start, count)
        log.append([verb, protocol, start, count, code, token])
    print(json.dumps(log))
""")


def run_workers(path: Path, plans: list[tuple[str, list[list[Any]]]], tmp: Path,
                plant: bool = False) -> list[list[Any]]:
    """Start one process per ``(mode, plan)``, release them together, return their logs."""
    go = tmp / "go"
    env = {**os.environ, **({"PLANT_NO_STORE_CHECK": "1"} if plant else {})}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(go), str(i), mode,
                                 json.dumps(plan)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
               for i, (mode, plan) in enumerate(plans)]
    deadline = time.monotonic() + 60
    while not all((tmp / f"go.{i}").exists() for i in range(len(plans))):  # all at the gate
        assert time.monotonic() < deadline, "a worker never got ready"
        time.sleep(0.005)
    go.touch()
    logs = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-3000:]
        logs.append(json.loads(out))
    return logs


def final_blocks(path: Path) -> dict[Protocol, list[PortRange]]:
    """What a fresh host loads from the file, with no overlap within a protocol."""
    host = EmulatedHost(store=path)
    blocks = {p: sorted(r.range for r in host.reservations(p) if r.persistent) for p in Protocol}
    for ranges in blocks.values():
        for a, b in itertools.pairwise(ranges):
            assert not a.overlaps(b), f"the store holds overlapping blocks {a!r} and {b!r}"
    return blocks


def shifted_plan(worker: int, groups: int, protocol: Protocol) -> list[list[Any]]:
    """Blocks of 4 every 8 ports, each worker 2 ports after the previous one: neighbours
    overlap, every other worker does not.  Each worker takes the groups in its own order,
    so that they meet all along the way, not only at the first group."""
    order = list(range(groups))
    random.Random(worker).shuffle(order)
    return [["create", int(protocol), 20000 + 8 * g + 2 * worker, 4] for g in order]


def wins(logs: list[list[Any]]) -> list[tuple[int, PortRange]]:
    """The blocks each worker was granted (every failure must be a sharing violation)."""
    won = []
    for worker, log in enumerate(logs):
        for _, _, start, count, code, token in log:
            assert code in (0, SHARING_VIOLATION), f"worker {worker}: {start}+{count} gave {code}"
            if code == 0:
                assert token
                won.append((worker, PortRange(start, count)))
    return won


def double_wins(won: list[tuple[int, PortRange]]) -> list[str]:
    return [f"worker {wa} won {a!r} and worker {wb} won {b!r}"
            for i, (wa, a) in enumerate(won) for wb, b in won[i + 1:] if a.overlaps(b)]


def test_the_check_can_fail(tmp_path: Path) -> None:
    """The control: workers whose hosts check only their own memory both win."""
    logs = run_workers(tmp_path / "machine.portpool",
                       [("interface", shifted_plan(i, 40, Protocol.TCP)) for i in range(3)],
                       tmp_path, plant=True)
    assert double_wins(wins(logs))


@pytest.mark.parametrize("modes", [("interface",) * 3, ("dlls",) * 3,
                                   ("interface", "dlls", "interface")])
def test_overlapping_creates_from_three_processes_never_both_win(tmp_path: Path,
                                                                modes: tuple[str, ...]) -> None:
    path = tmp_path / "machine.portpool"
    logs = run_workers(path, [(mode, shifted_plan(i, 40, Protocol.TCP))
                              for i, mode in enumerate(modes)], tmp_path)
    won = wins(logs)
    assert double_wins(won) == []
    assert final_blocks(path)[Protocol.TCP] == sorted(r for _, r in won)
    assert len(won) < 3 * 40  # they met: some creates lost
    per_group = collections.Counter((r.start - 20000) // 8 for _, r in won)
    assert all(1 <= n <= 2 for n in per_group.values())  # workers 0 and 2 may both win
    assert len(per_group) == 40


def test_the_same_block_from_three_processes_has_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "machine.portpool"
    plan = [["create", int(Protocol.UDP), 30000 + 10 * g, 5] for g in range(40)]
    logs = run_workers(path, [("interface", plan), ("dlls", plan), ("interface", plan)], tmp_path)
    winners: collections.Counter[int] = collections.Counter()
    for log in logs:
        for _, _, start, _, code, _ in log:
            assert code in (0, SHARING_VIOLATION)
            winners[start] += code == 0
    assert set(winners.values()) == {1}
    assert len(final_blocks(path)[Protocol.UDP]) == 40


def test_a_block_another_host_deleted_meanwhile_is_not_found(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Host B finds the block in its memory, then host A deletes it from the file before B
    writes: B's delete must fail with ERROR_NOT_FOUND (R16), not succeed a second time."""
    from portpool import PortPoolError
    from portpool._model._machine import Machine

    path = tmp_path / "machine.portpool"
    one, two = EmulatedHost(store=path), EmulatedHost(store=path)
    a, b = one.process(admin=True), two.process(admin=True)
    a.create_persistent_reservation(Protocol.TCP, 5000, 4)
    found_it = Machine._persistent_exact

    def then_a_deletes(self: Machine, protocol: Protocol, block: PortRange, rule: str) -> Any:
        found = found_it(self, protocol, block, rule)
        if self is two.machine:
            a.delete_persistent_reservation(Protocol.TCP, 5000, 4)
        return found

    monkeypatch.setattr(Machine, "_persistent_exact", then_a_deletes)
    with pytest.raises(PortPoolError) as info:
        b.delete_persistent_reservation(Protocol.TCP, 5000, 4)
    assert info.value.winerror == NOT_FOUND
    assert two.reservations(Protocol.TCP) == ()


def test_create_delete_and_lookup_churn_keeps_the_store_exact(tmp_path: Path) -> None:
    """Four processes create, look up and delete overlapping blocks in one small zone; the
    successful creates and deletes of each block alternate, and what is left is exactly
    what was created and not deleted."""
    path = tmp_path / "machine.portpool"
    plans = []
    for worker in range(4):
        rng = random.Random(worker)
        plan = []
        for _ in range(200):
            protocol = int(rng.choice(list(Protocol)))
            start, count = 40000 + rng.randrange(0, 40), rng.choice((1, 2, 4, 8))
            plan.append([rng.choice(("create", "create", "lookup", "delete")), protocol, start, count])
        plans.append(("interface" if worker % 2 else "dlls", plan))
    logs = run_workers(path, plans, tmp_path)
    net: collections.Counter[tuple[int, int, int]] = collections.Counter()
    for log in logs:
        for verb, protocol, start, count, code, _ in log:
            expected = {"create": (0, SHARING_VIOLATION), "delete": (0, NOT_FOUND),
                        "lookup": (0, NOT_FOUND)}[verb]
            assert code in expected, f"{verb} {start}+{count}: {code}"
            if code == 0 and verb != "lookup":
                net[(protocol, start, count)] += 1 if verb == "create" else -1
    assert set(net.values()) <= {0, 1}, "a block created twice, or deleted without a create"
    left = {key for key, n in net.items() if n == 1}
    blocks = final_blocks(path)
    assert {(int(p), r.start, r.count) for p, ranges in blocks.items() for r in ranges} == left


def test_hosts_in_threads_of_one_process_share_a_file_the_same_way(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "machine.portpool"
    EmulatedHost(store=path)
    won: list[PortRange] = []
    barrier = threading.Barrier(4)
    lock = threading.Lock()

    def work(worker: int) -> None:
        app = EmulatedHost(store=path).process(admin=True)
        barrier.wait()
        for _, _, start, count in shifted_plan(worker, 40, Protocol.TCP):
            try:
                app.create_persistent_reservation(Protocol.TCP, start, count)
            except OSError as exc:
                assert windows_code(exc) == SHARING_VIOLATION
                continue
            with lock:
                won.append(PortRange(start, count))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert final_blocks(path)[Protocol.TCP] == sorted(won)


@pytest.mark.rule("A10", "R13d")
def test_every_host_reading_a_store_sees_one_token_per_boot(tmp_path: Path) -> None:
    # A persistent block's token depends on the row and the boot, not on which host read
    # the store or on its seed: a later lookup returns what the create returned (A10).
    first = EmulatedHost(store=tmp_path / "m.db")
    token = first.process(admin=True).create_persistent_reservation(Protocol.TCP, 3000, 10)
    second = EmulatedHost(store=tmp_path / "m.db", seed=9)
    assert second.process().lookup_persistent_reservation(Protocol.TCP, 3000, 10) == token
    second.reboot()
    renewed = second.process().lookup_persistent_reservation(Protocol.TCP, 3000, 10)
    assert renewed != token
    third = EmulatedHost(store=tmp_path / "m.db", seed=4)
    assert third.process().lookup_persistent_reservation(Protocol.TCP, 3000, 10) == renewed
