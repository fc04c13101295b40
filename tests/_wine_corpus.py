"""Run the Windows-verified corpus (tests/data/wine/corpus.json) against portpool.

Each record is a call sequence from Wine's Winsock tests, which run on real Windows,
written as data: ``steps`` of ``{"op": ..., "expect": ...}``.  Two runners read it:

* :class:`DllRunner` makes the C calls Wine's test makes, through ctypes, on an
  emulated process's ``ws2_32`` (``EmulatedHost.dlls()``); every record runs here.
* :class:`ApiRunner` makes the same calls through the :class:`portpool.PortPool`
  interface, on either backend; records marked ``"surface": "api"`` run here too.

An expectation is ``{"ok": true, ...}`` or ``{"error": "WSAE...", ...}`` (``"any"``, or
codes joined by ``|``), with extra fields to compare (``host``, ``port``, ``value``,
``raw``, ``optlen``, ``last_error``, ...).  ``broken`` lists what old Windows versions
answered (Wine's ``broken()``); the model is held to the main expectation.
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from portpool import PortPool, PortPoolError, Socket, WinError
from portpool._winsock import _abi

CORPUS_PATH: Final = Path(__file__).parent / "data" / "wine" / "corpus.json"

#: Winsock's numbers for the names the corpus uses (winsock2.h, ws2def.h, ws2ipdef.h,
#: mstcpip.h); the corpus keeps names so that a reader can check a record by eye.
NAMES: Final[dict[str, int]] = {
    "AF_UNSPEC": 0, "AF_INET": 2, "AF_INET6": 23,
    "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3,
    "IPPROTO_IP": 0, "IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_IPV6": 41,
    "SOL_SOCKET": 0xFFFF,
    "SO_DEBUG": 0x1, "SO_ACCEPTCONN": 0x2, "SO_REUSEADDR": 0x4, "SO_KEEPALIVE": 0x8,
    "SO_DONTROUTE": 0x10, "SO_BROADCAST": 0x20, "SO_LINGER": 0x80, "SO_OOBINLINE": 0x100,
    "SO_DONTLINGER": ~0x80, "SO_EXCLUSIVEADDRUSE": ~0x4, "SO_SNDBUF": 0x1001, "SO_RCVBUF": 0x1002,
    "SO_SNDTIMEO": 0x1005, "SO_RCVTIMEO": 0x1006, "SO_ERROR": 0x1007, "SO_TYPE": 0x1008,
    "SO_MAX_MSG_SIZE": 0x2003, "SO_RANDOMIZE_PORT": 0x3005, "SO_PORT_SCALABILITY": 0x3006,
    "SO_REUSE_UNICASTPORT": 0x3007, "SO_CONNECT_TIME": 0x700C,
    "TCP_NODELAY": 1, "TCP_KEEPALIVE": 3, "TCP_KEEPCNT": 16, "TCP_KEEPINTVL": 17,
    "IP_OPTIONS": 1, "IP_HDRINCL": 2, "IP_TOS": 3, "IP_TTL": 4, "IP_MULTICAST_IF": 9,
    "IP_MULTICAST_TTL": 10, "IP_MULTICAST_LOOP": 11, "IP_ADD_MEMBERSHIP": 12,
    "IP_DROP_MEMBERSHIP": 13, "IP_DONTFRAGMENT": 14, "IP_PKTINFO": 19, "IP_RECVTTL": 21,
    "IP_UNICAST_IF": 31, "IP_RECVTOS": 40,
    "IPV6_UNICAST_HOPS": 4, "IPV6_MULTICAST_IF": 9, "IPV6_MULTICAST_HOPS": 10,
    "IPV6_MULTICAST_LOOP": 11, "IPV6_ADD_MEMBERSHIP": 12, "IPV6_DROP_MEMBERSHIP": 13,
    "IPV6_DONTFRAG": 14, "IPV6_PKTINFO": 19, "IPV6_HOPLIMIT": 21, "IPV6_PROTECTION_LEVEL": 23,
    "IPV6_V6ONLY": 27, "IPV6_UNICAST_IF": 31, "IPV6_RECVTCLASS": 40,
}
_FAMILY_NAMES: Final = {2: "AF_INET", 23: "AF_INET6"}


def load() -> dict[str, Any]:
    """The corpus as stored."""
    data: dict[str, Any] = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
    return data


def number(value: object) -> int:
    """A corpus value as a C int: a name of :data:`NAMES` or an int."""
    if isinstance(value, str):
        return NAMES[value]
    assert isinstance(value, int), value
    return value


def c_int(value: object) -> int:
    """A corpus value as Python's socket module passes it: a C int (0xffffffff is -1)."""
    number = value if isinstance(value, int) else NAMES[str(value)]
    return number - (1 << 32) if number > 0x7FFFFFFF else number


def expectations(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The steps of ``record`` that carry an expectation."""
    return (step for step in record["steps"] if "expect" in step)


class MismatchError(AssertionError):
    """A step whose outcome differs from Windows' (the record id, step and both)."""


def _codes(spec: str) -> set[int] | None:
    if spec == "any":
        return None
    return {int(WinError[name]) for name in spec.split("|")}


class _Ports:
    """The ``"P"`` ports a record names (``"P+1"`` is the next one)."""

    def __init__(self) -> None:
        self.named: dict[str, int] = {}

    def resolve(self, value: object) -> int:
        if isinstance(value, str):
            base, _, plus = value.partition("+")
            return self.named[base] + int(plus or 0)
        assert isinstance(value, int)
        return value

    def matches(self, expected: object, got: int) -> bool:
        if expected == "nonzero":
            return got != 0
        return self.resolve(expected) == got


class _Runner:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.ports = _Ports()

    def run(self) -> None:
        for index, step in enumerate(self.record["steps"]):
            outcome = self.step(step)
            if "expect" in step and outcome is not None:
                self.check(index, step, outcome)

    def step(self, step: dict[str, Any]) -> dict[str, Any] | None:
        handler: Callable[[dict[str, Any]], dict[str, Any] | None] = getattr(self, "op_" + step["op"])
        return handler(step)

    def check(self, index: int, step: dict[str, Any], got: dict[str, Any]) -> None:
        expect = step["expect"]
        problems = []
        if "error" in expect:
            codes = _codes(expect["error"])
            if "error" not in got:
                problems.append(f"succeeded; Windows fails with {expect['error']}")
            elif codes is not None and got["error"] not in codes:
                problems.append(f"failed with {got['error']}; Windows with {expect['error']}")
        elif "error" in got:
            problems.append(f"failed with {got['error']} ({got.get('detail', '')}); Windows succeeds")
        for key, want in expect.items():
            if key in ("ok", "error") or key not in got:
                continue
            have = got[key]
            if key == "port":
                good = self.ports.matches(want, have)
            elif isinstance(want, str) and "|" in want and key not in ("family",):
                good = have in {int(v) for v in want.split("|")}
            elif key == "family" and isinstance(want, str):
                good = have in {NAMES[v] for v in want.split("|")}
            elif key in ("type", "protocol") and isinstance(want, str):
                good = have == NAMES[want]
            else:
                good = have == want
            if not good:
                problems.append(f"{key} is {have!r}; Windows gives {want!r}")
        if problems:
            raise MismatchError(f"{self.record['id']} step {index} ({step['op']}): " + "; ".join(problems))


class DllRunner(_Runner):
    """The record's C calls on an emulated process's ws2_32 (see the module docstring)."""

    def __init__(self, record: dict[str, Any], ws2: Any) -> None:
        super().__init__(record)
        self.ws2 = ws2
        self.sockets: dict[str, int] = {"invalid": _abi.INVALID_SOCKET}
        self.families: dict[str, int] = {}
        self.last_get = b""
        self.keep: list[Any] = []

    def run(self) -> None:
        if self.record.get("auto_startup", True):
            data = _abi.WSADATA()
            assert self.ws2.WSAStartup(0x0202, ctypes.addressof(data)) == 0
        super().run()

    # --- helpers ---------------------------------------------------------------------------

    def _result(self, ok: bool, **extra: Any) -> dict[str, Any]:
        last = self.ws2.WSAGetLastError()
        if ok:
            return {"last_error": last, **extra}
        return {"error": last, **extra}

    def _sockaddr(self, family: int, host: str, port: int) -> Any:
        if family == NAMES["AF_INET6"]:
            sin6 = _abi.SOCKADDR_IN6()
            sin6.sin6_family, sin6.sin6_port = family, _abi.htons(port)
            sin6.sin6_addr[:] = list(ipaddress.IPv6Address(host).packed)
            return sin6
        sin = _abi.SOCKADDR_IN()
        sin.sin_family, sin.sin_port = family, _abi.htons(port)
        sin.sin_addr[:] = list(ipaddress.IPv4Address(host).packed)
        return sin

    def _read_sockaddr(self, buffer: Any) -> tuple[str, int]:
        family = ctypes.c_uint16.from_buffer(buffer).value
        if family == NAMES["AF_INET6"]:
            sin6 = _abi.SOCKADDR_IN6.from_buffer(buffer)
            host = str(ipaddress.IPv6Address(bytes(sin6.sin6_addr)))
            return host, _abi.ntohs(sin6.sin6_port)
        sin = _abi.SOCKADDR_IN.from_buffer(buffer)
        return str(ipaddress.IPv4Address(bytes(sin.sin_addr))), _abi.ntohs(sin.sin_port)

    # --- WSAStartup and WSACleanup ----------------------------------------------------------

    def op_startup(self, step: dict[str, Any]) -> dict[str, Any]:
        major, minor = (int(part) for part in step["version"].split("."))
        data = _abi.WSADATA()
        ctypes.memset(ctypes.addressof(data), 0xCC, ctypes.sizeof(data))
        data.lpVendorInfo = 0xDEADBEEF
        result = self.ws2.WSAStartup(major | minor << 8, None if step.get("null_data") else ctypes.addressof(data))
        got: dict[str, Any] = {"result": result} if result == 0 else {"error": result}
        if not step.get("null_data"):
            got.update(
                wVersion=f"{data.wVersion & 0xFF}.{data.wVersion >> 8}",
                wHighVersion=f"{data.wHighVersion & 0xFF}.{data.wHighVersion >> 8}",
                szDescription=bytes(data.szDescription).split(b"\0")[0].decode("ascii", "replace"),
                szSystemStatus=bytes(data.szSystemStatus).split(b"\0")[0].decode("ascii", "replace"),
                iMaxSockets=data.iMaxSockets, iMaxUdpDg=data.iMaxUdpDg,
                lpVendorInfo="untouched" if data.lpVendorInfo == 0xDEADBEEF else data.lpVendorInfo)
        return got

    def op_cleanup(self, step: dict[str, Any]) -> dict[str, Any]:
        del step
        return self._result(self.ws2.WSACleanup() == 0)

    # --- sockets ------------------------------------------------------------------------------

    def op_socket(self, step: dict[str, Any]) -> dict[str, Any]:
        family, kind = number(step["family"]), number(step["type"])
        handle = self.ws2.socket(family, kind, number(step["proto"]))
        if handle == _abi.INVALID_SOCKET:
            return self._result(False)
        got = self._result(True)
        if "as" in step:
            self.sockets[step["as"]] = handle
            if family in _FAMILY_NAMES:
                self.families[step["as"]] = family
        value = ctypes.c_int(0)
        size = ctypes.c_int(4)
        if self.ws2.getsockopt(handle, NAMES["SOL_SOCKET"], NAMES["SO_TYPE"],
                               ctypes.addressof(value), ctypes.addressof(size)) == 0:
            got["type"] = value.value
        if "as" not in step:
            self.ws2.closesocket(handle)
        return got

    def op_close(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._result(self.ws2.closesocket(self.sockets[step["sock"]]) == 0)

    def op_bind(self, step: dict[str, Any]) -> dict[str, Any]:
        name = step["sock"]
        addr = self._sockaddr(self.families[name], step["host"], self.ports.resolve(step["port"]))
        return self._result(self.ws2.bind(self.sockets[name], ctypes.addressof(addr),
                                          ctypes.sizeof(addr)) == 0)

    def op_bind_raw(self, step: dict[str, Any]) -> dict[str, Any]:
        pointer = None
        if step["name"] != "null":
            spec = step["name"]
            family = number(spec["family"])
            addr = self._sockaddr(family if family in _FAMILY_NAMES else NAMES["AF_INET"],
                                  spec.get("host", "0.0.0.0" if family != NAMES["AF_INET6"] else "::"), 0)
            ctypes.c_uint16.from_address(ctypes.addressof(addr)).value = family
            self.keep.append(addr)
            pointer = ctypes.addressof(addr)
        return self._result(self.ws2.bind(self.sockets[step["sock"]], pointer, step["namelen"]) == 0)

    def _name(self, function: Any, step: dict[str, Any], namelen: int = 128) -> dict[str, Any]:
        buffer = (ctypes.c_uint8 * 128)()
        size = ctypes.c_int(namelen)
        ok = function(self.sockets[step["sock"]], ctypes.addressof(buffer), ctypes.addressof(size)) == 0
        got = self._result(ok, namelen=size.value)
        if ok:
            got["host"], got["port"] = self._read_sockaddr(buffer)
            if "as_port" in step:
                self.ports.named[step["as_port"]] = got["port"]
        return got

    def op_getsockname(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._name(self.ws2.getsockname, step)

    def op_getsockname_raw(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._name(self.ws2.getsockname, step, step["namelen"])

    def op_getpeername(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._name(self.ws2.getpeername, step)

    def op_getpeername_raw(self, step: dict[str, Any]) -> dict[str, Any]:
        buffer = (ctypes.c_uint8 * 128)()
        size = ctypes.c_int(0 if step["namelen"] == "null" else step["namelen"])
        name = None if step["name"] == "null" else ctypes.addressof(buffer)
        length = None if step["namelen"] == "null" else ctypes.addressof(size)
        ok = self.ws2.getpeername(self.sockets[step["sock"]], name, length) == 0
        got = self._result(ok, namelen=size.value)
        if ok:
            got["host"], got["port"] = self._read_sockaddr(buffer)
        return got

    def op_connect(self, step: dict[str, Any]) -> dict[str, Any]:
        name = step["sock"]
        addr = self._sockaddr(self.families[name], step["host"], self.ports.resolve(step["port"]))
        return self._result(self.ws2.connect(self.sockets[name], ctypes.addressof(addr),
                                             ctypes.sizeof(addr)) == 0)

    def op_listen(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._result(self.ws2.listen(self.sockets[step["sock"]], step["backlog"]) == 0)

    def op_accept(self, step: dict[str, Any]) -> dict[str, Any]:
        name = step["sock"]
        handle = self.ws2.accept(self.sockets[name], None, None)
        if handle == _abi.INVALID_SOCKET:
            return self._result(False)
        self.sockets[step["as"]], self.families[step["as"]] = handle, self.families[name]
        return self._result(True)

    def op_accept_raw(self, step: dict[str, Any]) -> dict[str, Any]:
        buffer = (ctypes.c_uint8 * 128)()
        size = ctypes.c_int(0 if step["namelen"] == "null" else step["namelen"])
        name = None if step["name"] == "null" else ctypes.addressof(buffer)
        length = None if step["namelen"] == "null" else ctypes.addressof(size)
        handle = self.ws2.accept(self.sockets[step["sock"]], name, length)
        got = self._result(handle != _abi.INVALID_SOCKET, namelen=size.value,
                           name_untouched=not any(buffer))
        if handle != _abi.INVALID_SOCKET:
            got["family"] = ctypes.c_uint16.from_buffer(buffer).value
            if "as" in step:
                self.sockets[step["as"]] = handle
            else:
                self.ws2.closesocket(handle)
        return got

    def op_connect_unspec(self, step: dict[str, Any]) -> dict[str, Any]:
        addr = _abi.SOCKADDR_IN()  # all zeros, sin_family AF_UNSPEC
        return self._result(self.ws2.connect(self.sockets[step["sock"]], ctypes.addressof(addr),
                                             ctypes.sizeof(addr)) == 0)

    # --- options ----------------------------------------------------------------------------

    def op_setsockopt(self, step: dict[str, Any]) -> dict[str, Any]:
        buffer = (ctypes.c_uint8 * 64)()
        value = step["value"] & 0xFFFFFFFFFFFFFFFF
        buffer[:8] = list(value.to_bytes(8, "little"))
        return self._result(self.ws2.setsockopt(
            self.sockets[step["sock"]], number(step["level"]), number(step["name"]),
            ctypes.addressof(buffer), step.get("optlen", 4)) == 0)

    def op_setsockopt_null(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._result(self.ws2.setsockopt(
            self.sockets[step["sock"]], number(step["level"]), number(step["name"]), None,
            step["optlen"]) == 0)

    def op_setsockopt_echo(self, step: dict[str, Any]) -> dict[str, Any]:
        buffer = (ctypes.c_uint8 * 256).from_buffer_copy(self.last_get.ljust(256, b"\0"))
        return self._result(self.ws2.setsockopt(
            self.sockets[step["sock"]], number(step["level"]), number(step["name"]),
            ctypes.addressof(buffer), len(self.last_get)) == 0)

    def op_getsockopt(self, step: dict[str, Any]) -> dict[str, Any]:
        buffer = (ctypes.c_uint8 * 256)()
        fill = step.get("fill", 0)
        buffer[:4] = list(fill.to_bytes(4, "little"))
        size = ctypes.c_int(step.get("optlen", 4))
        ok = self.ws2.getsockopt(self.sockets[step["sock"]], number(step["level"]),
                                 number(step["name"]), ctypes.addressof(buffer),
                                 ctypes.addressof(size)) == 0
        raw = int.from_bytes(bytes(buffer[:4]), "little")
        got = self._result(ok, optlen=size.value, raw=raw, raw_low16=raw & 0xFFFF)
        if ok:
            length = max(0, min(size.value, 8))
            got["value"] = int.from_bytes(bytes(buffer[:length]), "little") if length else 0
            self.last_get = bytes(buffer[:max(0, size.value)])
        return got

    # --- WSAIoctl -------------------------------------------------------------------------

    def _ioctl(self, step: dict[str, Any], code: int, in_buffer: Any, in_size: int,
               out_buffer: Any, out_size: int) -> dict[str, Any]:
        count = _abi.DWORD(0xDEADBEEF)
        overlapped = _abi.WSAOVERLAPPED()
        result = self.ws2.WSAIoctl(
            self.sockets[step["sock"]], code,
            ctypes.addressof(in_buffer) if in_buffer is not None else None, in_size,
            ctypes.addressof(out_buffer) if out_buffer is not None else None, out_size,
            ctypes.addressof(count) if step["bytes"] == "ptr" else None,
            ctypes.addressof(overlapped) if step["overlapped"] else None, None)
        got = self._result(result == 0)
        got["bytes"] = "untouched" if count.value == 0xDEADBEEF else count.value
        if step["overlapped"] and result != 0 and got["error"] == int(WinError.WSA_IO_PENDING):
            transferred, flags = _abi.DWORD(), _abi.DWORD()
            done = self.ws2.WSAGetOverlappedResult(self.sockets[step["sock"]], ctypes.addressof(overlapped),
                                                   ctypes.addressof(transferred), 0, ctypes.addressof(flags))
            got["completion"] = "ok" if done else WinError(self.ws2.WSAGetLastError()).name
        return got

    def op_ioctl(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._ioctl(step, step["code"], None, 0, None, 0)

    def op_ioctl_acquire(self, step: dict[str, Any]) -> dict[str, Any]:
        request = _abi.INET_PORT_RANGE(0, 1)
        answer = _abi.INET_PORT_RESERVATION_INSTANCE()
        return self._ioctl(step, _abi.SIO_ACQUIRE_PORT_RESERVATION, request, ctypes.sizeof(request),
                           answer, ctypes.sizeof(answer))


class ApiRunner(_Runner):
    """The record through :class:`portpool.PortPool` (either backend)."""

    def __init__(self, record: dict[str, Any], pool: PortPool) -> None:
        super().__init__(record)
        self.pool = pool
        self.sockets: dict[str, Socket] = {}

    def _call(self, call: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        try:
            return call(), {}
        except PortPoolError as exc:
            return None, {"error": exc.winerror, "detail": str(exc)}

    def op_socket(self, step: dict[str, Any]) -> dict[str, Any]:
        sock, got = self._call(lambda: self.pool.socket(number(step["family"]), number(step["type"]),
                                                        number(step["proto"])))
        if sock is not None:
            got.update(family=sock.family, type=sock.type,
                       protocol=int(sock.protocol) if sock.protocol is not None else 0)
            if "as" in step:
                self.sockets[step["as"]] = sock
            else:
                sock.close()
        return got

    def op_close(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._call(self.sockets[step["sock"]].close)[1]

    def op_bind(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        return self._call(lambda: sock.bind((step["host"], self.ports.resolve(step["port"]))))[1]

    def _name(self, step: dict[str, Any], call: Callable[[], Any]) -> dict[str, Any]:
        address, got = self._call(call)
        if address is not None:
            got["host"], got["port"] = address[0], address[1]
            if "as_port" in step:
                self.ports.named[step["as_port"]] = address[1]
        return got

    def op_getsockname(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._name(step, self.sockets[step["sock"]].getsockname)

    def op_getpeername(self, step: dict[str, Any]) -> dict[str, Any]:
        return self._name(step, self.sockets[step["sock"]].getpeername)

    def op_connect(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        return self._call(lambda: sock.connect((step["host"], self.ports.resolve(step["port"]))))[1]

    def op_listen(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        return self._call(lambda: sock.listen(step["backlog"]))[1]

    def op_accept(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        pair, got = self._call(sock.accept)
        if pair is not None:
            self.sockets[step["as"]] = pair[0]
        return got

    def op_connect_unspec(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        wildcard = "::" if sock.family == NAMES["AF_INET6"] else "0.0.0.0"
        return self._call(lambda: sock.connect((wildcard, 0)))[1]

    def op_setsockopt(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        optlen = step.get("optlen", 4)
        value: int | bytes = step["value"]
        if optlen != 4:
            value = (step["value"] & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little").ljust(64, b"\0")[:optlen]
        return self._call(lambda: sock.setsockopt(c_int(step["level"]), c_int(step["name"]), value))[1]

    def op_getsockopt(self, step: dict[str, Any]) -> dict[str, Any]:
        sock = self.sockets[step["sock"]]
        value, got = self._call(lambda: sock.getsockopt(c_int(step["level"]), c_int(step["name"])))
        if value is not None:
            got["value"] = value
        return got


def api_record(record: dict[str, Any]) -> bool:
    """Whether ``record`` also runs through the PortPool interface."""
    return bool(record["surface"] == "api")
