"""Write the golden files of the current format version (run by hand when the format changes).

Each case is a ``.qsg`` file plus the ``.npy`` array it must decode to. The test suite decodes
every committed golden file of every format version, so old files stay readable.

    python tests/golden/make_golden.py
"""

import os

import numpy as np

import quantsig
from quantsig.container import FORMAT_VERSION

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"v{FORMAT_VERSION}")


def cases():
    rng = np.random.default_rng(2026)
    x = (rng.standard_normal((64, 48)) * 0.3).astype(np.float32)
    pcm = rng.laplace(scale=3000, size=2000).clip(-32768, 32767).astype(np.int16)
    lm = quantsig.LloydMaxQuantizer(8).fit(x)
    return {
        "uniform_step_rans": (x, quantsig.UniformQuantizer(step=0.02), {}),
        "uniform_bits_raw": (x.astype(np.float64), quantsig.UniformQuantizer(bits=10), {"entropy": "raw"}),
        "mulaw_frames": (x, quantsig.MuLawQuantizer(bits=8, clip=True), {"frame_size": 1000}),
        "alaw_bigendian": (x.astype(">f8"), quantsig.ALawQuantizer(bits=7, clip=True), {}),
        "g711_mu_audioop": (pcm, quantsig.G711Quantizer(law="mu", variant="audioop"), {}),
        "lloydmax_8": (x, lm, {"metadata": {"note": "golden"}}),
        "kmeans_dim4": (x, quantsig.KMeansVectorQuantizer(16, dim=4, random_state=0), {}),
    }


def main():
    os.makedirs(HERE, exist_ok=True)
    for name, (x, q, opts) in cases().items():
        blob = quantsig.compress(x, q, **opts)
        with open(os.path.join(HERE, name + ".qsg"), "wb") as f:
            f.write(blob)
        np.save(os.path.join(HERE, name + ".npy"), quantsig.decompress(blob))
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main()
