"""POS integration models (owned by the POS work; see docs/pos-integration.md)."""

__all__: list[str] = []
