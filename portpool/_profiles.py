"""Profiles: what ``portpool probe`` measured on one Windows machine, as data.

A profile is JSON (or the same mapping in Python)::

    {"machine": {"windows": "10.0.26100", "elevated": true, "python": "3.12.4", ...},
     "results": {"X15": {"observed": "refused", "evidence": "..."},
                 "Q": {"observed": null, "evidence": "bind -> 10048"}}}

Applied to an emulated host (``EmulatedHost(profile=...)``), each rule with
alternatives whose ``observed`` names one of them runs that alternative; a rule
observed as ``null`` (no alternative matched) or a rule without alternatives keeps
the default.  Explicit ``variants=`` win over the profile's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ._errors import shown
from ._model._rules import ALTERNATIVES

__all__ = ["VERDICTS", "load_profile", "profile_variants", "save_profile"]

#: The verdicts ``portpool probe`` writes (``portpool._probes._runner`` says what each means).
VERDICTS = frozenset({"observed", "unmatched", "agree", "disagree", "skipped", "error"})


def load_profile(profile: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read a profile from a JSON file (or take a mapping) and check its shape.

    Raises:
        TypeError: ``profile`` is neither a path nor a mapping.
        ValueError: the file is not UTF-8 JSON (nested too deeply, or with an int of more
            digits than Python reads, counts as not JSON) or not a profile (the message
            says what is wrong).
        OSError: the file cannot be read.
    """
    if isinstance(profile, (str, os.PathLike)):
        name = shown(os.fspath(profile))
        with open(profile, "rb") as file:
            raw = file.read()
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"profile {name} is not JSON: not UTF-8 text ({exc.reason} at byte"
                             f" {exc.start})") from None
        except RecursionError:
            raise ValueError(f"profile {name} is not JSON: nested too"
                             " deeply") from None
        except ValueError as exc:  # JSONDecodeError, or an int past the digit limit
            raise ValueError(f"profile {name} is not JSON: {exc}") from None
    elif isinstance(profile, Mapping):
        data = dict(profile)
    else:
        raise TypeError(f"profile must be a path or a mapping, not {type(profile).__name__}")
    if not isinstance(data, dict) or not isinstance(data.get("results"), Mapping):
        raise ValueError("a profile is a mapping with a 'results' mapping of rule id to"
                         " {'observed': alternative or null, ...}")
    for rule_id, result in data["results"].items():
        if not isinstance(rule_id, str) or not isinstance(result, Mapping):
            raise ValueError(f"profile result {shown(rule_id)} must map a rule id to a mapping")
        observed = result.get("observed")
        if observed is not None and not isinstance(observed, str):
            raise ValueError(f"profile result {rule_id}: 'observed' must be an alternative"
                             f" name or null, not {shown(observed)}")
        verdict = result.get("verdict")
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"profile result {rule_id}: 'verdict' must be one of"
                             f" {', '.join(sorted(VERDICTS))}, not {shown(verdict)}")
    if "machine" in data and not isinstance(data["machine"], Mapping):
        raise ValueError("a profile's 'machine' must be a mapping")
    return data


def save_profile(profile: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a profile as JSON (UTF-8, indented, a final newline), checking its shape first.

    Raises:
        ValueError: ``profile`` is not a profile (as for :func:`load_profile`).
        OSError: the file cannot be written.
    """
    load_profile(profile)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(profile, file, indent=2)
        file.write("\n")


def profile_variants(profile: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, str]:
    """The ``{rule_id: alternative}`` a profile settles (see the module docstring).

    Raises:
        ValueError: an observed alternative that the rule does not have (a profile
            from a newer or older portpool), besides :func:`load_profile`'s errors.
    """
    variants: dict[str, str] = {}
    for rule_id, result in load_profile(profile)["results"].items():
        observed = result.get("observed")
        rows = ALTERNATIVES.get(rule_id)
        if observed is None or rows is None:
            continue
        if observed not in {row.name for row in rows}:
            names = ", ".join(row.name for row in rows)
            raise ValueError(f"profile says rule {rule_id} was observed as {shown(observed)}, which"
                             f" is not one of its alternatives ({names})")
        variants[rule_id] = observed
    return variants
