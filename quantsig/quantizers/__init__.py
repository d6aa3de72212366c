"""The quantizer families, one class per module, all on ``Quantizer``."""
