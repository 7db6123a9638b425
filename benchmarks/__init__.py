"""Benchmarks: autograd_lite against micrograd, hand-written backprop and PyTorch.

Run ``python -m benchmarks`` (``--quick`` for a smoke run, ``--help`` for the options).

``python -m benchmarks`` pins the BLAS and OpenMP thread pools before NumPy is imported,
so that every engine computes on the same number of threads (1 unless ``BENCH_THREADS``
says otherwise); PyTorch is pinned with ``torch.set_num_threads`` when a workload imports
it. Importing this package alone changes nothing.
"""

import os
import sys

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")
pinned = False  # set by pin_threads(): the variables were set before NumPy was imported


def pin_threads() -> None:
    """Set the thread-count variables of every BLAS/OpenMP runtime to THREADS."""
    global pinned
    for var in THREAD_VARS:
        os.environ[var] = str(THREADS)
    pinned = "numpy" not in sys.modules  # too late for NumPy's pool if it is loaded already
