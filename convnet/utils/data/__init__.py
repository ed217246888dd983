"""torch.utils.data's names and semantics on convnet: datasets, samplers, collation and the
DataLoader (with worker processes).

A PyTorch input pipeline runs after changing ``torch`` to ``convnet``: same classes,
arguments, defaults, batch structures and dtypes (Python ints collate to int64, floats to
float64, as torch), same errors. Randomness comes from a :class:`convnet.Generator` or
convnet's global generator (:func:`convnet.manual_seed`).

==========================  =====================================================
``dataset``                 Dataset, IterableDataset, TensorDataset, StackDataset,
                            ConcatDataset, ChainDataset, Subset, random_split
``sampler``                 Sampler, SequentialSampler, RandomSampler,
                            SubsetRandomSampler, WeightedRandomSampler, BatchSampler
``collate``                 default_collate, default_convert (and ``collate``)
``dataloader``              DataLoader
``worker``                  get_worker_info, WorkerInfo (inside worker processes)
==========================  =====================================================

Example:
    >>> import convnet
    >>> from convnet.utils.data import DataLoader, TensorDataset
    >>> images, labels = convnet.zeros(6, 1, 2, 2), convnet.tensor([0, 1, 0, 1, 0, 1])
    >>> loader = DataLoader(TensorDataset(images, labels), batch_size=4, shuffle=True,
    ...                     generator=convnet.Generator().manual_seed(0))
    >>> [(x.shape, y.dtype) for x, y in loader]
    [((4, 1, 2, 2), dtype('int64')), ((2, 1, 2, 2), dtype('int64'))]
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .worker import WorkerInfo, get_worker_info

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset",
           "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "WorkerInfo", "default_collate", "default_convert", "get_worker_info", "random_split"]
