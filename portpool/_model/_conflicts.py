"""The bind-conflict table: may a second socket bind a port a first one holds?

Windows Server 2003 and later decide it from four facts (REUSE, "Enhanced Socket
Security"): each socket's address-sharing option (none, SO_REUSEADDR or
SO_EXCLUSIVEADDRUSE), whether each bound the wildcard address or a specific one,
and whether both binds come from the same user account.  Microsoft gives the answer
as two 6 x 6 tables (same account; different accounts); they are below as data,
one row per first socket, exactly as the page prints them, and each row is a rule
of ``_rules/_sharing.py`` (C1-C6 for one account, C7-C12 for two).

Only sockets that meet are compared (rule C13): on the same protocol, port and
stack (IPv4 or IPv6, rule C15), with the same address or with the wildcard on
either side.  Two different specific addresses never conflict.
"""

from __future__ import annotations

import enum
from typing import Final

from .._errors import WinError

__all__ = ["Outcome", "Scope", "Sharing", "conflict"]


class Sharing(enum.Enum):
    """A socket's address-sharing option when it binds."""

    DEFAULT = "default"
    REUSE = "SO_REUSEADDR"
    EXCLUSIVE = "SO_EXCLUSIVEADDRUSE"


class Scope(enum.Enum):
    """Whether a bind named the wildcard address (0.0.0.0, ::) or a specific one."""

    WILDCARD = "wildcard"
    SPECIFIC = "specific"


class Outcome(enum.Enum):
    """A cell of the tables: the second bind succeeds or fails with a code."""

    SUCCESS = None
    INUSE = WinError.WSAEADDRINUSE
    ACCESS = WinError.WSAEACCES


_S, _U, _A = Outcome.SUCCESS, Outcome.INUSE, Outcome.ACCESS
_D, _R, _E = Sharing.DEFAULT, Sharing.REUSE, Sharing.EXCLUSIVE
_W, _P = Scope.WILDCARD, Scope.SPECIFIC

#: The columns of both tables: the second bind's option and scope, in the page's order.
COLUMNS: Final = ((_D, _W), (_D, _P), (_R, _W), (_R, _P), (_E, _W), (_E, _P))

# (first socket's option, scope) -> (rule id, the six cells in COLUMNS order).
# Transcribed from REUSE's two "Windows Server 2003 and later" tables.
SAME_USER: Final[dict[tuple[Sharing, Scope], tuple[str, tuple[Outcome, ...]]]] = {
    (_D, _W): ("C1", (_U, _S, _A, _S, _U, _S)),
    (_D, _P): ("C2", (_S, _U, _S, _A, _U, _U)),
    (_R, _W): ("C3", (_U, _S, _S, _S, _U, _S)),
    (_R, _P): ("C4", (_S, _U, _S, _S, _U, _U)),
    (_E, _W): ("C5", (_U, _A, _A, _A, _U, _A)),
    (_E, _P): ("C6", (_S, _U, _S, _A, _U, _U)),
}
OTHER_USER: Final[dict[tuple[Sharing, Scope], tuple[str, tuple[Outcome, ...]]]] = {
    (_D, _W): ("C7", (_U, _A, _A, _A, _U, _A)),
    (_D, _P): ("C8", (_S, _U, _S, _A, _U, _U)),
    (_R, _W): ("C9", (_U, _A, _S, _S, _U, _A)),
    (_R, _P): ("C10", (_S, _U, _S, _S, _U, _U)),
    (_E, _W): ("C11", (_U, _A, _A, _A, _U, _A)),
    (_E, _P): ("C12", (_S, _U, _S, _A, _U, _U)),
}


def conflict(first: tuple[Sharing, Scope], second: tuple[Sharing, Scope], *,
             same_user: bool) -> tuple[Outcome, str]:
    """The cell for a second bind meeting a first one, and the rule (row) it comes from."""
    rule_id, cells = (SAME_USER if same_user else OTHER_USER)[first]
    return cells[COLUMNS.index(second)], rule_id
