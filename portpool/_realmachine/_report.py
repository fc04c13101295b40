"""Failures explained where they happen: ``why``'s answer for a failed test's OSError.

The pytest plugin hands the exception of a failed test to :func:`failure_text`, which
finds the OSError in its chain, recovers the failed call's address and protocol from the
traceback, and asks :func:`._why.explain_error` on the machine the error came from:

* under :func:`portpool.patch`, the innermost frame of the patched socket's ``bind`` or
  ``connect`` holds the address, and its socket the machine (the patch's host);
* on real Windows the failing line of the test's code is read back (``s.bind((host,
  port))``, ``self.socket.bind(self.server_address)``): the call's first argument is
  evaluated from the frame's names, constants, tuples and plain attributes only (no call,
  no property, no subscript runs);
* asyncio's servers put the address in their message, which :func:`explain_error` reads.

Only socket errors that carry a Windows code (Python on Windows, the patch) are
explained: a Winsock code (10000-11999), not a file error's; a plain POSIX error on Linux
gets nothing.
"""

from __future__ import annotations

import ast
import errno
import linecache
import os
import socket
from types import FrameType, TracebackType
from typing import Any, Final

from .._host import EmulatedHost
from .._types import Protocol
from ._why import explain_error

__all__ = ["failure_text", "find_oserror"]

_CALLS: Final = frozenset({"bind", "connect", "connect_ex"})
_SOCKET_ERRNOS: Final = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.ECONNREFUSED})
_MISSING: Final = object()


def find_oserror(exc: BaseException) -> OSError | None:
    """The first OSError in ``exc``'s chain (``exc`` itself, its cause, its context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and _has_windows_code(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def _has_windows_code(exc: OSError) -> bool:
    """Whether ``exc`` is a socket error with a Windows code: a Winsock ``winerror``
    (10000-11999; a file error's winerror 2 or 5 is not one), or, on Windows, one of the
    errno values asyncio re-raises bind and connect errors with (the address in its text)."""
    code = getattr(exc, "winerror", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return 10000 <= code < 12000
    if os.name != "nt" or exc.errno is None:
        return False
    return exc.errno in _SOCKET_ERRNOS or (exc.errno == errno.EACCES and "address" in str(exc))


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


def _plain(node: ast.AST, frame: FrameType) -> Any:
    """A value from names, constants, tuples and plain attributes (instance ``__dict__``
    entries and class attributes that are no descriptors), else ``_MISSING``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in frame.f_locals:
            return frame.f_locals[node.id]
        return frame.f_globals.get(node.id, _MISSING)
    if isinstance(node, ast.Tuple):
        items = [_plain(e, frame) for e in node.elts]
        return _MISSING if any(i is _MISSING for i in items) else tuple(items)
    if isinstance(node, ast.Attribute):
        owner = _plain(node.value, frame)
        if owner is _MISSING:
            return _MISSING
        found = getattr(owner, "__dict__", {}).get(node.attr, _MISSING)
        if found is _MISSING:
            found = getattr(type(owner), node.attr, _MISSING)
            if hasattr(found, "__get__"):  # a method or a property: nothing runs
                return _MISSING
        return found
    return _MISSING


def _protocol_of(sock: Any) -> Protocol | None:
    if not isinstance(sock, socket.socket):
        return None
    number = int(sock.type) & 0xF  # SOCK_NONBLOCK/SOCK_CLOEXEC flags aside
    return {1: Protocol.TCP, 2: Protocol.UDP}.get(number)


def _from_source(frame: FrameType, line: int) -> tuple[object, Protocol | None] | None:
    """The address (and protocol) of a ``x.bind(ADDR)``/``x.connect(ADDR)`` on the line."""
    text = linecache.getline(frame.f_code.co_filename, line, frame.f_globals).strip()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _CALLS and node.args):
            address = _plain(node.args[0], frame)
            if address is _MISSING:
                continue
            sock = _plain(node.func.value, frame)
            return address, (_protocol_of(sock) if sock is not _MISSING else None)
    return None


def _patched_host(sock: Any) -> EmulatedHost | None:
    session = getattr(sock, "_pp_session", None)
    pool = getattr(session, "pool", None)
    host = getattr(pool, "host", None)
    return host if isinstance(host, EmulatedHost) else None


def _usable(address: object) -> bool:
    """Whether ``address`` is a port or a ``(str, int, ...)`` tuple."""
    if isinstance(address, int):
        return not isinstance(address, bool)
    return (isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str)
            and isinstance(address[1], int) and not isinstance(address[1], bool))


def failure_text(exc: BaseException, tb: TracebackType | None) -> str | None:
    """``why``'s answer for a failed test's exception, or ``None`` (no Windows OSError in
    its chain).  Never raises: a failure report must not fail."""
    try:
        error = find_oserror(exc)
        if error is None:
            return None
        address: object = None
        protocol: Protocol | None = None
        machine: EmulatedHost | None = None
        frames = _frames(error.__traceback__ or tb)
        for frame, line in reversed(frames):
            local = frame.f_locals
            me = local.get("self")
            if frame.f_code.co_name in _CALLS and "address" in local and _protocol_of(me) is not None:
                address, protocol, machine = local["address"], _protocol_of(me), _patched_host(me)
                break
            found = _from_source(frame, line)
            if found is not None:
                address, protocol = found
                break
        if not _usable(address):
            address = None
        answer = explain_error(error, address, protocol, machine=machine)
    except Exception as problem:  # the report of a failed test must not fail too
        return f"portpool could not explain this error: {type(problem).__name__}: {problem}\n"
    return str(answer)
