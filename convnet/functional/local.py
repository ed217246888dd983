"""local on Tensors (being written)."""

__all__: list[str] = []
