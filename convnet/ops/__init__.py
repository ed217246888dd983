"""Pure NumPy kernels: forward and backward side by side, no Tensor, no state."""
