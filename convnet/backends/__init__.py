"""``torch.backends``'s switches, as far as they mean something on convnet's CPU kernels.

``cudnn`` and ``mps`` report that they are absent; setting ``cudnn.benchmark`` or
``cudnn.deterministic`` (common in training scripts) is accepted and changes nothing.

Example:
    >>> import convnet
    >>> convnet.backends.cudnn.is_available(), convnet.backends.mps.is_available()
    (False, False)
    >>> convnet.backends.cudnn.benchmark = True
"""

from types import SimpleNamespace

from . import cudnn


def _absent() -> bool:
    return False


mps = SimpleNamespace(is_available=_absent, is_built=_absent)
cuda = SimpleNamespace(is_built=_absent, matmul=SimpleNamespace(allow_tf32=False))
mkldnn = SimpleNamespace(is_available=_absent, enabled=False)

__all__ = ["cudnn", "mps", "cuda", "mkldnn"]
