"""netsh's port-exclusion and dynamic-port text, both ways: read it, print it, parse commands.

This module is pure text: it knows nothing of any machine.  It reads what
``netsh int ipv4|ipv6 show excludedportrange protocol=tcp|udp`` and ``netsh int
ipv4|ipv6 show dynamicport tcp|udp`` print, as people paste it (any display language,
prompts, code fences, ``>`` quotes, log prefixes, CRLF, trailing spaces, a missing
title or legend), prints the same output byte for byte as en-US netsh does, and parses
the command words of those commands and of ``add|delete excludedportrange`` and ``set
dynamicport`` with netsh's own error texts.  ``EmulatedHost.netsh()`` runs the parsed
commands on an emulated machine.

Reading::

    >>> text = '''
    ... C:\\\\> netsh int ipv4 show excludedportrange protocol=tcp
    ...
    ... Portausschlussbereiche für das Protokoll "tcp"
    ...
    ... Startport      Endport
    ... ----------    --------
    ...       5357        5357
    ...      50000       50059     *
    ...
    ... * - Verwaltete Portausschlüsse.
    ... '''
    >>> for row in parse_excluded_ranges(text):
    ...     print(row)
    ExcludedRange(start=5357, end=5357, administered=False)
    ExcludedRange(start=50000, end=50059, administered=True)
    >>> protocol_of(text)
    <Protocol.TCP: 6>

Text that is not netsh output raises :class:`NetshParseError` naming the line that shows
it; the parsers never return rows they had to guess.  Lines are LF-terminated in
everything this module prints (netsh's console output has CRLF; the parsers accept
both).

Sources for the layout and the messages (each constant below names its own):

* NETSH_SAMPLES: ``shared/netsh-samples/`` (real outputs with their ground truth); sample
  01 (open-telemetry/opentelemetry-collector-contrib PR #10872, a GitHub Actions runner)
  is the one paste that kept netsh's trailing spaces; a Korean ``ipv6 show`` paste in a
  GitHub-hosted note keeps them too (header, dash line and rows end in 6 spaces).
* D-R60 (the rule dossier) and rule N4: the table and ``show dynamicport`` layouts;
  dorssel/usbipd-win#53 (``Protocol tcp Dynamic Port Range``, 33 dashes, both lines); two
  test suites in public repositories hold ``show dynamicport`` captured on real machines
  as ``"\\r\\n...\\r\\nNumber of Ports : 16384\\r\\n\\r\\n"`` (a blank line before and after).
* NETSH_IFACE: MicrosoftDocs/windowsserverdocs ``netsh-interface.md``: the command lists of
  ``interface ipv4|ipv6`` and the syntax ``add|delete excludedportrange [protocol=]tcp|udp
  [startport=]<integer> [numberofports=]<integer> [store=]active|persistent``, ``set
  dynamicportrange`` with the same tags, ``show dynamicportrange|excludedportrange
  [protocol=]tcp|udp [store=]active|persistent``.  ``dynamicport`` is netsh's prefix
  match of ``dynamicportrange``.
* ABBREV: "NetShell commands can be abbreviated to the shortest unambiguous string"
  (learn.microsoft.com, "netshell and command abbreviation", MatchToken); KB929851 types
  ``netsh int <ipv4|ipv6> set dynamic <tcp|udp> start=number num=range`` (tags are
  prefixes too: ``start`` of ``startport``, ``num`` of ``numberofports``); a Catalan
  GitHub-hosted note types ``netsh int ipv4 del ex tcp 40000 11`` (positional values);
  a GitHub-hosted note types ``netsh i i se a "Ethernet" s 10.1.1.20 255.255.255.0``,
  where ``i`` is taken for ``interface`` although ``ipsec`` also starts with ``i``: so
  netsh takes the first match, not only unambiguous ones.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final, Literal, NamedTuple

import attrs

from . import _netsh_text as _text
from ._errors import WinError
from ._types import MAX_PORT, PortRange, Protocol

__all__ = [
    "MESSAGES",
    "ExcludedRange",
    "NetshCommand",
    "NetshObject",
    "NetshParseError",
    "NetshStore",
    "NetshUsageError",
    "NetshVerb",
    "netsh_message",
    "parse_command",
    "parse_dynamic_port",
    "parse_excluded_ranges",
    "protocol_of",
    "render_dynamic_port",
    "render_excluded_ranges",
    "render_not_found",
    "render_result",
    "usage",
]


# --- values ---------------------------------------------------------------------------


class ExcludedRange(NamedTuple):
    """One row of ``netsh int ipv4 show excludedportrange``.

    Attributes:
        start: the first port.
        end: the last port, inclusive, as netsh prints it.
        administered: ``True`` for a row marked ``*`` (a persistent reservation, made
            by ``netsh add excludedportrange`` or CreatePersistent*PortReservation).
    """

    start: int
    end: int
    administered: bool

    @property
    def range(self) -> PortRange:
        """The row as a :class:`~portpool.PortRange` (raises ValueError if it is none)."""
        return PortRange(self.start, self.end - self.start + 1)


class NetshParseError(ValueError):
    """The text given to a parser is not netsh output.

    Attributes:
        line: the 1-based number of the line that shows it.
        text: that line, as given.
        reason: what is wrong with it.
    """

    def __init__(self, line: int, text: str, reason: str) -> None:
        super().__init__(line, text, reason)
        self.line = line
        self.text = text
        self.reason = reason

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}: {self.text!r}"


class NetshUsageError(ValueError):
    """netsh would refuse these command words before running anything.

    Attributes:
        output: exactly what netsh prints (en-US, LF line endings): the usage text, the
            "not found" line, or a message such as "The parameter is incorrect.".
        status: netsh's exit status for it.
        kind: ``"not-found"`` (no such command), ``"syntax"`` (an unknown tag or too many
            values), ``"duplicate"`` (a tag given twice), ``"missing"`` (a required
            parameter left out), ``"value"`` (a value netsh does not accept) or
            ``"help"`` (a help token such as ``?``: netsh prints the usage, status 0).
    """

    def __init__(self, output: str, status: int, kind: str) -> None:
        super().__init__(output.strip().splitlines()[0] if output.strip() else kind)
        self.output = output
        self.status = status
        self.kind = kind

    def __reduce__(self) -> tuple[type[NetshUsageError], tuple[str, int, str]]:
        return type(self), (self.output, self.status, self.kind)


def _problem(problem: _text.Problem) -> NetshParseError:
    return NetshParseError(problem.line.number, problem.line.raw, problem.reason)


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"netsh output must be a str, not {type(text).__name__}")
    return text


_PROTOCOLS: Final = {"tcp": Protocol.TCP, "udp": Protocol.UDP}


# --- reading --------------------------------------------------------------------------


def parse_excluded_ranges(text: str) -> list[ExcludedRange]:
    """The rows of one ``show excludedportrange`` output, as pasted.

    The title, header and legend may be in any language, or missing; prompts, fences,
    quotes, log prefixes, other netsh output and prose around the table are skipped.  The
    same table pasted twice (``ipv4`` and ``ipv6`` print the same list) counts once.

    Args:
        text: the pasted output.

    Returns:
        The rows, in netsh's order (by start port); an empty list for netsh's empty table.

    Raises:
        NetshParseError: the text holds no table, or a line shows the text is not netsh's
            table: a line among the rows that is not a row, a port outside 1-65535, a row
            ending before it starts, rows out of order or overlapping, a row out of
            netsh's columns, a table cut off after its dash line, a title naming another
            protocol than the command above it, or a second table with other rows or
            another protocol.
        TypeError: ``text`` is not a str.
    """
    lines = _text.classify_text(_check_text(text))
    try:
        tables = _text.scan_tables(lines)
        for table in tables:
            _protocol_agrees(table.title, table.command)
            _text.check_table(table)
    except _text.Problem as problem:
        raise _problem(problem) from None
    if not tables:
        first = _text.first_content_line(lines)
        hint = "no netsh excludedportrange table"
        if any(line.kind is _text.Kind.PAIR for line in lines):
            hint += " (show dynamicport output? read it with parse_dynamic_port)"
        raise NetshParseError(first.number, first.raw, hint)
    rows = [_rows_of(table) for table in tables]
    for table, these in zip(tables[1:], rows[1:], strict=True):
        _same_as_first(tables[0].protocol, table.protocol, rows[0] == these, table.first,
                       tables[0].first, "table")
    return rows[0]


def parse_dynamic_port(text: str) -> PortRange:
    """The range of one ``show dynamicport`` output, as pasted.

    netsh prints a title (``Protocol tcp Dynamic Port Range``), a dash line and two
    ``label : number`` lines: the start port, then the number of ports.  The labels may
    be in any language; the title or the dash line may be missing.

    Args:
        text: the pasted output.

    Returns:
        The dynamic port range, ``PortRange(start, count)``.

    Raises:
        NetshParseError: the text holds no such output, the start is no port, the range
            runs past 65535, a title or dash line is followed by a lone ``label :
            number`` line, or a second output shows another range or protocol.
        TypeError: ``text`` is not a str.
    """
    lines = _text.classify_text(_check_text(text))
    try:
        sections = _text.scan_dynamic(lines)
        for section in sections:
            _protocol_agrees(section.title, section.command)
    except _text.Problem as problem:
        raise _problem(problem) from None
    if not sections:
        first = _text.first_content_line(lines)
        raise NetshParseError(first.number, first.raw,
                              "no netsh dynamicport output (a title, a dash line, then"
                              " `label : number` for the start and for the number of ports)")
    ranges = [_range_of(section) for section in sections]
    for section, this in zip(sections[1:], ranges[1:], strict=True):
        _same_as_first(sections[0].protocol, section.protocol, ranges[0] == this,
                       section.title or section.start, sections[0].title or sections[0].start,
                       "dynamicport output")
    return ranges[0]


def protocol_of(text: str) -> Protocol | None:
    """The protocol a netsh output is for, from its title (any language) or command line.

    Args:
        text: a pasted ``show excludedportrange`` or ``show dynamicport`` output.

    Returns:
        ``Protocol.TCP`` or ``Protocol.UDP``, or ``None`` if neither the titles nor the
        netsh command lines above the output name one.

    Raises:
        NetshParseError: two outputs in the text name different protocols, a title
            disagrees with the command above it, or the tables are broken (as for
            :func:`parse_excluded_ranges`).
        TypeError: ``text`` is not a str.
    """
    lines = _text.classify_text(_check_text(text))
    try:
        found: list[tuple[str | None, _text.Line]] = []
        for table in _text.scan_tables(lines):
            _protocol_agrees(table.title, table.command)
            found.append((table.protocol, table.first))
        for section in _text.scan_dynamic(lines):
            _protocol_agrees(section.title, section.command)
            found.append((section.protocol, section.start))
    except _text.Problem as problem:
        raise _problem(problem) from None
    named = [(protocol, line) for protocol, line in found if protocol is not None]
    if not named:
        return None
    protocol, first = min(named, key=lambda item: item[1].number)
    for other, line in named:
        if other != protocol:
            raise NetshParseError(line.number, line.raw,
                                  f"output for {other} after output for {protocol} on line"
                                  f" {first.number}")
    return _PROTOCOLS[protocol]


def _protocol_agrees(title: _text.Line | None, command: _text.Line | None) -> None:
    if title is None or command is None or title.protocol is None or command.protocol is None:
        return
    if title.protocol != command.protocol:
        raise _text.Problem(title, f"the title names {title.protocol} but the command on line"
                                   f" {command.number} asked for {command.protocol}")


def _same_as_first(first_protocol: str | None, protocol: str | None, same: bool,
                   line: _text.Line, first: _text.Line, what: str) -> None:
    if first_protocol is not None and protocol is not None and protocol != first_protocol:
        raise NetshParseError(line.number, line.raw,
                              f"a {what} for {protocol} after the {what} for {first_protocol}"
                              f" on line {first.number}: give one netsh output at a time")
    if not same:
        raise NetshParseError(line.number, line.raw,
                              f"a second {what}, unlike the one on line {first.number}: give"
                              " one netsh output at a time")


def _rows_of(table: _text.Table) -> list[ExcludedRange]:
    rows = []
    for line in table.rows:
        row = line.row
        assert row is not None  # ROW lines carry a row
        rows.append(ExcludedRange(row.start, row.end, row.administered))
    return rows


def _range_of(section: _text.DynamicSection) -> PortRange:
    start, count = section.start.value, section.count.value
    assert start is not None and count is not None  # PAIR lines carry a value
    if not 1 <= start <= MAX_PORT:
        raise NetshParseError(section.start.number, section.start.raw,
                              f"the start port {start} is not a port (1-65535)")
    if count < 1 or start + count - 1 > MAX_PORT:
        raise NetshParseError(section.count.number, section.count.raw,
                              f"{count} ports from {start} is no port range (at least one"
                              " port, none past 65535)")
    return PortRange(start, count)


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


# --- the command grammar --------------------------------------------------------------

#: The verbs, objects and stores of :class:`NetshCommand`.
NetshVerb = Literal["show", "add", "delete", "set"]
NetshObject = Literal["excludedportrange", "dynamicport"]
NetshStore = Literal["active", "persistent"]


@attrs.frozen
class NetshCommand:
    """One parsed netsh command of the emulated subset.

    Attributes:
        ip_version: 4 (``interface ipv4``, also ``interface ip``) or 6.
        verb: ``"show"``, ``"add"``, ``"delete"`` or ``"set"``.
        object: ``"excludedportrange"`` or ``"dynamicport"`` (netsh's
            ``dynamicportrange``, which ``dynamicport`` abbreviates).
        protocol: TCP or UDP.
        start: ``startport`` (add, delete, set), else None.
        count: ``numberofports`` (add, delete, set), else None.
        store: ``"active"`` or ``"persistent"``: as given, else netsh's default,
            ``"persistent"`` for add, delete and set (netsh's help: "This is the
            default value") and ``"active"`` for show (assumed: show lists the rows in
            force).
    """

    ip_version: Literal[4, 6]
    verb: NetshVerb
    object: NetshObject
    protocol: Protocol
    start: int | None = None
    count: int | None = None
    store: NetshStore = "persistent"


# Names netsh matches at each level (NETSH_IFACE; the top level as ``netsh /?`` lists it
# on Windows 10).  "ip" is the old name of the ipv4 context, still accepted
# (open-telemetry/opentelemetry-collector-contrib runs ``netsh interface ip show
# excludedportrange``).
_TOP: Final = ("..", "?", "abort", "add", "advfirewall", "alias", "branchcache", "bridge", "bye",
               "commit", "delete", "dhcpclient", "dnsclient", "dump", "exec", "exit", "firewall",
               "help", "http", "interface", "ipsec", "ipsecdosprotection", "lan", "mbn",
               "namespace", "netio", "offline", "online", "p2p", "popd", "pushd", "quit", "ras",
               "rpc", "set", "show", "trace", "unalias", "wcn", "wfp", "winhttp", "winsock",
               "wlan")
_INTERFACE: Final = ("6to4", "?", "clat", "dump", "fl48", "fl68", "help", "httpstunnel", "ip",
                     "ipv4", "ipv6", "isatap", "portproxy", "set", "show", "tcp", "teredo", "udp")
_IP_VERSIONS: Final = {"ip": 4, "ipv4": 4, "ipv6": 6}
_VERBS: Final = {
    4: ("?", "add", "delete", "dump", "help", "install", "reset", "set", "show", "uninstall"),
    6: ("6to4", "?", "add", "delete", "dump", "help", "install", "isatap", "reset", "set", "show",
        "uninstall"),
}
_OBJECTS: Final = {
    (4, "add"): ("address", "dnsservers", "excludedportrange", "neighbors", "route", "winsservers"),
    (6, "add"): ("address", "dnsservers", "excludedportrange", "neighbors", "potentialrouter",
                 "prefixpolicy", "route", "v6v4tunnel"),
    (4, "delete"): ("address", "arpcache", "destinationcache", "dnsservers", "excludedportrange",
                    "neighbors", "route", "winsservers"),
    (6, "delete"): ("address", "destinationcache", "dnsservers", "excludedportrange", "interface",
                    "neighbors", "potentialrouter", "prefixpolicy", "route"),
    (4, "set"): ("address", "compartment", "dnsservers", "dynamicportrange", "global", "interface",
                 "neighbors", "route", "subinterface", "winsservers"),
    (6, "set"): ("address", "compartment", "dnsservers", "dynamicportrange", "global", "interface",
                 "neighbors", "prefixpolicy", "privacy", "route", "slaacsecretkey", "subinterface",
                 "teredo"),
    (4, "show"): ("addresses", "compartments", "config", "destinationcache", "dnsservers",
                  "dynamicportrange", "excludedportrange", "global", "icmpstats", "interfaces",
                  "ipaddresses", "ipnettomedia", "ipstats", "joins", "neighbors", "offload", "route",
                  "subinterfaces", "tcpconnections", "tcpstats", "udpconnections", "udpstats",
                  "winsservers"),
    (6, "show"): ("addresses", "compartments", "destinationcache", "dnsservers", "dynamicportrange",
                  "excludedportrange", "global", "interfaces", "ipstats", "joins", "neighbors",
                  "offload", "potentialrouters", "prefixpolicies", "privacy", "route",
                  "siteprefixes", "slaacsecretkey", "subinterfaces", "tcpstats", "teredo",
                  "tfofallback", "udpstats"),
}
_HELP_TOKENS: Final = frozenset({"?", "/?", "-?", "help"})


@attrs.frozen
class _Spec:
    """The tags of one command, in netsh's order, and the ones it needs."""

    tags: tuple[str, ...]
    required: frozenset[str]
    usage: str


# The usage texts.  assumed: the English wording.  Their layout (13-space continuation
# lines, "Parameters:", a Tag/Value table, "Remarks:", "Example:") and the content of
# add/delete are those of the es-ES help of ``netsh interface ipv4 add|delete
# excludedportrange ?`` pasted in a Catalan GitHub-hosted note ("Uso: add
# excludedportrange [protocol=]tcp|udp / [startport=]<entero> [numberofports=]<entero> /
# [[store=]active|persistent]", "Los valores de startport y numberofports deben ser
# exactamente los mismos que en la exclusión creada previamente."), worded as the en-US
# help of ``set prefixpolicy`` (Samba wiki transcript) and ``set dnsservers``.
_STORE_HELP: Final = (
    "       store          - One of the following values:\n"
    "                        active:     {active}\n"
    "                        persistent: {persistent}\n"
)


def _usage_text(syntax: str, rows: str, remarks: str, example: str) -> str:
    return (f"Usage: {syntax}\n\nParameters:\n\n       Tag            Value\n{rows}\n"
            f"Remarks: {remarks}\n\nExample:\n\n       {example}\n\n")


_PROTOCOL_ROWS: Final = (
    "       protocol       - One of the following values:\n"
    "                        tcp: {tcp}\n"
    "                        udp: {udp}\n"
)
_SPECS: Final[Mapping[tuple[str, str], _Spec]] = MappingProxyType({
    ("add", "excludedportrange"): _Spec(
        ("protocol", "startport", "numberofports", "store"),
        frozenset({"protocol", "startport", "numberofports"}),
        _usage_text(
            "add excludedportrange [protocol=]tcp|udp\n"
            "             [startport=]<integer> [numberofports=]<integer>\n"
            "             [[store=]active|persistent]",
            _PROTOCOL_ROWS.format(tcp="Adds an exclusion for TCP.", udp="Adds an exclusion for UDP.")
            + "       startport      - The starting port number for an exclusion.\n"
              "       numberofports  - The number of ports starting from startport\n"
              "                        for an exclusion.\n"
            + _STORE_HELP.format(active="Change only lasts until next boot.",
                                 persistent="Change is persistent.\n"
                                            "                                    This is the default value."),
            "Adds an exclusion for a consecutive block of ports.",
            "add excludedportrange protocol=tcp startport=50000 numberofports=20")),
    ("delete", "excludedportrange"): _Spec(
        ("protocol", "startport", "numberofports", "store"),
        frozenset({"protocol", "startport", "numberofports"}),
        _usage_text(
            "delete excludedportrange [protocol=]tcp|udp\n"
            "             [startport=]<integer> [numberofports=]<integer>\n"
            "             [[store=]active|persistent]",
            _PROTOCOL_ROWS.format(tcp="Deletes an exclusion for TCP.",
                                  udp="Deletes an exclusion for UDP.")
            + "       startport      - The starting port number of a previously\n"
              "                        created exclusion.\n"
              "       numberofports  - The number of ports starting from startport\n"
              "                        of a previously created exclusion.\n"
            + _STORE_HELP.format(active="Deletion only lasts until next boot.",
                                 persistent="Deletion is persistent.\n"
                                            "                                    This is the default value."),
            "Deletes an exclusion for a consecutive block of ports.\n"
            "         The startport and numberofports values must exactly match\n"
            "         those of the previously created exclusion.",
            "delete excludedportrange protocol=tcp startport=50000 numberofports=20")),
    ("show", "excludedportrange"): _Spec(
        ("protocol", "store"), frozenset({"protocol"}),
        _usage_text(
            "show excludedportrange [protocol=]tcp|udp\n"
            "             [[store=]active|persistent]",
            _PROTOCOL_ROWS.format(tcp="Shows the exclusions for TCP.",
                                  udp="Shows the exclusions for UDP.")
            + _STORE_HELP.format(active="Shows the exclusions in force until next boot.",
                                 persistent="Shows the persistent exclusions."),
            "Shows all port exclusions.",
            "show excludedportrange protocol=tcp")),
    ("set", "dynamicport"): _Spec(
        ("protocol", "startport", "numberofports", "store"),
        frozenset({"protocol", "startport", "numberofports"}),
        _usage_text(
            "set dynamicportrange [protocol=]tcp|udp\n"
            "             [startport=]<integer> [numberofports=]<integer>\n"
            "             [[store=]active|persistent]",
            _PROTOCOL_ROWS.format(tcp="Sets the dynamic port range for TCP.",
                                  udp="Sets the dynamic port range for UDP.")
            + "       startport      - The starting port number of the range.\n"
              "       numberofports  - The number of ports in the range.\n"
            + _STORE_HELP.format(active="Change only lasts until next boot.",
                                 persistent="Change is persistent.\n"
                                            "                                    This is the default value."),
            "Sets the range of ports used for dynamic port assignment.",
            "set dynamicportrange protocol=tcp startport=49152 numberofports=16384")),
    ("show", "dynamicport"): _Spec(
        ("protocol", "store"), frozenset({"protocol"}),
        _usage_text(
            "show dynamicportrange [protocol=]tcp|udp\n"
            "             [[store=]active|persistent]",
            _PROTOCOL_ROWS.format(tcp="Shows the dynamic port range for TCP.",
                                  udp="Shows the dynamic port range for UDP.")
            + _STORE_HELP.format(active="Shows the range in force until next boot.",
                                 persistent="Shows the persistent range."),
            "Shows the range of ports used for dynamic port assignment.",
            "show dynamicportrange protocol=tcp")),
})
_OBJECT_OF: Final = {"excludedportrange": "excludedportrange", "dynamicportrange": "dynamicport"}
_VERB_OF: Final[Mapping[str, NetshVerb]] = {"show": "show", "add": "add", "delete": "delete", "set": "set"}
_OBJECT_NAME: Final[Mapping[str, NetshObject]] = {"excludedportrange": "excludedportrange",
                                             "dynamicport": "dynamicport"}
_STORE_OF: Final[Mapping[str, NetshStore]] = {"active": "active", "persistent": "persistent"}
_DEFAULT_STORE: Final = {"show": "active", "add": "persistent", "delete": "persistent",
                         "set": "persistent"}


def usage(verb: str, object: str) -> str:  # noqa: A002 - netsh's word, as NetshCommand names it
    """The usage text netsh prints for one command of the emulated subset.

    Args:
        verb: ``"show"``, ``"add"``, ``"delete"`` or ``"set"``.
        object: ``"excludedportrange"`` or ``"dynamicport"``.

    Returns:
        The text, from ``Usage:`` to the example and a blank line (assumed wording).

    Raises:
        ValueError: the pair is not a command of the subset.
    """
    try:
        return _SPECS[verb, object].usage
    except KeyError:
        raise ValueError(f"no netsh command {verb} {object} in portpool's subset") from None


def _match(token: str, names: Sequence[str]) -> str | None:
    """netsh's matching (ABBREV): an exact name, else the first name it is a prefix of.

    assumed: "first" in alphabetical order (netsh's own table order is not published;
    it agrees with ``i i`` giving interface ipv4).
    """
    lowered = token.lower()
    if not lowered:
        return None
    if lowered in names:
        return lowered
    return next((name for name in sorted(names) if name.startswith(lowered)), None)


def _split(command: str) -> list[str]:
    """Words as Windows splits a command line: on blanks, double quotes grouping."""
    return [m.group(0).replace('"', "") for m in re.finditer(r'(?:[^\s"]|"[^"]*"?)+', command)]


def _words(words: Sequence[str] | str) -> list[str]:
    if isinstance(words, str):
        tokens = _split(words)
    elif isinstance(words, Sequence) and all(isinstance(w, str) for w in words):
        tokens = list(words)
    else:
        raise TypeError(f"words must be a str or a sequence of str, not {words!r}")
    if tokens and re.fullmatch(r"(?:.*[\\/])?netsh(?:\.exe)?", tokens[0], re.IGNORECASE):
        tokens = tokens[1:]
    return tokens


def _not_emulated(words: Sequence[str]) -> NotImplementedError:
    return NotImplementedError(f"portpool's netsh doesn't (yet) emulate `netsh {' '.join(words)}`:"
                               " it knows int ipv4|ipv6 show|add|delete excludedportrange and"
                               " show|set dynamicport")


def _not_found(words: Sequence[str]) -> NetshUsageError:
    return NetshUsageError(render_not_found(words), _NOT_FOUND_STATUS, "not-found")


def parse_command(words: Sequence[str] | str) -> NetshCommand:
    """Parse netsh command words the way netsh does, for the emulated subset.

    The subset: ``interface|int ipv4|ipv6 show|add|delete excludedportrange
    [protocol=]tcp|udp [startport=]N [numberofports=]N [[store=]active|persistent]``
    (show takes only protocol and store) and ``interface ipv4|ipv6 show|set
    dynamicport[range] [protocol=]tcp|udp [startport=]N [numberofports=]N
    [[store=]active|persistent]`` (show takes only protocol and store).  As netsh:
    command words and tags match case-insensitively by prefix (``int``, ``sh``,
    ``ex``, ``start=``, ``num=``; the first match wins), values may be given without
    tags in the tags' order, ``tcp``/``udp`` and ``active``/``persistent`` match by
    prefix too.

    Ports are checked only for being numbers of at most 65535; zero, a range past 65535
    and the dynamic range's limits are the model's to judge (rules Y1, Y2, R40).

    Args:
        words: the words after ``netsh`` (a leading ``netsh``/``netsh.exe`` is
            dropped); a str is split as Windows splits a command line.

    Returns:
        The command.

    Raises:
        NetshUsageError: netsh would print a usage message, "The following command was
            not found: ...", or reject a value; ``.output`` and ``.status`` are what
            netsh prints and its exit status.  A help token (``?``, ``/?``, ``-?``,
            ``help``) after the command also raises it, with the usage and status 0.
        NotImplementedError: a netsh command outside the subset (other contexts,
            commands or options, interactive netsh).
        TypeError: ``words`` is not a str or a sequence of str.
    """
    tokens = _words(words)
    if not tokens or tokens[0][:1] in ("-", "/"):
        raise _not_emulated(tokens)
    if _match(tokens[0], _TOP) is None:
        raise _not_found(tokens)
    if _match(tokens[0], _TOP) != "interface" or len(tokens) < 2:
        raise _not_emulated(tokens)
    context = _match(tokens[1], _INTERFACE)
    if context is None:
        raise _not_found(tokens)
    if context not in _IP_VERSIONS or len(tokens) < 3:
        raise _not_emulated(tokens)
    version: Literal[4, 6] = 4 if _IP_VERSIONS[context] == 4 else 6
    verb = _match(tokens[2], _VERBS[version])
    if verb is None:
        raise _not_found(tokens)
    if verb not in ("show", "add", "delete", "set") or len(tokens) < 4:
        raise _not_emulated(tokens)
    if tokens[3].lower() in _HELP_TOKENS:  # netsh lists the group's commands
        raise _not_emulated(tokens)
    name = _match(tokens[3], _OBJECTS[version, verb])
    if name is None:
        raise _not_found(tokens)
    obj = _OBJECT_OF.get(name)
    spec = _SPECS.get((verb, obj)) if obj is not None else None
    if spec is None or obj is None:
        raise _not_emulated(tokens)
    given = _tags(tokens[4:], spec)
    protocol = _PROTOCOLS[_enum_value(given, "protocol", ("tcp", "udp"))]
    store = _enum_value(given, "store", ("active", "persistent")) if "store" in given else None
    start = _number(given, "startport") if "startport" in spec.tags else None
    count = _number(given, "numberofports") if "numberofports" in spec.tags else None
    return NetshCommand(version, _VERB_OF[verb], _OBJECT_NAME[obj], protocol, start, count,
                        _STORE_OF[store] if store is not None else _STORE_OF[_DEFAULT_STORE[verb]])


def _usage_error(spec: _Spec, lead: str, kind: str = "syntax") -> NetshUsageError:
    return NetshUsageError(f"{lead}\n{_SYNTAX}\n\n{spec.usage}", _USAGE_STATUS, kind)


def _tags(args: Sequence[str], spec: _Spec) -> dict[str, str]:
    """Match the arguments to the command's tags as netsh's PreprocessCommand does.

    assumed: an untagged value takes the tag at its own position; a tag is matched by
    prefix, the first of the command's tags in order winning (``s=`` is startport).
    """
    if len(args) == 1 and args[0].lower() in _HELP_TOKENS:
        raise NetshUsageError(spec.usage, _USAGE_STATUS, "help")
    given: dict[str, str] = {}
    for index, arg in enumerate(args):
        if "=" in arg:
            label, _, value = arg.partition("=")
            tag = next((t for t in spec.tags if label and t.startswith(label.lower())), None)
            if tag is None:
                raise _usage_error(spec, _INVALID_TAG.format(label))
        elif index < len(spec.tags):
            tag, value = spec.tags[index], arg
        else:
            raise NetshUsageError(f"{_SYNTAX}\n\n{spec.usage}", _USAGE_STATUS, "syntax")
        if tag in given:
            raise _usage_error(spec, _DUPLICATE.format(tag), "duplicate")
        given[tag] = value.strip('"')
    if not spec.required <= given.keys():
        raise NetshUsageError(f"{_MISSING}\n{_SYNTAX}\n\n{spec.usage}", _USAGE_STATUS, "missing")
    return given


def _bad_value(value: str, tag: str) -> NetshUsageError:
    return NetshUsageError(f"{_BAD_VALUE.format(value, tag)}\n{render_result('ERROR_INVALID_PARAMETER')}",
                           _FAILURE_STATUS, "value")


def _enum_value(given: Mapping[str, str], tag: str, values: Sequence[str]) -> str:
    value = given[tag]
    matched = _match(value, values)
    if matched is None:
        raise _bad_value(value, tag)
    return matched


def _number(given: Mapping[str, str], tag: str) -> int:
    value = given[tag]
    if not re.fullmatch(r"[0-9]{1,10}", value) or int(value) > MAX_PORT:
        raise _bad_value(value, tag)
    return int(value)
