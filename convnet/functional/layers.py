"""linear, flatten, dropout, batch_norm on Tensors (torch.nn.functional names and semantics)."""

__all__: list[str] = []
