"""The commands users type (``scripts/*.py``, ``dlzoo-*``): each composes, calls the layers below and reports."""
