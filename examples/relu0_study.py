"""Does relu'(0) matter? Bertoin et al. (NeurIPS 2021) at small scale, with this engine.

A 64-128-128-10 ReLU network on the 8 x 8 digits, trained with plain SGD in float16,
float32 and float64, once with relu'(0) = 0 and once with relu'(0) = 1 from the same
weights and minibatches. It counts the pre-activations that are exactly 0, the minibatches
whose gradients differ bitwise (``ag.subgradient_sensitivity``), how far apart the two
weight trajectories end, and the same with the paper's "replace, don't multiply" backward.

    python examples/relu0_study.py --quick          # about half a minute
    python examples/relu0_study.py --out results    # the full study, a few minutes

It is the same as ``autograd-lite study relu0``; every option is in ``--help``.
The digits come with scikit-learn (``pip install "autograd-lite[study]"``).
"""

from __future__ import annotations

import sys

from autograd_lite.studies.relu0 import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
