"""Where an exception came from (the deepest portpool frame), which exceptions a caller
may see (:data:`ALLOWED`), and the capture of stderr and unraisable exceptions that the
DLLs' catch-all and callbacks leave behind.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from ..._errors import PortPoolError

#: The exception types a caller may see.  Subclasses count only when portpool defines
#: them (StoreError, NetshParseError): a foreign ValueError subclass escaping
#: (``ipaddress.AddressValueError``) means an internal error leaked.
ALLOWED: Final = (PortPoolError, TypeError, ValueError, OverflowError)
_PYTHON_DECIDES: Final = frozenset({TypeError, ValueError, OverflowError})


def _roots() -> tuple[tuple[str, str], ...]:
    here = os.path.dirname(os.path.abspath(__file__))  # portpool/testing/_fuzz
    package = os.path.dirname(os.path.dirname(here))
    spec = importlib.util.find_spec("portpool.backends")  # backends/ in a checkout
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    backends = os.path.abspath(locations[0]) if locations else os.path.join(package, "backends")
    return ((os.path.join(package, "testing"), ""), (backends, "backends"), (package, "portpool"))


_ROOTS: Final = _roots()


def _library_path(filename: str) -> str | None:
    """``portpool/...`` or ``backends/...`` for a library file; ``None`` otherwise."""
    path = os.path.abspath(filename)
    for root, label in _ROOTS:
        if path.startswith(root + os.sep):
            return f"{label}/{os.path.relpath(path, root)}" if label else None
    return None


def exception_site(exc: BaseException) -> str:
    """``file:line`` of the deepest frame inside portpool that the exception passed."""
    site = "(outside portpool)"
    for frame in traceback.extract_tb(exc.__traceback__):
        where = _library_path(frame.filename)
        if where is not None:
            site = f"{where}:{frame.lineno}"
    return site


def _allowed(exc: BaseException) -> bool:
    if isinstance(exc, PortPoolError):
        return True
    if type(exc) in _PYTHON_DECIDES:
        return True
    return isinstance(exc, ALLOWED) and type(exc).__module__.startswith("portpool")


_FRAME: Final = re.compile(r'^\s*File "([^"]+)", line (\d+)')


def _tracebacks(text: str) -> list[tuple[str, str]]:
    """``(exception type, deepest portpool site)`` of each traceback printed in ``text``."""
    found = []
    for block in text.split("Traceback (most recent call last):")[1:]:
        site, kind = "(outside portpool)", "?"
        for line in block.splitlines():
            match = _FRAME.match(line)
            if match:
                where = _library_path(match.group(1))
                if where is not None:
                    site = f"{where}:{match.group(2)}"
            elif line and not line[0].isspace():
                kind = line.split(":", 1)[0].strip()
                break
        found.append((kind, site))
    return found


class _Tap:
    """A stand-in for ``sys.stderr`` that keeps what is written (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self.unraisable: list[tuple[str, str]] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""

    def pending(self) -> bool:
        """Whether anything was written since the last :meth:`take`."""
        return bool(self._parts) or bool(self.unraisable)

    def take(self) -> str:
        """Everything written since the last call."""
        with self._lock:
            text = "".join(self._parts)
            self._parts.clear()
        return text

    def hook(self, info: Any) -> None:
        """``sys.unraisablehook``: exceptions raised where nobody could catch them."""
        exc = info.exc_value
        site = exception_site(exc) if exc is not None else "?"
        with self._lock:
            self.unraisable.append((type(exc).__name__ if exc is not None else "?", site))


@contextmanager
def _capturing() -> Iterator[_Tap]:
    """Keep stderr and unraisable exceptions for the fuzzer to attribute."""
    tap = _Tap()
    old_stderr, old_hook = sys.stderr, sys.unraisablehook
    sys.stderr = tap  # type: ignore[assignment,unused-ignore]  # write/flush: all print needs
    sys.unraisablehook = tap.hook
    try:
        yield tap
    finally:
        sys.stderr, sys.unraisablehook = old_stderr, old_hook
