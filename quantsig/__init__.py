"""quantsig: signal and data compression by quantization.

Uniform, mu-law / A-law / G.711, Lloyd-Max and k-means vector quantizers share one
contract (``fit`` / ``encode`` / ``decode`` / ``get_config``) and run their hot loops in
Numba kernels.
"""

from __future__ import annotations

from . import metrics, rd, theory
from .api import compress, decompress, info, load, save
from .codec import Codec
from .errors import (
    CodeRangeError,
    ConvergenceWarning,
    CorruptFileError,
    NotFittedError,
    OutOfRangeError,
    QuantsigError,
    TrainingSizeWarning,
)
from .quantizers.alaw import ALawQuantizer
from .quantizers.base import Quantizer
from .quantizers.ecsq import ECSQuantizer
from .quantizers.g711 import G711Quantizer
from .quantizers.kmeans import KMeansVectorQuantizer
from .quantizers.lloydmax import LloydMaxQuantizer
from .quantizers.mulaw import MuLawQuantizer
from .quantizers.uniform import UniformQuantizer
from .registry import get_quantizer, register_quantizer, registered_quantizers

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "metrics",
    "rd",
    "theory",
    "Codec",
    "compress",
    "decompress",
    "save",
    "load",
    "info",
    "Quantizer",
    "UniformQuantizer",
    "MuLawQuantizer",
    "ALawQuantizer",
    "LloydMaxQuantizer",
    "G711Quantizer",
    "KMeansVectorQuantizer",
    "ECSQuantizer",
    "get_quantizer",
    "register_quantizer",
    "registered_quantizers",
    "QuantsigError",
    "NotFittedError",
    "CorruptFileError",
    "OutOfRangeError",
    "CodeRangeError",
    "ConvergenceWarning",
    "TrainingSizeWarning",
]
