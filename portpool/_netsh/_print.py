"""Printing what en-US netsh prints, byte for byte: the tables, and the messages of add, delete and set."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from .._errors import WinError
from .._types import MAX_PORT, PortRange, Protocol
from ._values import ExcludedRange

# --- printing -------------------------------------------------------------------------

# N4, D-R60, NETSH_SAMPLES: the en-US layout.  Header, dash line and plain rows end in
# six spaces (the empty `*` column), as sample 01 and a Korean raw paste keep them; the
# title and legend have no trailing spaces (sample 01).  netsh prints a blank line before
# the title and after the legend (README of the samples; sample 16 keeps the last one).
_EXCLUDED_TITLE: Final = "Protocol {} Port Exclusion Ranges"
_EXCLUDED_HEADER: Final = "Start Port    End Port      "
_EXCLUDED_DASHES: Final = "----------    --------      "
_EXCLUDED_LEGEND: Final = "* - Administered port exclusions."
_PLAIN_MARK: Final = "      "
_ADMINISTERED_MARK: Final = "     *"

# dorssel/usbipd-win#53 and sample 40: 33 dashes, labels padded so the colons line up.
# The blank lines before and after are in the two captures named in the module docstring.
_DYNAMIC_TITLE: Final = "Protocol {} Dynamic Port Range"
_DYNAMIC_DASHES: Final = "-" * 33
_DYNAMIC_START: Final = "Start Port      : {}"
_DYNAMIC_COUNT: Final = "Number of Ports : {}"


def _protocol_word(protocol: object) -> str:
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol must be a portpool.Protocol, not {protocol!r}")
    return protocol.name.lower()


def _port(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {value!r}")
    if not 1 <= value <= MAX_PORT:
        raise ValueError(f"{what} {value} is not a port (1-65535)")
    return value


def render_excluded_ranges(protocol: Protocol, rows: Iterable[ExcludedRange]) -> str:
    """What ``netsh int ipv4 show excludedportrange protocol=...`` prints (en-US).

    Args:
        protocol: TCP or UDP (the title names it).
        rows: the rows, in any order; netsh lists them by start port.

    Returns:
        The output, byte for byte as en-US netsh prints it, with LF line endings: a
        blank line, the title, a blank line, the header, the dash line, one
        ``%10u  %10u`` row per block (``     *`` after administered ones, six spaces
        after the others), a blank line, the legend and a blank line.

    Raises:
        TypeError: ``protocol`` is not a Protocol, a row is not an ExcludedRange of
            ints and a bool.
        ValueError: a row is no port range, or two rows overlap (netsh's rows never do).
    """
    word = _protocol_word(protocol)
    checked: list[ExcludedRange] = []
    for row in rows:
        if not isinstance(row, tuple) or len(row) != 3:
            raise TypeError(f"rows must be ExcludedRange(start, end, administered), not {row!r}")
        start, end = _port(row[0], "start"), _port(row[1], "end")
        if not isinstance(row[2], bool):
            raise TypeError(f"administered must be a bool, not {row[2]!r}")
        if end < start:
            raise ValueError(f"the row {start}-{end} ends before it starts")
        checked.append(ExcludedRange(start, end, row[2]))
    checked.sort()
    for before, after in itertools.pairwise(checked):
        if after.start <= before.end:
            raise ValueError(f"the rows {before.start}-{before.end} and {after.start}-{after.end}"
                             " overlap")
    lines = ["", _EXCLUDED_TITLE.format(word), "", _EXCLUDED_HEADER, _EXCLUDED_DASHES]
    lines += [f"{row.start:10d}  {row.end:10d}"
              f"{_ADMINISTERED_MARK if row.administered else _PLAIN_MARK}" for row in checked]
    lines += ["", _EXCLUDED_LEGEND, "", ""]
    return "\n".join(lines)


def render_dynamic_port(protocol: Protocol, port_range: PortRange) -> str:
    """What ``netsh int ipv4 show dynamicport tcp|udp`` prints (en-US).

    Args:
        protocol: TCP or UDP (the title names it).
        port_range: the dynamic port range.

    Returns:
        The output, byte for byte, with LF line endings: a blank line, the title, 33
        dashes, ``Start Port      : N``, ``Number of Ports : N`` and a blank line.

    Raises:
        TypeError: ``protocol`` is not a Protocol or ``port_range`` not a PortRange.
    """
    word = _protocol_word(protocol)
    if not isinstance(port_range, PortRange):
        raise TypeError(f"port_range must be a portpool.PortRange, not {port_range!r}")
    lines = ["", _DYNAMIC_TITLE.format(word), _DYNAMIC_DASHES,
             _DYNAMIC_START.format(port_range.start), _DYNAMIC_COUNT.format(port_range.count),
             "", ""]
    return "\n".join(lines)


# --- messages -------------------------------------------------------------------------

#: What netsh prints for each outcome of add, delete and set, keyed by the Windows
#: code's name.  Sources:
#:
#: * ``Ok.``: cmd transcripts of ``netsh interface tcp set global ...`` and ``netsh
#:   advfirewall ...`` (GitHub-hosted notes), a blank line after it; WILD_OBS §E
#:   (FrameLink runbook).
#: * ERROR_SHARING_VIOLATION: MicrosoftDocs/sql-docs PR #8145 (netsh add over a port in
#:   use), the BigFix forum, D-R39; the system message of code 32.
#: * ERROR_ACCESS_DENIED: ``netsh int ipv4 delete excludedportrange protocol=tcp
#:   startport=1433 numberofports=1`` -> "Access is denied." on a WinNAT row (GitHub-hosted
#:   Jekyll post "Docker - ports are not available", 2020-12-20); rule X7.
#: * ERROR_ELEVATION_REQUIRED (740): netsh's own wording, longer than the system message
#:   "The requested operation requires elevation.": ``netsh i i se a ...`` unelevated in a
#:   GitHub-hosted note; LAB02-Research/HASS.Agent#48 (exit code 1);
#:   MysticFoxDE/WINDOWS-OPTIMIZATIONS#4 (German: "... (Als Administrator ausführen).").
#: * ERROR_NOT_FOUND, ERROR_INVALID_PARAMETER: the system messages of codes 1168 and 87
#:   (portpool._errors).  assumed: that netsh prints them alone, as it does the others.
MESSAGES: Final[Mapping[str, str]] = MappingProxyType({
    WinError.ERROR_SUCCESS.name: "Ok.",
    WinError.ERROR_ACCESS_DENIED.name: "Access is denied.",
    WinError.ERROR_SHARING_VIOLATION.name: (
        "The process cannot access the file because it is being used by another process."),
    WinError.ERROR_INVALID_PARAMETER.name: "The parameter is incorrect.",
    WinError.ERROR_NOT_FOUND.name: "Element not found.",
    WinError.ERROR_ELEVATION_REQUIRED.name: (
        "The requested operation requires elevation (Run as administrator)."),
})

# The text netsh prints when the command words match no command: MicrosoftDocs/
# windowsserverdocs#5875 ("netsh>routing /?" -> "The following command was not found:
# routing /?.").  assumed: exit status 1, and one line ending.
_NOT_FOUND: Final = "The following command was not found: {}."
_NOT_FOUND_STATUS: Final = 1

# The texts around a usage message.  Seen: "'Ethernet 2' is not a valid argument for this
# command." and the syntax line, then a blank line and "Usage: ..." (a test plan measured
# on Windows 11 26200, netsh interface ipv4 show dns, exit status 0); "One or more
# essential parameters were not entered." / "Verify the required parameters, and reenter
# them." then the syntax line (``set prefixpolicy`` without parameters, a Samba wiki
# transcript).  assumed: the duplicate-tag text, and that every usage message exits 0 as
# the measured one did.
_SYNTAX: Final = "The syntax supplied for this command is not valid. Check help for the correct syntax."
_INVALID_TAG: Final = "'{}' is not a valid argument for this command."
_MISSING: Final = ("One or more essential parameters were not entered.\n"
                   "Verify the required parameters, and reenter them.")
_DUPLICATE: Final = "'{}' is given more than once."  # assumed: ERROR_TAG_ALREADY_PRESENT's text
_USAGE_STATUS: Final = 0
# assumed: a value netsh does not accept prints the value and tag, then the system message
# of ERROR_INVALID_PARAMETER, and fails with status 1 (PreprocessCommand's and
# MatchEnumTag's ERROR_INVALID_PARAMETER, learn.microsoft.com netsh.h).
_BAD_VALUE: Final = "'{}' is not an acceptable value for {}."
_FAILURE_STATUS: Final = 1


def _message_name(code: WinError | int | str) -> str:
    if isinstance(code, str):
        name = code
    elif isinstance(code, int) and not isinstance(code, bool):
        try:
            name = WinError(code).name
        except ValueError:
            raise KeyError(code) from None
    else:
        raise TypeError(f"code must be a WinError, an int or a name, not {code!r}")
    return name


def netsh_message(code: WinError | int | str) -> str:
    """The line netsh prints for a Windows code (``Ok.`` for success).

    Args:
        code: a :class:`~portpool.WinError`, its value (740 for
            ERROR_ELEVATION_REQUIRED) or its name.

    Returns:
        The message, without a line ending.

    Raises:
        ValueError: netsh's text for that code is not known to portpool.
        TypeError: ``code`` is none of the above.
    """
    try:
        return MESSAGES[_message_name(code)]
    except KeyError:
        raise ValueError(f"portpool does not know what netsh prints for {code!r}") from None


def render_result(code: WinError | int | str) -> str:
    """What netsh prints when add, delete or set ends with ``code``.

    Args:
        code: as for :func:`netsh_message`; ERROR_SUCCESS (0) for success.

    Returns:
        The message and a blank line (``"Ok.\\n\\n"``); assumed for the failures, seen
        for ``Ok.``.

    Raises:
        ValueError: netsh's text for that code is not known to portpool.
        TypeError: ``code`` is not a WinError, an int or a name.
    """
    return f"{netsh_message(code)}\n\n"


def render_not_found(words: Sequence[str]) -> str:
    """What netsh prints for command words that match no command.

    Args:
        words: the words after ``netsh``.

    Returns:
        ``"The following command was not found: <words>.\\n"``.
    """
    return _NOT_FOUND.format(" ".join(words)) + "\n"


