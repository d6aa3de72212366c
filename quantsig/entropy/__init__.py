"""Entropy coding of integer symbols: rANS blocks, fixed-rate packing, frequency models.

Plain functions on arrays and bytes; no files, no quantizer knowledge (``container.py`` and
``codec.py`` build on them). Byte layouts are specified in ``docs/entropy.md``.

* ``encode_symbols`` / ``decode_symbols``: one self-contained rANS block (header,
  frequency table, escapes, payload) for any 1-D integer array.
* ``encode_raw`` / ``decode_raw``: ``bits`` per value, LSB first, no header.
* ``order0_entropy``: empirical bits per symbol, the floor the blocks are measured against.
* ``FrequencyTable``: the integer model and its serialization.

Decoders treat their input as untrusted and raise ``CorruptFileError``.
"""

from __future__ import annotations

from .bitpack import decode_raw, encode_raw, raw_nbytes
from .model import MAX_ALPHABET, MAX_PRECISION, FrequencyTable, order0_entropy
from .rans import FORMAT_VERSION, BlockInfo, block_info, decode_symbols, encode_symbols

__all__ = [
    "encode_symbols",
    "decode_symbols",
    "block_info",
    "BlockInfo",
    "encode_raw",
    "decode_raw",
    "raw_nbytes",
    "order0_entropy",
    "FrequencyTable",
    "MAX_ALPHABET",
    "MAX_PRECISION",
    "FORMAT_VERSION",
]
