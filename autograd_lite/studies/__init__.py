"""Studies run with the engine itself, one module each, started by ``autograd-lite study``.

- :mod:`autograd_lite.studies.relu0`: does relu'(0) change backpropagation, how often, and
  does it change training (float16/32/64)? ``autograd-lite study relu0 [--quick]``.

A study may use the optional ``study`` extra (scikit-learn, tqdm, matplotlib); it imports
them inside the functions that need them, so that importing the study stays light.
"""
