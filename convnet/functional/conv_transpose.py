"""conv_transpose on Tensors (being written)."""

__all__: list[str] = []
