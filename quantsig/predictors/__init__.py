"""What to predict: closed-loop linear prediction (LPC) and inter-channel decorrelation."""

from .lpc import Predictor, analyze, quantize_coefficients, tukey
from .stereo import STEREO_MODES, from_stereo, to_stereo

__all__ = ["Predictor", "analyze", "quantize_coefficients", "tukey", "STEREO_MODES", "to_stereo", "from_stereo"]
