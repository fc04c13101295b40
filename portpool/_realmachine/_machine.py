"""The machine a real-machine tool asks: given, patched, this Windows machine, or none.

* given (``machine=``, the CLI's ``--preset``, ``--netsh``, ``--machine``): that one;
* under :func:`portpool.patch`: the patched emulated machine, sockets and all;
* on Windows: this machine's rows and ranges read through netsh (an emulated copy of
  them, which knows no sockets), plus a test bind now through the ``socket`` module;
* elsewhere: none (the code alone speaks).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import attrs

from .._host import EmulatedHost
from .._teach._live import LiveMachineError, live_host
from .._types import Family, Protocol
from ._codes import winerror_of
from ._seam import EmulatedSeam, Holder, Seam, current_seam

__all__ = ["Asked", "ask", "bind_now", "host_from_seam"]


def host_from_seam(seam: Seam) -> EmulatedHost:
    """An emulated copy of the rows and dynamic ranges ``seam``'s netsh shows.

    Raises:
        LiveMachineError: netsh failed.
        portpool.netsh.NetshParseError: netsh printed something else than its table.
    """
    def runner(words: Sequence[str]) -> str:
        ran = seam.netsh(list(words))
        if ran.status != 0:
            first = next((line.strip() for line in ran.output.splitlines() if line.strip()), "no output")
            raise LiveMachineError(f"netsh {' '.join(words)} exited {ran.status}: {first}")
        return ran.output

    return live_host(runner)


def bind_now(protocol: Protocol, port: int, family: Family = Family.INET) -> int | None:
    """Bind a new socket to the wildcard address at ``port`` now and close it: the Windows
    code of the refusal (its errno mapped when it has none), ``None`` on success."""
    kind = socket.SOCK_STREAM if protocol is Protocol.TCP else socket.SOCK_DGRAM
    fam = socket.AF_INET if family is Family.INET else socket.AF_INET6
    with socket.socket(fam, kind) as probe:
        try:
            probe.bind(("0.0.0.0" if family is Family.INET else "::", port))
        except OSError as exc:
            code = winerror_of(exc)
            return code if code is not None else -1
    return None


@attrs.frozen
class Asked:
    """The machine a tool asks, and how it was read."""

    host: EmulatedHost | None  # None: no Windows pools to ask
    netsh_only: bool  # read from netsh: no sockets, no owners
    live: bool  # this real machine (a test bind now means something)
    name: str
    windows: bool
    seam: Seam | None = None  # where netstat runs, for a machine read through netsh

    def holders(self, protocol: Protocol, port: int | None) -> tuple[Holder, ...]:
        """Who holds ``port`` now, by netstat, on a real machine read through netsh."""
        if self.seam is None or not self.netsh_only or not port:
            return ()
        return self.seam.holders(protocol, port)


def ask(machine: EmulatedHost | None = None, seam: Seam | None = None) -> Asked:
    """The machine to ask (see the module docstring).

    Raises:
        LiveMachineError, NetshParseError: on Windows, netsh failed or printed nonsense.
    """
    if machine is not None:
        return Asked(machine, False, False, "the machine given", True)
    seam = seam if seam is not None else current_seam()
    if isinstance(seam, EmulatedSeam):
        return Asked(seam.host, False, True, "the emulated machine under portpool.patch()", True)
    if seam.windows:
        return Asked(host_from_seam(seam), True, True, f"{seam.name}, read through netsh", True, seam)
    return Asked(None, False, True, seam.name, False)
