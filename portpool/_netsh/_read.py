"""Reading netsh output as people paste it: the exclusion table, ``show dynamicport``, the protocol."""

from __future__ import annotations

from .._types import MAX_PORT, PortRange, Protocol
from . import _text
from ._values import _PROTOCOLS, ExcludedRange, NetshParseError, _check_text, _problem

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


