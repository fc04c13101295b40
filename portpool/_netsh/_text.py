"""Reading netsh output as people paste it: the line scanner behind ``portpool.netsh``.

Theory of operation
-------------------
Real ``netsh`` output reaches us through consoles, issue trackers, blogs, CI logs and
chat: translated into the reader's display language, wrapped in prompts, code fences
and ``>`` quotes, prefixed by log stamps (Go's ``t.Log`` writes ``file_test.go:88: ``
and indents the rest by 8 spaces), with CRLF or LF, tabs, trailing spaces added
(markdown line breaks) or removed (console copy), blank lines lost or doubled.  What
survives every one of those is small, and the scanner reads only that:

* the rows: two decimal integers right-aligned in 10-wide columns with two spaces
  between (``%10u  %10u``), then five spaces and ``*`` on administered rows.  Digits,
  ``*`` and the alignment are never translated (tests/data/netsh/README.md, D-R60);
* the protocol word ``tcp``/``udp``, which every translated title keeps
  (``Portausschlussbereiche für das Protokoll "tcp"``, ``协议 tcp 端口排除范围``);
* the structure: a title, a header, a dash line (two groups of dashes whose lengths vary
  by language), the rows, a legend that starts with ``*`` and a dash
  (``* - Administered port exclusions.``);
* for ``show dynamicport``: a title, one run of dashes and two ``label : number`` lines
  (start, then count) whose colons line up by display width (CJK labels count double).

Every line is first cleaned (quote and log prefixes, markdown escapes, odd spaces) and
given one :class:`Kind`; the table scanner then walks the kinds.  Alignment is judged
*within* each row (tabs expanded to 8, CJK wide characters counted twice): the end
number's right edge must sit 12 columns after the start number's, the ``*`` 5 columns
after that, so per-line prefixes of varying width do not matter.  A table whose
whitespace was collapsed by an HTML renderer (``80 80``) is accepted when its dash line
or legend shows it is netsh's table.

Whatever could make a row silently wrong stops the scan with a :class:`Problem` naming
the line: a line that looks like data but is not a row, text between two rows, rows out
of order or overlapping, a row out of netsh's columns, a table cut off after its
dash line, two tables that disagree.  Lines that are plainly not netsh's (prompts,
fences, prose before or after the table, other netsh output) are skipped.

Build logs add three things, all read: a tool's tag before every line (Packer's
``    vhd: ``, taken off where the next or previous line carries the same tag), an
elision line (``[...]``, ``...``, ``…``) where the log left lines out (skipped like a
blank line: the rows it hides are not in the result, nothing is guessed for them), and a
backtick closing a code span on a row's own line.

Cost: linear in the text.  ``label : number`` is read by one hand-written pass
(:func:`_pair`), where a pattern of three lazy repeats over the same characters
took O(n^3) steps on a line without a digit; every pattern left is applied at one place
of a line (``match``, ``fullmatch``) or is a fixed word found by ``search``, and none
nests repeats or repeats lazily, so each makes a bounded number of passes over a line
(``tests/test_netsh_text.py`` checks every pattern for those shapes and feeds
100,000-character lines of every shape;
``benchmarks/bench_netsh.py`` times ten lines of 10,000 characters against one of
100,000).

Limits: a paste cut exactly before an administered row's ``*`` reads as a plain row
(nothing in the text shows the loss); labels of ``show dynamicport`` are not checked,
only their position (start, then count).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Sequence
from typing import Final

import attrs

__all__ = [
    "DynamicSection",
    "Kind",
    "Line",
    "Problem",
    "Row",
    "Table",
    "check_table",
    "classify",
    "classify_text",
    "clean",
    "first_content_line",
    "scan_dynamic",
    "scan_tables",
    "split_lines",
]

# The column layout netsh prints: "%10u  %10u" puts the end number's right edge 12
# columns after the start number's; "     *" puts the star 5 columns after that.
ROW_SPAN: Final = 12
STAR_OFFSET: Final = 5

_MAX_DIGITS: Final = 10  # a longer run of digits is no port and no count


class Problem(Exception):  # noqa: N818 - internal signal, turned into NetshParseError
    """The text is not netsh output; ``line`` is the :class:`Line` that shows it."""

    def __init__(self, line: Line, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class Kind(enum.Enum):
    """What one cleaned line is."""

    BLANK = "blank"
    FENCE = "fence"  # ``` or ~~~ (markdown code fences)
    COMMAND = "command"  # a line that runs or names netsh (a prompt line, usually)
    PROMPT = "prompt"  # another shell prompt: C:\...>, PS C:\>, user@host:~$
    ROW = "row"  # two integers, an optional `*` (and maybe a reader's note)
    DASHES = "dashes"  # the table's dash line: two groups of dashes
    RULE = "rule"  # one run of dashes (show dynamicport, or a markdown rule)
    LEGEND = "legend"  # `* - ...`, no digits
    PAIR = "pair"  # `label : number`
    TITLE = "title"  # no digits, names exactly one of tcp/udp
    DATA = "data"  # starts with an integer but is no row: a broken or foreign row
    ELISION = "elision"  # `[...]`, `...`, `…`: the paste left lines out here
    TEXT = "text"  # anything else (headers, prose, banners)


@attrs.frozen
class Row:
    """The numbers and the shape of a ROW line."""

    start: int
    end: int
    administered: bool
    span: int  # columns from the start number's right edge to the end number's
    star: int | None  # columns from the end number's right edge to the `*`
    collapsed: bool  # every separator is one whitespace character


@attrs.frozen
class Line:
    """One line of the input, cleaned and classified.

    Attributes:
        number: 1-based line number in the input.
        raw: the line as given (no line ending).
        body: the cleaned line: prefixes, escapes and odd spaces gone, right-stripped.
        kind: what the line is.
        protocol: for TITLE and COMMAND lines, the protocol word they name, if one.
        row: for ROW lines, the row.
        value: for PAIR lines, the number.
        colon: for PAIR lines, the display column of the colon, or None when the label
            does not pad to it (``label: 1``, no space before the colon).
    """

    number: int
    raw: str
    body: str
    kind: Kind
    protocol: str | None = None
    row: Row | None = None
    value: int | None = None
    colon: int | None = None


@attrs.define
class Table:
    """An excluded-port table as found in the text (not yet checked)."""

    first: Line
    title: Line | None = None
    command: Line | None = None
    dashes: Line | None = None
    rows: list[Line] = attrs.Factory(list)
    legend: Line | None = None
    interruption: Line | None = None  # text after a row, while the table is open

    @property
    def protocol(self) -> str | None:
        """The protocol its title names, else the one its command asked for."""
        if self.title is not None and self.title.protocol is not None:
            return self.title.protocol
        return self.command.protocol if self.command is not None else None


@attrs.frozen
class DynamicSection:
    """A ``show dynamicport`` output as found in the text."""

    start: Line
    count: Line
    title: Line | None
    command: Line | None

    @property
    def protocol(self) -> str | None:
        """The protocol its title names, else the one its command asked for."""
        if self.title is not None and self.title.protocol is not None:
            return self.title.protocol
        return self.command.protocol if self.command is not None else None


# --- cleaning -------------------------------------------------------------------------

_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")

# Prefixes that quoting, logging and commenting put before netsh's own text, stripped
# again and again from the start of a line.  Each may carry indentation before it; the
# one space after it is part of the prefix, the rest of the line's padding is netsh's.
_PREFIXES: Final = (
    re.compile(r"[ \t]*>[ \t]?"),  # markdown and e-mail quoting, possibly nested
    re.compile(r"[ \t]*[\w.-]+\.go:\d+: ?"),  # Go's t.Log / t.Logf
    re.compile(  # ISO-style date stamps: GitHub Actions, Go's log, most loggers
        r"[ \t]*\[?\d{4}[-/.]\d{2}[-/.]\d{2}"
        r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?\]?(?:[ \t]|$)"
    ),
    re.compile(r"[ \t]*\[?\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\]?(?:[ \t]|$)"),  # time stamps
    re.compile(r"[ \t]*##\[\w+\]"),  # GitHub Actions commands (##[group])
    re.compile(r"[ \t]*\[[A-Za-z][\w .:/-]{0,30}\](?:[ \t]|$)"),  # [INFO], [stdout]
    re.compile(r"[ \t]*(?i:info|debug|warn|warning|error|trace|notice|stdout|stderr)"
               r"[ \t]*[:|>](?:[ \t]|$)"),
    re.compile(r"[ \t]*(?:#+|//|;|::|(?i:rem))(?=[ \t]|$)[ \t]?"),  # script comments
)

# A build tool's tag before each line of a command's output: Packer's ``    vhd: ``
# (ui.Message) and ``==> vhd: `` (ui.Say).  Taken off only where the next or previous
# line carries the same tag, since one line alone could be ``label: value`` text.
_TAG: Final = re.compile(r"[ \t]*(?:==> )?[\w.-]+:(?:[ \t]|$)")

# Spaces that HTML and word processors put where the console had ASCII spaces.
_ODD_SPACES: Final = dict.fromkeys(map(ord, "\u00a0\u2002\u2003\u2007\u2009\u200a\u202f\u3000"), " ")
_INVISIBLE: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def split_lines(text: str) -> list[str]:
    """Lines split on CRLF, CR or LF (no other separators), line endings dropped."""
    return _LINE_BREAK.split(text)


def _strip_prefixes(line: str) -> str:
    for _ in range(16):  # a bound, in case two patterns ever took turns on empty text
        for prefix in _PREFIXES:
            match = prefix.match(line)
            if match is not None and match.end() > 0:
                line = line[match.end():]
                break
        else:
            return line
    return line


def clean(raw: str) -> str:
    """The part of a pasted line that netsh printed, right-stripped (one line alone:
    :func:`clean_lines` also takes off a tag that every line of a log carries)."""
    return _finish(_strip_prefixes(raw.translate(_INVISIBLE).translate(_ODD_SPACES)))


def clean_lines(raws: Sequence[str]) -> list[str]:
    """Each line cleaned as :func:`clean` does, and a build tool's tag taken off where
    the line next to it carries the same one (Packer's ``    vhd: `` and ``==> vhd: ``
    before every line of a command's output)."""
    bodies = [_strip_prefixes(raw.translate(_INVISIBLE).translate(_ODD_SPACES)) for raw in raws]
    tags = [_tag(body) for body in bodies]
    # The tag of the nearest line before and after that is not empty (a CR CR LF line end
    # reads as an empty line after each line).
    before: list[str | None] = []
    last: str | None = None
    for body, tag in zip(bodies, tags, strict=True):
        before.append(last)
        if body:
            last = tag
    after: list[str | None] = []
    last = None
    for body, tag in zip(reversed(bodies), reversed(tags), strict=True):
        after.append(last)
        if body:
            last = tag
    after.reverse()
    out = []
    for body, tag, previous, following in zip(bodies, tags, before, after, strict=True):
        untagged = body
        if tag is not None and tag in (previous, following):
            untagged = _strip_prefixes(body[len(tag):])
        out.append(_finish(untagged))
    return out


def _tag(body: str) -> str | None:
    match = _TAG.match(body)
    return match[0] if match is not None else None


def _finish(body: str) -> str:
    body = body.replace("\\*", "*")  # markdown escapes: \* and a leading \-
    body = re.sub(r"^(\s*)\\-", r"\1-", body).rstrip()
    if body.endswith("`"):  # a code span or fence closed on the row's own line
        bare = body.rstrip("`").rstrip()
        if bare and (bare[-1] == "*" or "0" <= bare[-1] <= "9"):
            return bare
    return body


# --- classifying ----------------------------------------------------------------------

_FENCE: Final = re.compile(r"\s*(?:`{3,}|~{3,})")
_NETSH: Final = re.compile(r"(?<![\w.-])netsh(?:\.exe)?(?![\w-])", re.IGNORECASE)
_PROMPT: Final = re.compile(
    r"\s*(?:\([^)]*\)\s*)?(?:PS\s*)?(?:[A-Za-z]:\\|\\\\)[^>]*>"  # cmd, PowerShell
    r"|\s*PS>"
    r"|\s*[\w.-]+@[\w.-]+(?::[^$#]*)?[$#](?:\s|$)"  # user@host:~$
    r"|\s*\$(?:\s|$)"
)
_ROW: Final = re.compile(
    r"(?P<lead>\s*)(?P<start>[0-9]+)(?P<sep>\s+)(?P<end>[0-9]+)"
    r"(?:(?P<sep2>\s+)(?P<star>\*))?"
    r"(?:\s+(?P<note>[(\[<#/=\u2190-].*|[^\W\d_].*))?"
)
_DASHES: Final = re.compile(r"\s*-{2,}\s+-{2,}")
_RULE: Final = re.compile(r"\s*-{3,}")
_LEGEND: Final = re.compile(r"\s*\*(?:\s*[-\u2010-\u2015\u2212:]|\s)\s*\S")
_COLONS: Final = ":\uff1a"  # `label : number`; CJK texts may use the full-width colon
_PROTOCOL_WORD: Final = re.compile(r"(?<![A-Za-z0-9])(tcp|udp)(?![A-Za-z0-9])", re.IGNORECASE)
_DIGIT: Final = re.compile(r"[0-9]")
_DATA_START: Final = re.compile(r"\s*[0-9]+(?:\s|$)")  # the first word is a number
_DATA_ONLY: Final = re.compile(r"[\s0-9*]+")  # nothing but numbers and stars


def _width(text: str) -> int:
    """Display columns of ``text`` (tabs to 8, East Asian wide and full-width count 2)."""
    text = text.expandtabs(8)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _protocol_named(body: str) -> str | None:
    words = {m.lower() for m in _PROTOCOL_WORD.findall(body)}
    return words.pop() if len(words) == 1 else None


def _row(body: str) -> Row | None:
    match = _ROW.fullmatch(body)
    if match is None:
        return None
    digits = (match["start"], match["end"])
    if any(len(d) > _MAX_DIGITS for d in digits):
        return None
    start_edge = _width(body[:match.end("start")])
    end_edge = _width(body[:match.end("end")])
    star = _width(body[:match.start("star")]) - end_edge if match["star"] else None
    separators = [match["sep"]] + ([match["sep2"]] if match["star"] else [])
    return Row(int(digits[0]), int(digits[1]), match["star"] is not None, end_edge - start_edge,
               star, all(len(s) == 1 for s in separators))


def _pair(body: str) -> tuple[int, int | None] | None:
    """``label : number`` read in one pass: (the number, the display column of the colon
    or None when no space pads the label to it), or None.

    The label is everything before the first colon: no digit (any script's), at least
    one character that is not a space.  After the colon: spaces, then up to
    ``_MAX_DIGITS`` ASCII digits, then the end of the line.
    """
    colon = -1
    for index, ch in enumerate(body):  # the first colon, and no digit before it
        if ch in _COLONS:
            colon = index
            break
        if ch.isdecimal():
            return None
    if colon < 0:
        return None
    label = body[:colon]
    if label.isspace() or not label:
        return None
    value = body[colon + 1:].lstrip()
    if not value or len(value) > _MAX_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    padded = label[-1].isspace()
    return int(value), (_width(body[:colon]) if padded else None)


def _is_elision(body: str) -> bool:
    core = body.strip().strip("[](){}<>").strip()
    return core == "\u2026" or (len(core) >= 3 and not core.strip("."))


def classify(number: int, raw: str, body: str | None = None) -> Line:
    """Clean (unless ``body`` is given, cleaned) and classify one line of pasted text."""
    body = clean(raw) if body is None else body
    make = _LineMaker(number, raw, body)
    if not body.strip():
        return make(Kind.BLANK)
    if _FENCE.match(body):
        return make(Kind.FENCE)
    if _NETSH.search(body):
        return make(Kind.COMMAND, protocol=_protocol_named(body))
    if _PROMPT.match(body):
        return make(Kind.PROMPT)
    if _is_elision(body):
        return make(Kind.ELISION)
    row = _row(body)
    if row is not None:
        return make(Kind.ROW, row=row)
    if _DASHES.fullmatch(body):
        return make(Kind.DASHES)
    if _RULE.fullmatch(body):
        return make(Kind.RULE)
    has_digits = _DIGIT.search(body) is not None
    if _LEGEND.match(body) and not has_digits:
        return make(Kind.LEGEND)
    pair = _pair(body)
    if pair is not None:
        return make(Kind.PAIR, value=pair[0], colon=pair[1])
    if not has_digits:
        protocol = _protocol_named(body)
        if protocol is not None and len(body.strip()) <= 120:
            return make(Kind.TITLE, protocol=protocol)
    if _DATA_START.match(body) or _DATA_ONLY.fullmatch(body):
        return make(Kind.DATA)
    return make(Kind.TEXT)


@attrs.frozen
class _LineMaker:
    number: int
    raw: str
    body: str

    def __call__(self, kind: Kind, *, protocol: str | None = None, row: Row | None = None,
                 value: int | None = None, colon: int | None = None) -> Line:
        return Line(self.number, self.raw, self.body, kind, protocol, row, value, colon)


def classify_text(text: str) -> list[Line]:
    """Every line of ``text``, cleaned and classified."""
    raws = split_lines(text)
    return [classify(number, raw, body)
            for number, (raw, body) in enumerate(zip(raws, clean_lines(raws), strict=True), start=1)]


def first_content_line(lines: Sequence[Line]) -> Line:
    """The first non-blank line (or line 1 of an empty text): where "not netsh" shows."""
    for line in lines:
        if line.kind is not Kind.BLANK:
            return line
    return lines[0] if lines else Line(1, "", "", Kind.BLANK)


# --- tables ---------------------------------------------------------------------------

# Lines the scanners pass over: blank lines, and where a paste left lines out.
_SKIPPED: Final = frozenset({Kind.BLANK, Kind.ELISION})

# Lines that end an open table: another table, another command, a fence, a title.
_CLOSERS: Final = frozenset({Kind.FENCE, Kind.COMMAND, Kind.PROMPT, Kind.TITLE, Kind.DASHES,
                             Kind.RULE})


def scan_tables(lines: Sequence[Line]) -> list[Table]:
    """The excluded-port tables of ``lines``, in order, structurally checked.

    Raises:
        Problem: a line that looks like table data but is not a row (inside a table or
            right before one), or text between two rows of one table.
    """
    scanner = _TableScanner()
    for line in lines:
        if line.kind not in _SKIPPED:
            scanner.feed(line)
    return scanner.tables


@attrs.define
class _TableScanner:
    """Walks the non-blank lines, opening a table at a dash line or a first row."""

    tables: list[Table] = attrs.Factory(list)
    table: Table | None = None  # the open table
    prev: Line | None = None  # the previous non-blank line
    prev2: Line | None = None  # the one before it
    command: Line | None = None  # the last netsh command since the last table began
    stray: Line | None = None  # a DATA line outside a table, only blanks since

    def feed(self, line: Line) -> None:
        if self.table is None or not self._inside(self.table, line):
            self._outside(line)
        self.prev2, self.prev = self.prev, line

    def _inside(self, table: Table, line: Line) -> bool:
        """Take a line while a table is open; False when it ends the table unread."""
        kind = line.kind
        if kind is Kind.ROW:
            if table.interruption is not None:
                raise Problem(table.interruption, "text between the rows of a table")
            table.rows.append(line)
        elif kind is Kind.DATA:
            raise Problem(line, "a line among the rows that is not a row")
        elif kind is Kind.LEGEND:
            table.legend = line
            self.table = None
        elif kind in _CLOSERS:
            self.table = None
            return False
        elif table.interruption is None:  # TEXT, PAIR: the end, or noise inside
            table.interruption = line
        return True

    def _outside(self, line: Line) -> None:
        kind, prev, prev2 = line.kind, self.prev, self.prev2
        if kind is Kind.ROW:
            if self.stray is not None:
                raise Problem(self.stray, "a line right before the rows that is not a row")
            title = prev if prev is not None and prev.kind is Kind.TITLE else None
            self._open(Table(first=title or line, title=title, command=self.command, rows=[line]))
        elif kind is Kind.DASHES:
            header = prev if prev is not None and prev.kind is Kind.TEXT else None
            title = None
            if prev is not None and prev.kind is Kind.TITLE:
                title = prev  # a title right above the dash line: the header is missing
            elif header is not None and prev2 is not None and prev2.kind is Kind.TITLE:
                title = prev2
            self._open(Table(first=title or header or line, title=title, command=self.command,
                             dashes=line))
        elif kind is Kind.COMMAND:
            self.command = line
        self.stray = line if kind is Kind.DATA else None

    def _open(self, table: Table) -> None:
        self.tables.append(table)
        self.table = table
        self.command = None


def check_table(table: Table) -> None:
    """Check one table's rows: ports, order, alignment.

    Raises:
        Problem: the table stops before its rows, or a row is no port range, is out of
            order or overlaps the row before it, or is out of netsh's columns.
    """
    structured = table.dashes is not None or table.legend is not None
    if not table.rows:
        if table.legend is None:
            raise Problem(table.dashes or table.first,
                          "the table stops after its dash line: no rows and no legend")
        return
    previous: Row | None = None
    for line in table.rows:
        row = line.row
        assert row is not None  # ROW lines carry a row
        for port in (row.start, row.end):
            if not 1 <= port <= 65535:
                raise Problem(line, f"{port} is not a port (1-65535)")
        if row.end < row.start:
            raise Problem(line, f"the row ends ({row.end}) before it starts ({row.start})")
        if previous is not None and row.start <= previous.end:
            raise Problem(line, f"the row {row.start}-{row.end} does not come after the row"
                                f" {previous.start}-{previous.end}: netsh lists rows in"
                                " order, without overlaps")
        previous = row
    rows = [line.row for line in table.rows if line.row is not None]
    if all(r.collapsed for r in rows) and (structured or all(r.span == ROW_SPAN for r in rows)):
        return  # whitespace collapsed by a renderer: the dash line or legend vouches
    for line, row in zip(table.rows, rows, strict=True):
        if row.span != ROW_SPAN:
            raise Problem(line, "the row is out of line with netsh's columns (%10u  %10u)")
        if row.star is not None and row.star != STAR_OFFSET:
            raise Problem(line, "the row's `*` is out of line with netsh's column")


# --- show dynamicport -----------------------------------------------------------------


def scan_dynamic(lines: Sequence[Line]) -> list[DynamicSection]:
    """The ``show dynamicport`` outputs of ``lines``, in order.

    A pair of ``label : number`` lines is one when it follows a title or a dash line
    (blank lines aside), or, without either, when both labels pad to the same display
    column before the colon, as netsh does.

    Raises:
        Problem: a title or dash line is followed by a lone ``label : number`` line.
    """
    content = [line for line in lines if line.kind not in _SKIPPED]
    sections: list[DynamicSection] = []
    command: Line | None = None
    index = 0
    while index < len(content):
        line = content[index]
        if line.kind is Kind.COMMAND:
            command = line
        if line.kind is not Kind.PAIR:
            index += 1
            continue
        end = index
        while end < len(content) and content[end].kind is Kind.PAIR:
            end += 1
        run = content[index:end]
        lead = content[index - 1] if index > 0 else None
        lead2 = content[index - 2] if index > 1 else None
        structured = lead is not None and lead.kind in (Kind.RULE, Kind.TITLE)
        title = lead if lead is not None and lead.kind is Kind.TITLE else None
        if lead is not None and lead.kind is Kind.RULE and lead2 is not None \
                and lead2.kind is Kind.TITLE:
            title = lead2
        if structured and len(run) == 1:
            raise Problem(run[0], "show dynamicport prints two `label : number` lines (the start"
                                  " and the number of ports); this one stands alone")
        structured = structured and len(run) == 2  # longer runs: other netsh output (udpstats)
        aligned = len(run) == 2 and run[0].colon is not None and run[0].colon == run[1].colon
        if structured or aligned:
            sections.append(DynamicSection(run[0], run[1], title, command))
            command = None
        index = end
    return sections
