"""The quantizer families, one class per module, all on :class:`~quantsig.quantizers.base.Quantizer`."""
