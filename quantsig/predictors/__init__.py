"""What to predict: closed-loop linear prediction (LPC) and inter-channel decorrelation."""

from .lpc import Predictor, analyze, tukey
from .stereo import STEREO_MODES, to_stereo

__all__ = ["Predictor", "analyze", "tukey", "STEREO_MODES", "to_stereo"]
