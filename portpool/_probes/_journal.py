"""The probe's restore journal: every machine-wide change, and the netsh words that undo it.

An experiment that changes the machine for everyone (``netsh set dynamicport``,
``netsh add excludedportrange``) writes the undoing words here *before* it makes the
change, and strikes them out once they ran.  The lab undoes in ``finally``, so an
exception or Ctrl+C (KeyboardInterrupt) mid-experiment restores at once; a probe that
was killed outright (or interrupted again while restoring) leaves the entry in the
file, and the next ``portpool probe`` runs it before anything else
(:meth:`~portpool._probes._lab.Lab.recover`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

__all__ = ["DEFAULT_JOURNAL", "Journal"]

#: Where the real machine's lab keeps its journal.
DEFAULT_JOURNAL: Final = Path(tempfile.gettempdir()) / "portpool-probe-journal.json"


class Journal:
    """Pending restores, in a JSON file (or only in memory when ``path`` is ``None``).

    Args:
        path: the file; it exists only while something is pending.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._entries: list[dict[str, Any]] = []
        self._next = 1
        if self.path is not None and self.path.exists():
            self._entries = _read(self.path)
            self._next = 1 + max((int(e["id"]) for e in self._entries), default=0)

    def add(self, what: str, netsh: str) -> int:
        """Record a restore (before the change it undoes); returns its id."""
        entry = self._next
        self._next += 1
        self._entries.append({"id": entry, "what": what, "netsh": netsh})
        self._save()
        return entry

    def done(self, entry: int) -> None:
        """Strike out a restore that ran (or a change that was not made)."""
        self._entries = [e for e in self._entries if e["id"] != entry]
        self._save()

    def pending(self) -> list[tuple[int, str, str]]:
        """``(id, what, netsh words)`` of every restore not yet done, last first."""
        return [(int(e["id"]), str(e["what"]), str(e["netsh"])) for e in reversed(self._entries)]

    def _save(self) -> None:
        if self.path is None:
            return
        if not self._entries:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._entries, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"the probe's restore journal {path} cannot be read ({exc}); restore"
                         " what it lists by hand, then delete it") from None
    if not isinstance(data, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), int) and isinstance(e.get("netsh"), str)
            and isinstance(e.get("what"), str) for e in data):
        raise ValueError(f"the probe's restore journal {path} is not a list of restores;"
                         " restore what it lists by hand, then delete it")
    return data
