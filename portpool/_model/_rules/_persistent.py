"""Persistent reservations: Create, Lookup, Delete."""

from __future__ import annotations

from typing import Final

from ._schema import A, D, E, Rule

__all__ = ["RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("R13", "persistent", "CreatePersistent*PortReservation and"
         " DeletePersistent*PortReservation need an elevated administrator.", "CREATE, DELETE"
         " (ERROR_ACCESS_DENIED); D-R38", D, E.ERROR_ACCESS_DENIED),
    Rule("R13a", "persistent", "Create, Lookup and Delete refuse a zero StartPort or"
         " NumberOfPorts; Create also refuses a block past 65535.", "CREATE, LOOKUP, DELETE"
         " (ERROR_INVALID_PARAMETER \"if zero is passed in the StartPort or NumberOfPorts"
         " parameters\"; Create: \"would exceed the maximum port that can be allocated\");"
         " D-R40", D, E.ERROR_INVALID_PARAMETER),
    Rule("A27", "persistent", "Lookup and Delete also refuse a block past 65535 with"
         " ERROR_INVALID_PARAMETER (rather than ERROR_NOT_FOUND).", "LOOKUP and DELETE list"
         " ERROR_INVALID_PARAMETER only for zeros (D-R40); D-Q16", A,
         E.ERROR_INVALID_PARAMETER, check="D-Q16: as an administrator"
         " LookupPersistentTcpPortReservation(htons(65530), 10, &token) and"
         " DeletePersistentTcpPortReservation(htons(65530), 10): this rule expects 87 from"
         " both; 1168 (ERROR_NOT_FOUND) overturns it."),
    Rule("A14", "persistent", "Create and Delete check their parameters before the caller's"
         " rights.", "not documented", A, check="From a non-elevated process"
         " CreatePersistentTcpPortReservation(0, 0, &token): this rule expects 87"
         " (ERROR_INVALID_PARAMETER); 5 (ERROR_ACCESS_DENIED) means rights come first."),
    Rule("R13b", "persistent", "Create fails when a port of the block is in use or the block"
         " overlaps a persistent reservation.", "CREATE (ERROR_SHARING_VIOLATION: \"is already"
         " being used\", \"matches or overlaps a persistent reservation\"); D-R39", D,
         E.ERROR_SHARING_VIOLATION),
    Rule("A15", "persistent", "Create fails the same way when the block overlaps a runtime"
         " reservation.", "CREATE (\"already being used\"), read as including runtime"
         " blocks; D-R39, D-Q2(d)", A, E.ERROR_SHARING_VIOLATION, check="D-Q2(d): acquire"
         " 60000+10 on a TCP socket and keep it open; as an administrator"
         " CreatePersistentTcpPortReservation(htons(60005), 10, &token): this rule expects"
         " ERROR_SHARING_VIOLATION."),
    Rule("R13d", "persistent", "Persistent reservations are kept in a persistent store and"
         " survive a reboot; their start port is given in network byte order at the ABI.",
         "CREATE (\"recorded in a persistent store\"); D-R37, D-R43", D),
    Rule("A10", "persistent", "A persistent reservation's token changes at every reboot, so"
         " code must look it up again.", "CREATE (\"may change each time the system is"
         " restarted\"); D-R43, D-Q16", A, check="D-Q16: as an administrator create 60000+10"
         " and note the token; reboot; LookupPersistentTcpPortReservation(htons(60000), 10):"
         " this rule expects a different token."),
    Rule("R15", "persistent", "Lookup returns the token of the persistent block with exactly"
         " that start and count; any other block gives ERROR_NOT_FOUND.", "LOOKUP (\"must"
         " match the values used when the persistent reservation ... was created\";"
         " ERROR_NOT_FOUND); D-R41", D, E.ERROR_NOT_FOUND),
    Rule("A26", "persistent", "Lookup needs no administrator (Create and Delete do, R13).",
         "LOOKUP states no admin requirement and lists no ERROR_ACCESS_DENIED (D-R38:"
         " \"Silent\"); D-Q16", A, check="D-Q16: as an administrator create 60000+10; from a"
         " non-elevated process LookupPersistentTcpPortReservation(htons(60000), 10, &token):"
         " this rule expects NO_ERROR and the same token; ERROR_ACCESS_DENIED overturns it."),
    Rule("R16", "persistent", "Delete removes the persistent block with exactly that start and"
         " count.", "DELETE (ERROR_NOT_FOUND); D-R41", D, E.ERROR_NOT_FOUND),
)
