"""Run by a Windows CPython under Wine: the interface tests, on win32, over both backends."""

import sys

# Wine 8 lacks propsys.VariantToString, which platform's WMI query needs; without _wmi,
# platform falls back to sys.getwindowsversion().
sys.modules["_wmi"] = None  # type: ignore[assignment]  # None: "import _wmi" fails
stage, site, root = sys.argv[1:4]
sys.path[:0] = [stage, site, root]

import pytest  # noqa: E402

# portpool is staged, not installed, so Hypothesis's entry point cannot find it: run the hook.
from portpool.testing._hypothesis import _hypothesis_setup_hook  # noqa: E402

_hypothesis_setup_hook()

sys.exit(pytest.main([
    "-p", "portpool.pytest_plugin", "-p", "no:cacheprovider", "-q", "--rootdir", root,
    # the hook above imported hypothesis before pytest could rewrite its asserts: expected
    "-W", "ignore::pytest.PytestAssertRewriteWarning",
    f"{root}\\tests\\test_model_rules.py", f"{root}\\tests\\test_dlls.py",
    f"{root}\\tests\\test_sample.py", f"{root}\\tests\\test_values.py",
    f"{root}\\tests\\test_backends_agree.py", f"{root}\\tests\\test_conflicts.py",
    f"{root}\\tests\\test_dll_options.py", f"{root}\\tests\\test_msquic_pattern.py",
    "-k", "not command_line and not example_script",  # they start subprocesses of Linux paths
]))
