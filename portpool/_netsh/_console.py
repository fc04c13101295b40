"""What the real netsh.exe printed into a pipe: its code page, and whether it failed.

netsh is a console program: it writes its text in the console's output code page,
the one ``chcp`` shows and changes (``chcp 65001`` makes it UTF-8), which
``GetConsoleOutputCP`` returns for the console this process shares with it
(learn.microsoft.com/windows/console/getconsoleoutputcp; learn.microsoft.com/
windows-server/administration/windows-commands/chcp).  That need not be the system's
OEM code page, which Python's ``oem`` codec uses.  A process without a console
(``GetConsoleOutputCP`` returns 0) falls back to the OEM code page (``GetOEMCP``).

Its messages are in the display language, so a failure is recognised by netsh's exit
status first, and its Windows code by the message: the en-US texts portpool knows
(``netsh_message``) and the system's own text for each code, in the machine's
language, from ``FormatMessageW`` (learn.microsoft.com/windows/win32/api/winbase/
nf-winbase-formatmessagew).  netsh prints those system texts: its en-US failures
("Access is denied.", "The process cannot access the file because it is being used
by another process.", "Element not found.") are the system messages of
ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION and ERROR_NOT_FOUND word for word.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
from collections.abc import Callable, Iterable
from typing import Any, Final

from .._errors import WinError
from ._print import netsh_message

__all__ = ["SystemMessage", "console_output_code_page", "decode_console_output",
           "failure_texts", "find_code", "oem_code_page", "system_message"]

#: code -> the system's text for it, or None (``system_message`` on Windows).
SystemMessage = Callable[[int], "str | None"]

_FORMAT_MESSAGE_IGNORE_INSERTS: Final = 0x00000200
_FORMAT_MESSAGE_FROM_SYSTEM: Final = 0x00001000


@functools.cache
def _kernel32() -> Any:
    """A private kernel32 (so that setting prototypes touches no one else's), or None."""
    loader: Any = getattr(ctypes, "WinDLL", None)  # Windows only (mypy sees one platform)
    if loader is None:
        return None
    kernel32 = loader("kernel32")
    kernel32.GetConsoleOutputCP.restype = ctypes.c_uint32
    kernel32.GetOEMCP.restype = ctypes.c_uint32
    kernel32.FormatMessageW.restype = ctypes.c_uint32
    kernel32.FormatMessageW.argtypes = (ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32,
                                        ctypes.c_uint32, ctypes.c_wchar_p, ctypes.c_uint32,
                                        ctypes.c_void_p)
    return kernel32


def console_output_code_page() -> int:
    """``GetConsoleOutputCP()``: the console's output code page, 0 without a console
    (or off Windows)."""
    kernel32 = _kernel32()
    return int(kernel32.GetConsoleOutputCP()) if kernel32 is not None else 0


def oem_code_page() -> int:
    """``GetOEMCP()``: the system's OEM code page, 0 off Windows."""
    kernel32 = _kernel32()
    return int(kernel32.GetOEMCP()) if kernel32 is not None else 0


def decode_console_output(data: bytes, pages: Iterable[int] | None = None) -> str:
    """netsh's bytes as text, in the first of ``pages`` that decodes them.

    Args:
        data: what netsh wrote to its stdout pipe.
        pages: the code pages to try (default: the console's output code page, then
            the OEM code page; 0 entries are skipped).  UTF-8 with replacement comes
            last, so that the digits, ``*`` and ``tcp``/``udp`` the parsers need survive
            whatever happens.
    """
    chosen = [console_output_code_page(), oem_code_page()] if pages is None else list(pages)
    for page in chosen:
        if not page:
            continue
        with contextlib.suppress(UnicodeDecodeError, LookupError):
            return data.decode(f"cp{page}")  # cp65001 is UTF-8
    return data.decode("utf-8", errors="replace")


def system_message(code: int) -> str | None:
    """``FormatMessageW(FROM_SYSTEM)``: Windows' own text for ``code`` in the user's
    language, without its line ending; ``None`` off Windows or for an unknown code."""
    kernel32 = _kernel32()
    if kernel32 is None:
        return None
    buffer = ctypes.create_unicode_buffer(1024)
    size = kernel32.FormatMessageW(_FORMAT_MESSAGE_FROM_SYSTEM | _FORMAT_MESSAGE_IGNORE_INSERTS,
                                   None, code, 0, buffer, len(buffer), None)
    text = buffer.value[:size].strip() if size else ""
    return text or None


def failure_texts(messages: SystemMessage | None = None) -> dict[str, int]:
    """Every text netsh may print for a Windows code portpool knows -> that code.

    Args:
        messages: the system's text for a code (default :func:`system_message`); the
            en-US texts portpool knows are always included.
    """
    lookup = system_message if messages is None else messages
    texts: dict[str, int] = {}
    for code in WinError:
        with contextlib.suppress(ValueError):
            texts[netsh_message(code)] = int(code)
        local = lookup(int(code))
        if local:
            texts.setdefault(local.strip(), int(code))
    return texts


def find_code(output: str, texts: dict[str, int]) -> int | None:
    """The code of the first line of ``output`` that is one of ``texts``, or ``None``."""
    for line in output.splitlines():
        code = texts.get(line.strip())
        if code is not None:
            return code
    return None
