"""Neural-network weights through quantsig's quantizers, with exact bits-per-weight accounting.

Typical use::

    from quantsig import weights
    qm = weights.quantize_model("model.safetensors", bits_per_weight=4.0)
    qm.save("model.qsg")
    print(qm.report())
    tensors = weights.load_model("model.qsg", as_="torch")

* ``quantize_model``: a budget in bits per weight (everything written counted) met with
  the least error, or an explicit scheme (``method``, ``bits``, ``granularity``,
  ``group_size``, ``entropy``); sources are read lazily, one tensor at a time.
* ``load_model``: a dict of dequantized tensors (NumPy or torch), or with
  ``dequantize=False`` the codes, scales and codebooks for custom kernels.
* ``report``: the per-tensor accounting of an archive.

The methods are the library's quantizers applied to group-normalised weights; see
``quantsig.weights.schemes``. The archive format is in ``quantsig.weights.archive``.
"""

from __future__ import annotations

from .model import DEFAULT_MIN_SIZE, QuantizedModel, WeightsReport, load_model, quantize_model, report
from .schemes import GRANULARITIES, METHODS, QuantizedTensor, Scheme
from .sources import open_source

__all__ = [
    "quantize_model",
    "load_model",
    "report",
    "QuantizedModel",
    "QuantizedTensor",
    "WeightsReport",
    "Scheme",
    "METHODS",
    "GRANULARITIES",
    "DEFAULT_MIN_SIZE",
    "open_source",
]
