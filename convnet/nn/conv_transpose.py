"""conv_transpose layers (being written)."""

__all__: list[str] = []
