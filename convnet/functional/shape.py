"""pad, interpolate, cat, stack on Tensors (torch.nn.functional names and semantics)."""

__all__: list[str] = []
