"""Model selection under scikit-learn's module name: the splitters of
``tensorcore.utils.data.split``, and cross-validation and hyperparameter search over a user
function from ``tensorcore.training`` (``cross_validate``, ``grid_search``,
``random_search``, ``parameter_grid``, ``parameter_sampler``, ``LogUniform``).

>>> from tensorcore.model_selection import KFold, cross_validate, grid_search
>>> KFold(n_splits=4).get_n_splits()
4
>>> grid_search({"c": [1, 2, 3]}, lambda p: -(p["c"] - 2) ** 2).best_params
{'c': 2}
"""

from .training.cv import CVResult, cross_validate
from .training.search import (
    LogUniform,
    SearchResult,
    grid_search,
    parameter_grid,
    parameter_sampler,
    random_search,
)
from .utils.data.split import KFold, StratifiedKFold, train_test_split, train_val_test_split

__all__ = ["CVResult", "KFold", "LogUniform", "SearchResult", "StratifiedKFold",
           "cross_validate", "grid_search", "parameter_grid", "parameter_sampler",
           "random_search", "train_test_split", "train_val_test_split"]
