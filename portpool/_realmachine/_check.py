"""``portpool check``: a CI preflight for the ports a project needs.

Theory of operation
-------------------
Ports come from the command line (``8080 5432/udp 3000-3010 53/both``) or from the files
projects already keep them in: a compose file's published ports (short syntax
``"8080:80"``, ``"127.0.0.1:8080:80/udp"``, ``"3000-3005:3000-3005"``, long syntax
``published:``/``protocol:``) and a ``.env`` file's ``*_PORT=`` values.  The files are read
line by line (no YAML library), so each port keeps the file and line it came from, for
GitHub Actions annotations.

Each port gets one verdict on the machine asked (``_machine.ask``):

* blocked: inside a system exclusion row (X2) or another process's runtime block (R17),
  held by a socket (bound now), or inside a dynamic range, where bind(0) hands it out and
  WinNAT may place a row at the next boot (X1, W1), unless an administered row keeps it;
* ok: none of those (an administered row over it is fine: a plain bind there succeeds, X15).

On a machine without Windows' pools only the test bind speaks.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from .._types import MAX_PORT, Family, Protocol
from ._free import parse_protocols
from ._machine import Asked, bind_now

__all__ = ["COMPOSE_NAMES", "Needed", "Verdict", "check_ports", "parse_spec", "ports_from_file"]

COMPOSE_NAMES: Final = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
_SPEC: Final = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?(?:/(tcp|udp|both))?$", re.IGNORECASE)
_ENV: Final = re.compile(r"^\s*(?:export\s+)?((?:[A-Za-z_][A-Za-z0-9_]*_)?PORT)\s*=\s*"
                         r"['\"]?(\d{1,5})['\"]?\s*(?:#.*)?$")
# "- 8080:80", "- '127.0.0.1:8080:80/udp'", "- 3000-3005:3000-3005", "- 9000" (a published range
# or a container port alone: only the host side counts, and a bare port publishes nothing fixed).
_SHORT: Final = re.compile(r"^\s*-\s*['\"]?(?:\[?[0-9a-fA-F.:]*\]?:)??(\d{1,5})(?:-(\d{1,5}))?:"
                           r"\d{1,5}(?:-\d{1,5})?(?:/(tcp|udp))?['\"]?\s*(?:#.*)?$")
_PUBLISHED: Final = re.compile(r"^\s*(?:-\s*)?published:\s*['\"]?(\d{1,5})(?:-(\d{1,5}))?['\"]?\s*$")
_LONG_PROTOCOL: Final = re.compile(r"^\s*(?:-\s*)?protocol:\s*['\"]?(tcp|udp)['\"]?\s*$")
_LIMIT: Final = 4096  # ports one check takes


@attrs.frozen
class Needed:
    """One port a project needs, and where it was named."""

    port: int
    protocol: Protocol
    source: str = "command line"
    line: int | None = None


@attrs.frozen
class Verdict:
    """What the machine says of one needed port."""

    needed: Needed
    blocked: bool
    reason: str
    rules: tuple[str, ...] = ()

    def line(self) -> str:
        """One line: ``8080/tcp  ok  ...``."""
        word = "BLOCKED" if self.blocked else "ok"
        rules = f" [{', '.join(self.rules)}]" if self.rules else ""
        where = (f" ({self.needed.source}" + (f":{self.needed.line}" if self.needed.line else "") + ")"
                 if self.needed.source != "command line" else "")
        name = f"{self.needed.port}/{self.needed.protocol.name.lower()}"
        return f"{name:<10} {word:<8} {self.reason}{rules}{where}"

    def annotation(self) -> str:
        """A GitHub Actions workflow command for this verdict (``::error``/``::notice``)."""
        level = "error" if self.blocked else "notice"
        props = []
        if self.needed.source != "command line":
            props.append(f"file={self.needed.source}")
            if self.needed.line:
                props.append(f"line={self.needed.line}")
        props.append("title=portpool check")
        text = f"{self.needed.port}/{self.needed.protocol.name.lower()}: {self.reason}"
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{level} {','.join(props)}::{text}"


def _range(first: str, last: str | None, what: str) -> range:
    start, end = int(first), int(last) if last else int(first)
    if not 1 <= start <= MAX_PORT or not 1 <= end <= MAX_PORT or end < start:
        raise ValueError(f"{what}: ports run 1-65535, FIRST-LAST with LAST >= FIRST")
    if end - start + 1 > _LIMIT:
        raise ValueError(f"{what}: at most {_LIMIT} ports")
    return range(start, end + 1)


def parse_spec(text: str) -> list[Needed]:
    """``8080``, ``5432/udp``, ``3000-3010``, ``53/both`` -> the needed ports.

    Raises:
        ValueError: not such a spec (the message shows the forms).
    """
    match = _SPEC.match(text.strip())
    if not match:
        raise ValueError(f"{text!r}: write PORT, PORT/udp, FIRST-LAST or PORT/both, e.g. 8080 5432/udp"
                         " 3000-3010")
    protocols = parse_protocols((match.group(3) or "tcp").lower())
    return [Needed(port, p) for port in _range(match.group(1), match.group(2), text) for p in protocols]


def _compose(lines: Sequence[str], source: str) -> list[Needed]:
    out: list[Needed] = []
    pending: tuple[int, range] | None = None  # a long-syntax `published:` awaiting its protocol
    for number, line in enumerate(lines, 1):
        short = _SHORT.match(line)
        if short:
            protocol = parse_protocols((short.group(3) or "tcp").lower())[0]
            out += [Needed(p, protocol, source, number)
                    for p in _range(short.group(1), short.group(2), f"{source}:{number}")]
            continue
        published = _PUBLISHED.match(line)
        if published:
            if pending is not None:
                out += [Needed(p, Protocol.TCP, source, pending[0]) for p in pending[1]]
            pending = (number, _range(published.group(1), published.group(2), f"{source}:{number}"))
            continue
        proto = _LONG_PROTOCOL.match(line)
        if proto and pending is not None:
            out += [Needed(p, Protocol[proto.group(1).upper()], source, pending[0]) for p in pending[1]]
            pending = None
        elif pending is not None and line.strip().startswith("-"):
            out += [Needed(p, Protocol.TCP, source, pending[0]) for p in pending[1]]
            pending = None
    if pending is not None:
        out += [Needed(p, Protocol.TCP, source, pending[0]) for p in pending[1]]
    return out


def _env(lines: Sequence[str], source: str) -> list[Needed]:
    out = []
    for number, line in enumerate(lines, 1):
        match = _ENV.match(line)
        if match:
            out += [Needed(p, Protocol.TCP, source, number)
                    for p in _range(match.group(2), None, f"{source}:{number} {match.group(1)}")]
    return out


def ports_from_file(path: str) -> list[Needed]:
    """The ports a compose file publishes or a ``.env`` file names (``*_PORT=``).

    A file whose name ends ``.env`` (or is ``.env``) is read as a dotenv file; anything
    else as a compose file.

    Raises:
        OSError: the file cannot be read.
        ValueError: a port out of 1-65535 (the message names the file and line).
    """
    with open(path, encoding="utf-8-sig", errors="replace") as file:
        lines = file.read().splitlines()
    name = os.path.basename(path)
    if name == ".env" or name.endswith(".env") or name.startswith(".env."):
        return _env(lines, path)
    return _compose(lines, path)


def default_files(folder: str = ".") -> list[str]:
    """The compose files and ``.env`` in ``folder`` that ``portpool check`` reads by default."""
    names = [*COMPOSE_NAMES, ".env"]
    return [os.path.join(folder, n) if folder != "." else n for n in names
            if os.path.isfile(os.path.join(folder, n))]


def _verdict(asked: Asked, needed: Needed) -> Verdict:
    port, protocol = needed.port, needed.protocol
    host = asked.host
    if host is not None:
        why = host.explain(protocol, port)
        if why.exclusion is not None:
            ex = why.exclusion
            owner = "owner unknown" if ex.owner == "unknown" else ex.owner
            return Verdict(needed, True, f"excluded: inside the row {ex.start}-{ex.end} ({owner})",
                           ("X2",))
        res = why.reservation
        if res is not None and not res.persistent:
            return Verdict(needed, True, f"reserved by process {why.owner_pid}"
                           f" ({res.range.start}-{res.range.last})", ("R17",))
        if why.bindings:
            b = why.bindings[0]
            return Verdict(needed, True, f"in use: socket {b.socket:#x} of process {b.pid} is bound"
                           f" to {b.host}:{b.port}", ("C1",))
    if asked.live and (host is None or asked.netsh_only):
        code = bind_now(protocol, port)
        if code is not None:
            what = {10013: "refused now (WSAEACCES 10013)", 10048: "in use now (WSAEADDRINUSE 10048)"
                    }.get(code, f"a test bind fails now (code {code})")
            holders = asked.holders(protocol, port)
            if holders:
                what += ": " + "; ".join(f"held by {h}" for h in holders)
            return Verdict(needed, True, what)
    if host is not None:
        why = host.explain(protocol, port)
        if why.reservation is not None and why.reservation.persistent:
            r = why.reservation.range
            return Verdict(needed, False, f"kept by the administered row {r.start}-{r.last}: a plain"
                           " bind there succeeds", ("X15",))
        inside = sorted({(r.start, r.last) for f in Family for r in (host.dynamic_range(protocol, f),)
                         if port in r})
        if inside:
            ranges = ", ".join(f"{a}-{b}" for a, b in inside)
            return Verdict(needed, True, f"inside the dynamic range {ranges}: bind(0) may hand it out,"
                           " and WinNAT may place a row over it at the next boot (`portpool reserve"
                           f" {port}` keeps it)", ("W1", "X1"))
    return Verdict(needed, False, "free" if host is not None else "binds now")


def check_ports(asked: Asked, needed: Iterable[Needed]) -> list[Verdict]:
    """One verdict per needed port (duplicates once, in the order given)."""
    seen: set[tuple[int, Protocol]] = set()
    out = []
    for item in needed:
        key = (item.port, item.protocol)
        if key not in seen:
            seen.add(key)
            out.append(_verdict(asked, item))
    return out
