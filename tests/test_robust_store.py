"""Issue 20's findings on machines built from several inputs and on store files, one test
each (each failed before its fix): all or nothing, errors in the docstrings and as one CLI
line, a loader that checks what a live machine obeys and never writes a file it refuses,
no hang on a FIFO, and store-backed calls whose cost follows the changes, not the rows."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from portpool import EmulatedHost, PortPoolError, PortRange, Protocol, StoreError
from portpool._cli import main
from portpool._model._store import MachineRecord, MemoryStore, SqliteStore
from portpool.netsh import ExcludedRange, render_excluded_ranges

TCP, UDP = Protocol.TCP, Protocol.UDP


def _table(*rows: tuple[int, int, bool]) -> str:
    return render_excluded_ranges(TCP, [ExcludedRange(*row) for row in rows])


def _state(path: Path) -> tuple[bytes, bytes | None]:
    journal = Path(f"{path}-journal")
    return path.read_bytes(), journal.read_bytes() if journal.exists() else None


# --- building a machine from several inputs: all or nothing ---------------------------


def test_from_netsh_refused_over_overlapping_outputs_leaves_no_file_and_a_retry_works(
        tmp_path: Path) -> None:
    path = tmp_path / "machine.portpool"
    first = _table((5000, 5009, False), (6000, 6009, True))
    second = _table((5005, 5014, False))
    with pytest.raises(ValueError, match="overlap: TCP 5000-5009 and 5005-5014"):
        EmulatedHost.from_netsh(first, second, store=path)
    assert not path.exists()  # refused before anything was written
    host = EmulatedHost.from_netsh(first, store=path)  # the corrected retry
    assert [(r.start, r.end, r.administered) for r in host.exclusions(TCP)] == [
        (5000, 5009, False), (6000, 6009, True)]
    assert [(r.start, r.end) for r in EmulatedHost(store=path).exclusions(TCP)] == [
        (5000, 5009), (6000, 6009)]


def test_from_netsh_counts_a_row_two_outputs_show_once() -> None:
    table = _table((5000, 5009, False), (6000, 6009, True))
    host = EmulatedHost.from_netsh(table, table)  # ipv4 and ipv6 print one list
    assert [(r.start, r.end) for r in host.exclusions(TCP)] == [(5000, 5009), (6000, 6009)]


def test_from_netsh_over_a_stored_machine_is_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "machine.portpool"
    EmulatedHost(store=path).exclude(TCP, 5005, 1, owner="WinNAT")
    before = EmulatedHost(store=path).snapshot()
    with pytest.raises(ValueError, match="overlaps the stored machine"):
        EmulatedHost.from_netsh(_table((4000, 4009, True), (5000, 5009, False)), store=path)
    assert EmulatedHost(store=path).snapshot() == before  # not even 4000-4009
    assert EmulatedHost(store=path).reservations(TCP) == ()


@pytest.mark.parametrize("options", [
    {"preset": "bogus"}, {"seed": "1"}, {"variants": {"X15": "maybe"}},
    {"dynamic_ports": PortRange(50000, 10)}, {"addresses": ["not an address"]},
])
def test_a_refused_option_makes_no_store_file(tmp_path: Path, options: dict[str, object]) -> None:
    path = tmp_path / "machine.portpool"
    with pytest.raises((TypeError, ValueError)):
        EmulatedHost(store=path, **options)  # type: ignore[arg-type]  # wrong on purpose
    assert not path.exists()


def test_the_cli_prints_a_refused_netsh_machine_as_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.txt").write_text(_table((5000, 5009, False)))
    (tmp_path / "b.txt").write_text(_table((5005, 5014, False)))
    status = main(["explain", "5005", "--netsh", str(tmp_path / "a.txt"),
                   "--netsh", str(tmp_path / "b.txt")])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert err.count("\n") == 1 and "overlap" in err


# --- what the loader refuses, and how --------------------------------------------------


def _portpool(path: Path, *statements: str) -> None:
    EmulatedHost.preset("hyperv", store=path)
    with sqlite3.connect(path) as connection:
        for statement in statements:
            connection.execute(statement)
    connection.close()


@pytest.mark.rule("Y1")
def test_a_stored_range_no_machine_can_have_is_refused_at_open(tmp_path: Path) -> None:
    """A 10-port range once opened, then reboot() failed with randrange's ValueError."""
    path = tmp_path / "m.portpool"
    _portpool(path, "INSERT INTO dynamic_range VALUES (6, 2, 50000, 10)")
    before = _state(path)
    with pytest.raises(StoreError, match="rules Y1, Y2"):
        EmulatedHost(store=path)
    assert _state(path) == before


def test_an_unknown_stored_preset_is_refused_not_run_as_default(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    _portpool(path, "UPDATE meta SET value = 'docker' WHERE key = 'preset'")
    with pytest.raises(StoreError, match="preset 'docker'"):
        EmulatedHost(store=path)


def test_a_damaged_index_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    host = EmulatedHost(store=path)
    for index in range(40):
        host.exclude(UDP, 1100 + 3 * index, 2, owner="WinNAT")
    with sqlite3.connect(path) as connection:
        (root,) = connection.execute("SELECT rootpage FROM sqlite_master"
                                     " WHERE name = 'sqlite_autoindex_exclusion_1'").fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * page_size + 7] ^= 0x05  # the page's count of fragmented bytes
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="quick check"):
        EmulatedHost(store=path)
    assert path.read_bytes() == bytes(data)


_HOT_JOURNAL = textwrap.dedent("""
    import os, sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("PRAGMA cache_size = 1")  # spill pages: the file changes before COMMIT
    connection.execute("BEGIN IMMEDIATE")
    for statement in sys.argv[2:]:
        connection.execute(statement)
    os._exit(0)  # dies inside the transaction: its journal is hot
""")
_BULK = ("INSERT INTO {} SELECT randomblob(3000) FROM (WITH RECURSIVE r(x) AS"
         " (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 200) SELECT x FROM r)")


def _die_in_a_write(path: Path, *statements: str) -> None:
    subprocess.run([sys.executable, "-c", _HOT_JOURNAL, str(path), *statements], check=True,
                   timeout=60)
    assert Path(f"{path}-journal").stat().st_size > 0


def test_a_foreign_file_with_a_hot_journal_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "customers.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (data)")
    connection.close()
    _die_in_a_write(path, _BULK.format("customers"))
    before = _state(path)
    for _ in range(2):
        with pytest.raises(StoreError, match=r"without the portpool marker.*journal"):
            EmulatedHost(store=path)
    assert _state(path) == before  # sqlite would have rolled the journal back: a write


def test_a_portpool_store_with_a_hot_journal_is_rolled_back_and_opens(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    EmulatedHost(store=path).exclude(TCP, 5000, 10, owner="WinNAT")
    _die_in_a_write(path, "CREATE TABLE filler (data)", _BULK.format("filler"),
                    "DELETE FROM exclusion")
    host = EmulatedHost(store=path)
    assert [(r.start, r.end) for r in host.exclusions(TCP)] == [(5000, 5009)]
    assert not Path(f"{path}-journal").exists() or Path(f"{path}-journal").stat().st_size == 0


_OPEN_FIFO = textwrap.dedent("""
    import sys
    from portpool import EmulatedHost, StoreError
    try:
        EmulatedHost(store=sys.argv[1])
    except StoreError as exc:
        print(exc)
""")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    """It used to block forever in open() waiting for a writer; a subprocess with a
    timeout keeps a regression from hanging the suite."""
    fifo = tmp_path / "machine.portpool"
    if sys.platform != "win32":  # always (skipif above); typeshed has mkfifo off Windows only
        os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-c", _OPEN_FIFO, str(fifo)], capture_output=True,
                          text=True, timeout=60, check=True)
    assert "not a regular file (a FIFO)" in done.stdout
    cli = subprocess.run([sys.executable, "-m", "portpool", "explain", "5000", "--machine",
                          str(fifo)], capture_output=True, text=True, timeout=60, check=False)
    assert cli.returncode == 2
    assert "Traceback" not in cli.stderr and "a FIFO" in cli.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="no /dev/null")
def test_dev_null_is_refused_as_no_regular_file(tmp_path: Path) -> None:
    del tmp_path
    if not os.path.exists(os.devnull):
        pytest.skip("no /dev/null")
    with pytest.raises(StoreError, match="character device"):
        SqliteStore(os.devnull)


# --- the cost of store-backed calls: the changes, not the rows --------------------------


class _Counting(MemoryStore):
    """A MemoryStore that counts the reads of every row."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self) -> MachineRecord:
        self.loads += 1
        return super().load()


def test_a_host_reads_the_rows_only_when_another_host_wrote() -> None:
    store = _Counting()
    host = EmulatedHost(store=store)
    other = EmulatedHost(store=store)
    app = host.process(admin=True)
    store.loads = 0
    for index in range(200):  # its own writes: no row is read again
        host.exclude(TCP, 2000 + 2 * index, 1, owner="WinNAT")
        app.create_persistent_reservation(UDP, 2000 + 2 * index, 1)
    host.exclusions(TCP)
    app.lookup_persistent_reservation(UDP, 2000, 1)
    assert store.loads == 0
    other.exclude(TCP, 9000, 1, owner="HNS")  # another host's write
    assert store.loads == 1  # the other host takes in the 400 rows it had not seen, once
    assert (9000, 9000) in [(r.start, r.end) for r in host.exclusions(TCP)]  # taken in
    assert store.loads == 2
    host.exclusions(TCP)
    other.exclusions(TCP)
    assert store.loads == 2


def test_a_sqlite_host_takes_in_another_hosts_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.portpool"
    first, second = EmulatedHost(store=path), EmulatedHost(store=path)
    app1, app2 = first.process(admin=True), second.process(admin=True)
    token = app1.create_persistent_reservation(TCP, 5000, 10)
    assert app2.lookup_persistent_reservation(TCP, 5000, 10) == token  # seen by the other
    second.exclude(TCP, 6000, 5, owner="WinNAT")
    with pytest.raises(PortPoolError) as info:
        app1.create_persistent_reservation(TCP, 6002, 1)  # the store knows the other's row
    assert info.value.winerror == 32
    app2.delete_persistent_reservation(TCP, 5000, 10)
    assert app1.create_persistent_reservation(TCP, 5000, 5)  # the row in the way is gone
    assert [(r.start, r.end) for r in first.exclusions(TCP)] == [(5000, 5004), (6000, 6004)]
    assert json.dumps([(r.start, r.end) for r in second.exclusions(TCP)]) == "[[5000, 5004], [6000, 6004]]"
