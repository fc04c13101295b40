"""netsh's command words: the grammar of show/add/delete excludedportrange and show/set
dynamicport, with netsh's usage texts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final, Literal

import attrs

from .._errors import shown
from .._types import MAX_PORT, Protocol
from ._print import (
    _BAD_VALUE,
    _DUPLICATE,
    _FAILURE_STATUS,
    _INVALID_TAG,
    _MISSING,
    _NOT_FOUND_STATUS,
    _SYNTAX,
    _USAGE_STATUS,
    render_not_found,
    render_result,
)
from ._values import _PROTOCOLS, NetshUsageError

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
        raise TypeError(f"words must be a str or a sequence of str, not {shown(words)}")
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

