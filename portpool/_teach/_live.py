"""The real Windows machine, read through its own netsh: ``--backend windows``, ``snapshot``.

Six netsh commands give everything netsh knows of a machine's port pools: the TCP
and UDP exclusion tables and the four dynamic ranges.  Their output (any display
language: ``portpool.netsh``'s parsers read them all) becomes an emulated machine
(``EmulatedHost.from_netsh``), kept in memory or in a store file.  The runner that
calls netsh and the pool that makes a test bind are arguments, so that tests run
this path on any OS with fakes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from typing import Final

from .._errors import PortPoolError
from .._host import EmulatedHost
from .._interface import PortPool
from .._model._store import Store
from .._netsh._console import decode_console_output
from .._types import AF_INET, SOCK_DGRAM, SOCK_STREAM, Protocol

__all__ = ["LIVE_COMMANDS", "LiveMachineError", "NetshRunner", "live_bind", "live_host",
           "run_real_netsh"]

#: Runs netsh with these words and returns what it printed.
NetshRunner = Callable[[Sequence[str]], str]

#: (protocol, IP version, the words after ``netsh``), in the order they are run.
LIVE_COMMANDS: Final = (
    (Protocol.TCP, 4, ("int", "ipv4", "show", "excludedportrange", "protocol=tcp")),
    (Protocol.UDP, 4, ("int", "ipv4", "show", "excludedportrange", "protocol=udp")),
    (Protocol.TCP, 4, ("int", "ipv4", "show", "dynamicport", "tcp")),
    (Protocol.UDP, 4, ("int", "ipv4", "show", "dynamicport", "udp")),
    (Protocol.TCP, 6, ("int", "ipv6", "show", "dynamicport", "tcp")),
    (Protocol.UDP, 6, ("int", "ipv6", "show", "dynamicport", "udp")),
)


class LiveMachineError(RuntimeError):
    """The real machine cannot be read: not Windows, or netsh failed (the message says
    which, on one line)."""


def run_real_netsh(words: Sequence[str]) -> str:
    """Run the real ``netsh`` with ``words`` (Windows only) and return what it printed.

    Raises:
        LiveMachineError: not on Windows, netsh is missing, or it exits non-zero.
    """
    if os.name != "nt":  # os.name, not sys.platform: mypy checks both platforms' paths
        raise LiveMachineError("the real machine's netsh runs only on Windows; elsewhere give"
                               " --machine, --preset or saved output with --netsh")
    system = os.environ.get("SYSTEMROOT", r"C:\Windows")
    exe = os.path.join(system, "System32", "netsh.exe")
    try:
        done = subprocess.run([exe, *words], capture_output=True, check=False, timeout=60)  # noqa: S603 - a fixed program and fixed words
    except (OSError, subprocess.SubprocessError) as exc:
        raise LiveMachineError(f"netsh {' '.join(words)}: {exc}") from None
    text = decode_console_output(done.stdout)  # the console's output code page (chcp)
    if done.returncode != 0:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "no output")
        raise LiveMachineError(f"netsh {' '.join(words)} exited {done.returncode}: {first}")
    return text


def live_host(runner: NetshRunner | None = None, *, seed: int = 0,
              store: str | os.PathLike[str] | Store | None = None) -> EmulatedHost:
    """An emulated machine with the real machine's rows and dynamic ranges.

    Args:
        runner: runs netsh (default :func:`run_real_netsh`); tests pass a fake.
        seed: the new machine's seed.
        store: keep it in this store file (``portpool snapshot``).

    Raises:
        LiveMachineError: netsh cannot run here or failed.
        portpool.netsh.NetshParseError: netsh printed something that is not its table.
    """
    run = runner if runner is not None else run_real_netsh
    ipv4: list[tuple[Protocol, str]] = []
    ipv6: list[str] = []
    for protocol, version, words in LIVE_COMMANDS:
        text = run(words)
        if version == 4:
            ipv4.append((protocol, text))
        else:
            ipv6.append(text)
    return EmulatedHost.from_netsh(*ipv4, ipv6_dynamic=ipv6, seed=seed, store=store)


def live_bind(protocol: Protocol, port: int, opener: Callable[[], PortPool]) -> PortPoolError | None:
    """Bind a new AF_INET socket of ``protocol`` to ``0.0.0.0:port`` through ``opener``'s
    pool (``open_pool("windows")`` on Windows) and close it; returns the refusal,
    ``None`` on success."""
    with opener() as pool:
        kind = SOCK_STREAM if protocol is Protocol.TCP else SOCK_DGRAM
        with pool.socket(AF_INET, kind, int(protocol)) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except PortPoolError as exc:
                return exc
    return None
