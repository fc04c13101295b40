"""The one seam between portpool's real-machine tools and the machine they run on.

Every tool of this room (``free_port``, ``why``, ``check``, ``reserve``) reads and changes
the machine through a :class:`Seam`: netsh (rows and dynamic ranges, ``add``), the
service manager (``net stop|start winnat``) and the elevation check.  Test binds go
through the ``socket`` module itself.  :func:`current_seam` picks the seam:

* under :func:`portpool.patch`, the patched emulated machine (:class:`EmulatedSeam`):
  the code path is the real machine's, the answers come from the model, so every
  Windows path of these tools runs on Linux;
* on Windows, this machine (:class:`WindowsSeam`: ``netsh.exe``, ``net.exe``,
  ``IsUserAnAdmin``);
* elsewhere, a machine without Windows' pools (:class:`PosixSeam`).

Tests may also install a seam of their own for a block of code (:func:`using`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from .._netsh._console import decode_console_output  # the console code page, for every netsh call

if TYPE_CHECKING:
    from .._host import EmulatedHost
    from .._types import Protocol as PortProtocol

__all__ = ["EmulatedSeam", "Holder", "PosixSeam", "Ran", "Seam", "WindowsSeam", "current_seam", "using"]


@attrs.frozen
class Ran:
    """What one command printed and its exit status."""

    status: int
    output: str


@attrs.frozen
class Holder:
    """A socket that holds a port, as ``netstat -ano`` shows it.

    Attributes:
        host, port: its local address.
        pid: its process.
        program: the process's program (``tasklist``), ``None`` when unknown.
    """

    host: str
    port: int
    pid: int
    program: str | None = None

    def __str__(self) -> str:
        who = f"{self.program} (PID {self.pid})" if self.program else f"process {self.pid}"
        return f"{who}, bound to {self.host}:{self.port}"


class Seam(Protocol):
    """What the real-machine tools need of a machine (see the module docstring)."""

    @property
    def windows(self) -> bool:
        """Whether the machine has Windows' port pools (rows, dynamic ranges, netsh)."""

    @property
    def name(self) -> str:
        """The machine in a few words, for messages."""

    def netsh(self, words: Sequence[str]) -> Ran:
        """Run netsh with ``words`` (the words after ``netsh``)."""

    def service(self, verb: str, name: str) -> Ran:
        """``net stop|start NAME``."""

    def elevated(self) -> bool:
        """Whether this process runs as an elevated administrator."""

    def holders(self, protocol: PortProtocol, port: int) -> tuple[Holder, ...]:
        """The sockets bound to ``port`` of ``protocol`` (``netstat -ano``)."""


class PosixSeam:
    """A machine without Windows' port pools: no rows, no netsh, no winnat."""

    windows = False
    name = "this machine (not Windows)"

    def netsh(self, words: Sequence[str]) -> Ran:
        return Ran(1, "netsh exists only on Windows\n")

    def service(self, verb: str, name: str) -> Ran:
        return Ran(1, f"net {verb} {name}: the service manager exists only on Windows\n")

    def elevated(self) -> bool:
        return False

    def holders(self, protocol: PortProtocol, port: int) -> tuple[Holder, ...]:
        return ()


def _system32(program: str) -> str:
    return os.path.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32", program)


class WindowsSeam:
    """This Windows machine: ``netsh.exe``, ``net.exe`` and ``IsUserAnAdmin``.

    Output is decoded as every netsh call decodes it: in the console's output code page
    (``portpool/_netsh/_console.py``).
    """

    windows = True
    name = "this machine"

    def _run(self, argv: list[str]) -> Ran:
        try:
            done = subprocess.run(argv, capture_output=True, check=False, timeout=120)  # noqa: S603 - fixed programs and words
        except (OSError, subprocess.SubprocessError) as exc:
            return Ran(1, f"{os.path.basename(argv[0])}: {exc}\n")
        return Ran(done.returncode, decode_console_output(done.stdout + done.stderr))

    def netsh(self, words: Sequence[str]) -> Ran:
        return self._run([_system32("netsh.exe"), *words])

    def service(self, verb: str, name: str) -> Ran:
        return self._run([_system32("net.exe"), verb, name])

    def elevated(self) -> bool:
        import ctypes  # noqa: PLC0415 - Windows only

        windll: Any = getattr(ctypes, "windll", None)
        return windll is not None and bool(windll.shell32.IsUserAnAdmin())

    def holders(self, protocol: PortProtocol, port: int) -> tuple[Holder, ...]:
        """``netstat -ano -p TCP|UDP`` (both IP versions), then ``tasklist`` for the programs.

        Read by position, not by word, so any display language works: a row is
        ``PROTO LOCAL FOREIGN [STATE] PID``; the local address ends ``:PORT``.
        """
        found: list[tuple[str, int]] = []
        for word in (protocol.name, f"{protocol.name}v6"):
            ran = self._run([_system32("netstat.exe"), "-ano", "-p", word])
            for line in ran.output.splitlines():
                fields = line.split()
                if (len(fields) >= 4 and fields[0].upper() == protocol.name and fields[-1].isdigit()
                        and fields[1].rpartition(":")[2] == str(port)):
                    host = fields[1].rpartition(":")[0].strip("[]")
                    found.append((host, int(fields[-1])))
        out = []
        for host, pid in dict.fromkeys(found):
            listing = self._run([_system32("tasklist.exe"), "/fi", f"PID eq {pid}", "/fo", "csv", "/nh"])
            first = listing.output.strip().splitlines()[0] if listing.output.strip() else ""
            program = first.split('","')[0].strip('"') if first.startswith('"') else None
            out.append(Holder(host, port, pid, program))
        return tuple(out)


class EmulatedSeam:
    """An emulated machine seen as the real one: netsh runs on it, ``net stop|start
    winnat`` stops and starts its WinNAT (rule X16), elevation is the patch's ``admin``."""

    windows = True

    def __init__(self, host: EmulatedHost, *, admin: bool = False) -> None:
        self.host, self.admin = host, admin

    @property
    def name(self) -> str:
        return "the emulated machine"

    def netsh(self, words: Sequence[str]) -> Ran:
        result = self.host.run_netsh(list(words), admin=self.admin)
        return Ran(result.status if result.done else max(result.status, 1), result.output)

    def service(self, verb: str, name: str) -> Ran:
        """``net stop|start winnat`` on the emulated machine, printed as en-US net.exe
        prints it (the texts commonly quoted from it; exit status 2 on failure)."""
        owner = _SERVICES.get(name.lower())
        if owner is None:
            return Ran(2, "The service name is invalid.\n\nMore help is available by typing NET"
                          " HELPMSG 2185.\n")
        if not self.admin:
            return Ran(2, "System error 5 has occurred.\n\nAccess is denied.\n")
        title = _TITLES[owner]
        stopped = self.host.component_stopped(owner)
        if verb == "stop":
            if stopped:
                return Ran(2, f"The {title} service is not started.\n\nMore help is available by"
                              " typing NET HELPMSG 3521.\n")
            self.host.stop_component(owner)  # X1, X16
            return Ran(0, f"The {title} service was stopped successfully.\n")
        if verb == "start":
            if not stopped:
                return Ran(2, "The requested service has already been started.\n\nMore help is"
                              " available by typing NET HELPMSG 2182.\n")
            self.host.start_component(owner)  # X16
            return Ran(0, f"The {title} service was started successfully.\n")
        return Ran(1, f"net {verb}: only stop and start are emulated\n")

    def elevated(self) -> bool:
        return self.admin

    def holders(self, protocol: PortProtocol, port: int) -> tuple[Holder, ...]:
        """The emulated machine's bound sockets at ``port`` (its processes have no programs)."""
        return tuple(Holder(b.host, b.port, b.pid) for b in self.host.bindings(protocol) if b.port == port)


#: ``net`` service names -> the component that owns their rows in the model (X1).
_SERVICES: Final = {"winnat": "WinNAT"}
#: Display names net.exe prints.
_TITLES: Final = {"WinNAT": "Windows NAT Driver"}

_override: list[Seam] = []


@contextmanager
def using(seam: Seam) -> Iterator[Seam]:
    """Make :func:`current_seam` return ``seam`` inside the block (tests)."""
    _override.append(seam)
    try:
        yield seam
    finally:
        _override.pop()


def current_seam() -> Seam:
    """The machine the tools act on (see the module docstring)."""
    if _override:
        return _override[-1]
    patch = sys.modules.get("portpool._patch")  # no patch is active unless it was imported
    session = getattr(patch, "_current", None) if patch is not None else None
    if session is not None:
        return EmulatedSeam(session.host, admin=session.admin)
    if os.name == "nt":
        return WindowsSeam()
    return PosixSeam()
