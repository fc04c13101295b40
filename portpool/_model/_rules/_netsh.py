"""netsh: excludedportrange and dynamicport."""

from __future__ import annotations

from typing import Final

from ._schema import OBS, A, Alternative, E, Rule

__all__ = ["ALTERNATIVES", "RULES"]

RULES: Final[tuple[Rule, ...]] = (
    Rule("N1", "netsh", "netsh int ipv4|ipv6 add excludedportrange protocol=tcp|udp"
         " startport=N numberofports=N creates a persistent reservation (the store of"
         " CreatePersistent*PortReservation: LookupPersistent* finds it), listed with `*`;"
         " delete excludedportrange removes one.  Both need the row's exact start and count:"
         " a delete of part of a row, or of more than a row, removes nothing (as"
         " DeletePersistent*, R16).", "D-R47: rows added with netsh show the `*` (BIGFIX;"
         " localsend/localsend#125; OTEL_10839); that netsh and the API share one store is"
         " inferred (D-Q17); the Spanish netsh help: \"Los valores de startport y numberofports"
         " deben ser exactamente los mismos que en la exclusión creada previamente\" (WILD_OBS"
         " §E); only the `*` and the exact-match delete are seen, so the rule as a whole is"
         " assumed", A, check="D-Q17: as an administrator, netsh int ipv4 add excludedportrange"
         " protocol=tcp startport=60000 numberofports=10, then"
         " LookupPersistentTcpPortReservation(htons(60000), 10, &token): this rule expects"
         " NO_ERROR; then netsh ... delete ... startport=60000 numberofports=5: this rule"
         " expects the row to stay."),
    Rule("N2", "netsh", "netsh add, delete and set (excludedportrange, dynamicport) need an"
         " elevated administrator; others get ERROR_ELEVATION_REQUIRED and netsh prints \"The"
         " requested operation requires elevation (Run as administrator).\"  show needs no"
         " elevation.  The check comes after the command's syntax (a usage error is printed"
         " first) and before its values (assumed).", "WILD_OBS §E (FrameLink runbook: \"The"
         " requested operation requires elevation\" for add excludedportrange); the full text"
         " from netsh, exit code 1:"
         " LAB02-Research/HASS.Agent#48 (netsh advfirewall), MysticFoxDE/WINDOWS-OPTIMIZATIONS#4"
         " (netsh int tcp set, German: \"... erhöhte Rechte erforderlich (Als Administrator"
         " ausführen).\"); SYSERR (740); show is run from ordinary prompts (SO_ADMIN:"
         " C:\\Users\\Xyz>)", OBS, E.ERROR_ELEVATION_REQUIRED),
    Rule("N3", "netsh", "store=active rows last until the next boot; store=persistent rows (the"
         " default for add) survive it.  show excludedportrange ... store=persistent lists only"
         " the persistent store's rows.", "netsh's syntax \"add excludedportrange"
         " [protocol=]tcp|udp [startport=]<integer> [numberofports=]<integer>"
         " [store=]active|persistent\" (pasted in termux/termux-packages#31825);"
         " MicrosoftDocs/sql-docs PR #8145 and Azure/AgentBaker#1913 use store=persistent; the"
         " meaning of each store is assumed (D-Q17)", A, check="D-Q17: as an administrator,"
         " netsh int ipv4 add excludedportrange protocol=tcp startport=60200 numberofports=5"
         " store=active, and startport=60300 numberofports=5 (no store); show excludedportrange"
         " protocol=tcp and the same with store=persistent; reboot and show again: this rule"
         " expects both `*` rows at first, only 60300-60304 under store=persistent, and only"
         " 60300-60304 after the reboot."),
    Rule("N4", "netsh", "show excludedportrange prints a blank line, the title (\"Protocol tcp"
         " Port Exclusion Ranges\"), a blank line, the header \"Start Port    End Port\", a dash"
         " line, one row per block in start order (\"%10u  %10u\", administered rows followed by"
         " five spaces and `*`), a blank line, the legend \"* - Administered port"
         " exclusions.\" and a blank line; show dynamicport prints \"Protocol tcp Dynamic Port"
         " Range\", a dash line, \"Start Port      : N\" and \"Number of Ports : N\".  Titles,"
         " headers and legends are translated; rows and `*` are not.", "D-R60; NETSH_SAMPLES"
         " (README.md gives the layout, trailing spaces included); OTEL_10839 (en-US output as"
         " printed); dorssel/usbipd-win#53 (show dynamicport)", OBS),
    Rule("X7", "netsh", "netsh delete excludedportrange of a row without `*` (a system"
         " exclusion, or a listed runtime block, X13) is refused, even elevated, and the row"
         " stays.  Which error netsh reports is unsettled: see the alternatives.", "D-R49;"
         " D-Q17; SO_ADMIN", OBS, E.ERROR_ACCESS_DENIED, check="D-Q17: as an administrator on"
         " a Hyper-V host, netsh int ipv4 delete excludedportrange protocol=tcp startport=S"
         " numberofports=N for a WinNAT row S..S+N-1: \"Access is denied.\" settles"
         " `access-denied`; \"Element not found.\" settles `not-found`."),
    Rule("X13", "netsh", "Whether netsh show excludedportrange lists runtime (SIO_ACQUIRE)"
         " blocks as rows without `*`: see the alternatives.", "D-R58; D-Q9(a); D-Q17", A,
         check="D-Q9(a): acquire a wildcard 100-port TCP block and keep the socket open; netsh"
         " int ipv4 show excludedportrange protocol=tcp: a new row without `*` covering the"
         " block settles `listed` (it should vanish when the socket closes); no such row"
         " settles `hidden`."),
)

# Where the evidence conflicts: every candidate behaviour, the default first.
ALTERNATIVES: Final[tuple[Alternative, ...]] = (
    Alternative("X7", "access-denied", "netsh prints \"Access is denied.\""
                " (ERROR_ACCESS_DENIED).", "SO_ADMIN (answer: \"If we try to delete a port"
                " range exclusion ... (even as administrator), it will return an error saying"
                " that it doesn't have permission for this\"); D-R49", OBS,
                E.ERROR_ACCESS_DENIED),
    Alternative("X7", "not-found", "netsh prints \"Element not found.\" (ERROR_NOT_FOUND): the"
                " row is not in the persistent store netsh deletes from.", "D-R49 (\"The exact"
                " code is unknown (ERROR_ACCESS_DENIED or ERROR_NOT_FOUND)\"); DELETE's code for"
                " a block it cannot find", A, E.ERROR_NOT_FOUND),
    Alternative("X13", "listed", "Every live runtime block is listed as a row without `*`,"
                " beside the system exclusions (which are then runtime reservations made by"
                " kernel components), and vanishes when its socket closes.", "D-R58"
                " (\"Inferred: such rows are runtime reservations made by kernel components\");"
                " D-Q9(a) expects the row to disappear at close", A),
    Alternative("X13", "hidden", "netsh lists only persistent reservations and system"
                " exclusions; runtime blocks do not appear.", "none found: the other reading of"
                " D-R58 (system rows come from another mechanism, such as HCN's own"
                " reservations, D-R54)", A),
)
