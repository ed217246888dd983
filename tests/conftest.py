"""Shared test settings: small tensors, so torch (the oracle) runs best on one thread; under
CI a test skipped for a missing module fails (tests/strict_oracles.py)."""

pytest_plugins = ["strict_oracles"]
# programs that tests run: under mpiexec (test_distributed.py); on torch, then ported
# (test_torch_examples.py)
collect_ignore = ["mpi_scripts", "torch_scripts"]

try:
    import torch
except ImportError:  # the torch-based tests skip themselves
    torch = None

if torch is not None:
    torch.set_num_threads(1)
