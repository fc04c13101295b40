"""portpool's build backend: setuptools', plus one file at the root of every wheel.

Editable installs use setuptools' strict mode (see ``build_editable``).

``portpool-children.pth`` lets a Python child process of a patched program join the
same emulated machine (see docs/compatibility.md, "Child processes").  A ``.pth`` file
works only at the root of site-packages, and setuptools puts a project's files inside
its packages (a normal wheel) or in a link tree under ``build/`` (the strict editable
install), so this wrapper adds the file to the wheel setuptools made, with its RECORD
line, for ``build_wheel`` and ``build_editable`` alike.  Every other hook is
setuptools' own.
"""

from __future__ import annotations

import base64
import hashlib
import os
import warnings
import zipfile
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - every hook not defined below is setuptools'
from setuptools.warnings import InformationOnly

PTH_NAME = "portpool-children.pth"
PTH_SOURCE = Path(__file__).resolve().parent / PTH_NAME


def build_wheel(wheel_directory: str, config_settings: dict[str, object] | None = None,
                metadata_directory: str | None = None) -> str:
    """setuptools' wheel with the .pth file added."""
    name: str = _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    add_pth(Path(wheel_directory, name))
    return name


def build_editable(wheel_directory: str, config_settings: dict[str, object] | None = None,
                   metadata_directory: str | None = None) -> str:
    """setuptools' editable wheel in its strict mode, with the .pth file added.

    backends/ installs as ``portpool.backends`` (a package directory of its own), so
    setuptools' default editable mode would install an import hook, which mypy and other
    static tools cannot follow.  Strict mode links every file into a tree under build/
    named by a plain .pth file instead.  Asked for here rather than through the
    experimental ``[tool.distutils.editable_wheel]`` table, which warns on every install.
    """
    settings = {**(config_settings or {}), "editable_mode": "strict"}
    with warnings.catch_warnings():
        # Strict mode always emits setuptools' InformationOnly note naming the link tree's
        # folder (build/__editable__.*, which .gitignore covers); it is a note, not a
        # problem, and pip shows it only with -v.  Every real warning still shows.
        warnings.filterwarnings("ignore", message=r"(?s)Editable installation",
                                category=InformationOnly)
        name: str = _setuptools.build_editable(wheel_directory, settings, metadata_directory)
    add_pth(Path(wheel_directory, name))
    return name


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}\n"


def add_pth(wheel: Path) -> None:
    """Rewrite ``wheel`` with ``portpool-children.pth`` at its root and in its RECORD."""
    data = PTH_SOURCE.read_bytes()
    partial = wheel.with_name(wheel.name + ".part")
    with zipfile.ZipFile(wheel) as old, \
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            content = old.read(item)
            if item.filename == PTH_NAME:
                continue
            if item.filename.endswith(".dist-info/RECORD"):
                lines = [line for line in content.decode("utf-8").splitlines(keepends=True)
                         if not line.startswith(f"{PTH_NAME},")]
                new.writestr(PTH_NAME, data)
                content = "".join([_record_line(PTH_NAME, data), *lines]).encode("utf-8")
            new.writestr(item, content)
    os.replace(partial, wheel)
