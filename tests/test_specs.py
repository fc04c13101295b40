"""specs/semantics.md and the rule table agree, and every rule is named by a test."""

from __future__ import annotations

import re
from pathlib import Path

from portpool._model._rules import RULES, Confidence, render_markdown

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- rules: everything below is `python -m portpool specs` -->"


def test_semantics_md_is_the_rendered_table() -> None:
    text = (ROOT / "specs" / "semantics.md").read_text(encoding="utf-8")
    assert MARKER in text, "specs/semantics.md lost its marker"
    assert text.split(MARKER, 1)[1].strip() == render_markdown().strip(), (
        "specs/semantics.md is stale: regenerate its rules with `python -m portpool specs`")


def test_every_rule_is_named_by_a_test() -> None:
    named: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for args in re.findall(r"mark\.rule\(([^)]*)\)|\brule\(([^)]*)\)", path.read_text()):
            for chunk in args:
                named.update(re.findall(r'"([A-Z]\d+[a-z]?)"', chunk))
    missing = sorted(set(RULES) - named)
    assert not missing, f"rules without a test: {missing}"
    unknown = sorted(named - set(RULES))
    assert not unknown, f"tests name rules the table does not have: {unknown}"


def test_assumed_rules_say_how_to_check_them_and_others_cite_a_source() -> None:
    for rule in RULES.values():
        assert rule.source, rule.id
        if rule.confidence is Confidence.ASSUMED:
            assert rule.check, f"assumed rule {rule.id} names no Windows experiment"


def test_every_refusal_code_is_a_winerror_with_a_message() -> None:
    for rule in RULES.values():
        if rule.error is not None:
            assert rule.error.message.endswith(".")
