"""The quantizer families, one class per module, all on ``Quantizer``.

Every class is importable from here as well as from its module (and the concrete ones from
``quantsig`` itself); ``ThresholdQuantizer`` and ``CompandingQuantizer`` are the bases of the
table-driven scalar quantizers.
"""

from .alaw import ALawQuantizer
from .base import Quantizer
from .companding import CompandingQuantizer
from .ecsq import ECSQuantizer
from .g711 import G711Quantizer
from .kmeans import KMeansVectorQuantizer
from .lloydmax import LloydMaxQuantizer
from .mulaw import MuLawQuantizer
from .threshold import ThresholdQuantizer
from .uniform import UniformQuantizer

__all__ = [
    "Quantizer",
    "ThresholdQuantizer",
    "CompandingQuantizer",
    "UniformQuantizer",
    "MuLawQuantizer",
    "ALawQuantizer",
    "G711Quantizer",
    "LloydMaxQuantizer",
    "KMeansVectorQuantizer",
    "ECSQuantizer",
]
