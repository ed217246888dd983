"""torch.utils's names that convnet has: :mod:`convnet.utils.data` (Dataset, DataLoader, ...).

Example:
    >>> from convnet.utils import data
    >>> len(data.TensorDataset(data.default_collate([1, 2, 3])))
    3
"""

from . import data
