"""What Python decides: the types and C widths of the interface's arguments.

Both backends check their arguments here before anything reaches Windows (or the model),
so the same call raises the same exception on both.  The conventions are Python's own
``socket`` module's: a value of the wrong type raises :class:`TypeError` naming the
parameter (``bind(("h", "x"))``), an int that no C field of the call can hold raises
:class:`OverflowError` where Python's ``socket`` does (a port outside 0-65535, a family
outside a C int).  Ints that fit but that Windows refuses are Windows' business: the
model answers them with a :class:`~portpool.PortPoolError` and its code (for example a
StartPort of 70000 for SIO_ACQUIRE_PORT_RESERVATION: WSAEINVAL, rule R9c).  Nothing is
ever truncated silently.
"""

from __future__ import annotations

from typing import Final

from ._errors import shown
from ._types import Family

__all__ = ["check_address", "check_int", "check_option", "check_processor", "check_socket_args"]

_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1
_FLOWINFO_MAX: Final = 2**20 - 1


def check_int(value: object, parameter: str) -> int:
    """``value`` as an int (an IntEnum is fine; a bool or anything else is not).

    Raises:
        TypeError: naming ``parameter``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{parameter} must be an int, not {type(value).__name__}")


def check_socket_args(family: object, kind: object, proto: object) -> tuple[int, int, int]:
    """socket()'s three ints, each within a C int (Windows judges the values: W6-W11).

    Raises:
        TypeError: an argument is not an int.
        OverflowError: an argument does not fit a C int, as Python's ``socket`` says.
    """
    out = []
    for value, name in ((family, "family"), (kind, "type"), (proto, "proto")):
        number = check_int(value, name)
        if not _INT_MIN <= number <= _INT_MAX:
            raise OverflowError(f"socket(): {name} {shown(number)} does not fit a C int")
        out.append(number)
    return out[0], out[1], out[2]


def check_address(address: object, family: Family, call: str = "bind") -> tuple[str, int]:
    """bind()'s (or ``call``'s) address, as Python's ``socket`` checks it: ``(host, port)``
    for AF_INET, ``(host, port[, flowinfo[, scope_id]])`` for AF_INET6.

    Whether ``host`` is an address of the family is Windows' business (rule W4).

    Returns:
        ``(host, port)``.

    Raises:
        TypeError: not a tuple of the right length, a host that is not a str, or a port,
            flowinfo or scope id that is not an int.
        OverflowError: a port outside 0-65535, a flowinfo outside 0-1048575 or a scope
            id outside 0-4294967295.
    """
    if not isinstance(address, tuple):
        raise TypeError(f"{_name(family)} address must be tuple, not"
                        f" {type(address).__name__}")
    if family is Family.INET and len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    if family is Family.INET6 and not 2 <= len(address) <= 4:
        raise TypeError("AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])")
    host, port = address[0], address[1]
    if not isinstance(host, str):
        raise TypeError(f"{call}(): host must be a str, not {type(host).__name__}")
    number = check_int(port, f"{call}(): port")
    if not 0 <= number <= 65535:
        raise OverflowError(f"{call}(): port must be 0-65535.")
    if len(address) > 2:
        flowinfo = check_int(address[2], f"{call}(): flowinfo")
        if not 0 <= flowinfo <= _FLOWINFO_MAX:
            raise OverflowError(f"{call}(): flowinfo must be 0-{_FLOWINFO_MAX}.")
    if len(address) > 3:
        scope = check_int(address[3], f"{call}(): scope_id")
        if not 0 <= scope <= 2**32 - 1:
            raise OverflowError(f"{call}(): scope_id must be 0-4294967295.")
    return host, number


def check_option(level: object, option: object, value: object,
                 call: str = "setsockopt") -> tuple[int, int, bytes]:
    """setsockopt()'s arguments as Python's ``socket`` takes them: ``level`` and
    ``option`` ints within a C int, ``value`` an int (sent as a 4-byte C int, little-endian
    as on x86 and ARM Windows) or a bytes-like buffer (sent as it is).

    Raises:
        TypeError: a level or option that is not an int, or a value that is neither an
            int nor bytes-like.
        OverflowError: an int that does not fit a C int.
    """
    numbers = []
    for number, name in ((level, "level"), (option, "option")):
        checked = check_int(number, f"{call}(): {name}")
        if not _INT_MIN <= checked <= _INT_MAX:
            raise OverflowError(f"{call}(): {name} {checked} does not fit a C int")
        numbers.append(checked)
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT_MIN <= value <= _INT_MAX:
            raise OverflowError("setsockopt(): the value does not fit a C int")
        data = int(value).to_bytes(4, "little", signed=True)
    elif isinstance(value, bool):
        data = int(value).to_bytes(4, "little")  # Python's socket takes a bool as an int
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        raise TypeError(f"setsockopt(): the value must be an int or a bytes-like object, not"
                        f" {type(value).__name__}")
    return numbers[0], numbers[1], data


def check_processor(processor: object) -> int:
    """SIO_CPU_AFFINITY's processor number: an int that fits its USHORT.

    Raises:
        TypeError: not an int.
        OverflowError: outside 0-65535.
    """
    number = check_int(processor, "processor")
    if not 0 <= number <= 65535:
        raise OverflowError("processor must be 0-65535 (a USHORT)")
    return number


def _name(family: Family) -> str:
    return "AF_INET" if family is Family.INET else "AF_INET6"
