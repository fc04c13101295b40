"""The real-machine tools: answers for the machine a program runs on.

One module per tool, each reaching the machine through the seam (``_seam.py``): this
Windows machine (netsh, net, a test bind), or the emulated machine under
:func:`portpool.patch`, which is how the suite runs every Windows path on Linux.

* ``_free.py``: :func:`free_port`, and the pytest fixtures' draws;
* ``_why.py``: :func:`explain_error` and ``portpool why``;
* ``_check.py``: ``portpool check``, the CI preflight;
* ``_reserve.py``: ``portpool reserve``, the stop-winnat/add/start-winnat steps;
* ``_diff.py``: ``portpool diff``, two snapshots compared;
* ``_report.py``: the pytest plugin's explanation of a failed test's OSError;
* ``_rows.py`` / ``_machine.py``: what the tools read of a machine.
"""

from ._free import NoFreePortError, free_port
from ._why import ErrorExplanation, explain_error

__all__ = ["ErrorExplanation", "NoFreePortError", "explain_error", "free_port"]
