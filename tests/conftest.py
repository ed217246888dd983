"""Shared test settings: small tensors, so torch (the oracle) runs best on one thread."""

try:
    import torch
except ImportError:  # the torch-based tests skip themselves
    torch = None

if torch is not None:
    torch.set_num_threads(1)
