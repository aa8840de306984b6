"""The differential test against PyTorch (``tests/test_differential.py``).

``harness`` runs one generated call in tensorcore and in PyTorch and compares the two
outcomes; ``strategies`` holds the hypothesis strategies the op tables share; the ``ops_*``
modules are the op tables, one per family (each entry: a name, the tensorcore callable, the
PyTorch callable and the strategy of its arguments). This package imports torch: only
``test_differential.py`` imports it, after checking that torch is installed.
"""
