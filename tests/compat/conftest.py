"""The compatibility matrix's machine and deadlines.

Every test here runs a third-party stack unchanged, as a user's test would: the stack is
imported at the top of the module (before any patch), the test asks for the plugin's
``portpool_patch`` fixture on a Hyper-V-like machine (``pytestmark`` of each module) with
one more WinNAT block, 8000-8099, TCP and UDP, and checks three things: a bind inside
the block gets Windows' answer, a request is carried, and the stack stops within
seconds.  Anything that could hang runs in a thread joined with a deadline
(:func:`within`), so a hang fails loudly instead of stopping the run.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from portpool import EmulatedHost, PortRange, Protocol

#: The WinNAT block every test adds, and a port inside it.
BLOCK = PortRange(8000, 100)
INSIDE = 8050
#: Seconds a stack gets to start, answer or stop.
DEADLINE = 10.0

T = TypeVar("T")

#: An ASGI application's three arguments (the specification's dicts and awaitables).
ASGIScope = dict[str, Any]
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]


@pytest.fixture
def machine(portpool_patch: EmulatedHost) -> EmulatedHost:
    """The patched Hyper-V-like machine with WinNAT over 8000-8099 (TCP and UDP)."""
    for protocol in (Protocol.TCP, Protocol.UDP):
        portpool_patch.exclude(protocol, BLOCK.start, BLOCK.count)
    return portpool_patch


def outside_rows(host: EmulatedHost, port: int, protocol: Protocol = Protocol.TCP) -> bool:
    """Whether ``port`` lies outside every row netsh lists for ``protocol``."""
    return all(port not in row.range for row in host.exclusions(protocol))


def within(seconds: float, call: Callable[..., T], *args: Any, what: str = "") -> T:
    """``call(*args)`` in a daemon thread, joined with a deadline.

    Raises:
        pytest.fail.Exception: it did not return within ``seconds`` (the thread is left
            behind, a daemon).
        BaseException: whatever ``call`` raised.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"compat {what or call!r}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{what or getattr(call, '__qualname__', call)} did not return within {seconds} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]  # set: the call returned
    return value


@contextmanager
def serving(serve: Callable[[], Any], stop: Callable[[], Any], *, what: str,
            seconds: float = DEADLINE) -> Iterator[threading.Thread]:
    """Run ``serve`` in a thread; on leaving, ``stop()`` and the thread must both end
    within ``seconds``."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve()
        except BaseException as exc:  # reported when the test ends
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"compat {what}", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        within(seconds, stop, what=f"{what}: stopping")
        thread.join(seconds)
        if thread.is_alive():
            pytest.fail(f"{what} was still serving {seconds} s after it was stopped")
    if errors:
        raise errors[0]
