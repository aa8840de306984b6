"""Utilities: ``tensorcore.utils.data`` (datasets, loaders and splitters).

>>> from tensorcore.utils import data
>>> data.DataLoader.__name__
'DataLoader'
"""

from . import data
