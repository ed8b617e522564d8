"""The package's import structure: no module imports itself back through others.

`lint-imports` (run by the README's test command) checks the layers and sibling cycles
declared in pyproject.toml; this test also catches a cycle between any two modules.
"""

from __future__ import annotations

import grimp


def test_no_import_cycles_between_modules() -> None:
    # a type named only in annotations (``if TYPE_CHECKING:``) is no import at run time,
    # as for lint-imports (pyproject.toml: exclude_type_checking_imports)
    graph = grimp.build_graph("dlzoo", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None and imported != module:
                cycles.append(" -> ".join((module, *back)))
    assert not cycles, "\n".join(cycles)
