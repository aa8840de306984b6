"""Model selection: the splitters of ``tensorcore.utils.data.split`` under scikit-learn's
module name (cross-validation and hyperparameter search join them here later).

>>> from tensorcore.model_selection import KFold
>>> KFold(n_splits=4).get_n_splits()
4
"""

from .utils.data.split import KFold, StratifiedKFold, train_test_split, train_val_test_split

__all__ = ["KFold", "StratifiedKFold", "train_test_split", "train_val_test_split"]
