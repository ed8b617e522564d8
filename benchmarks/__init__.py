"""Speed benchmarks of dlzoo, run from the repository root (they read ``conf/`` and write
``docs/``): ``python benchmarks/pipelines.py`` and ``python benchmarks/memory_format.py``.
Not part of the installed ``dlzoo`` package, which imports nothing from here."""
