"""Task types, datamodules and networks that live outside the package.

A config's ``extensions`` lists Python modules to import before anything is built (a module
that defines a task type registers it by importing); installed packages can also declare an
entry point in the ``dlzoo.extensions`` group. Checkpoints keep the list in their config, so
evaluation, prediction and export import the same modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points

from dlzoo.errors import ConfigError

#: the entry-point group installed packages use to extend dlzoo
ENTRY_POINT_GROUP = "dlzoo.extensions"
_loaded_entry_points = False


def load_extensions(modules: Iterable[str] | None) -> None:
    """Import ``modules`` (and, once, the installed packages' entry points)."""
    global _loaded_entry_points
    if not _loaded_entry_points:
        _loaded_entry_points = True
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            entry.load()
    if isinstance(modules, str):
        raise ConfigError(
            f"extensions={modules!r}: must be a list of module names, e.g. [{modules}]"
        )
    for name in modules or []:
        try:
            importlib.import_module(str(name))
        except ImportError as err:
            raise ConfigError(
                f"extensions: cannot import {name!r} ({err}); the module must be importable "
                f"(an installed package, or its folder on PYTHONPATH)"
            ) from None
