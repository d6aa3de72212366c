"""Every registered quantizer through the shared conformance checks (quantsig.testing)."""

import quantsig
from quantsig.testing import parametrize_with_checks


def test_every_public_quantizer_is_registered():
    registered = set(quantsig.registered_quantizers().values())
    for name in (
        "UniformQuantizer",
        "MuLawQuantizer",
        "ALawQuantizer",
        "G711Quantizer",
        "LloydMaxQuantizer",
        "KMeansVectorQuantizer",
    ):
        assert getattr(quantsig, name) in registered


@parametrize_with_checks()
def test_conformance(quantizer, check):
    check(quantizer)
