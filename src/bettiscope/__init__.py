"""bettiscope: look at neural networks through topology.

The engine (:mod:`bettiscope.topology`) computes Betti numbers of point clouds at one scale,
exactly and fast; the rest of the package measures them through the layers of networks.
"""

from bettiscope.topology import (
    BettiResult,
    ComplexTooLargeError,
    betti_by_class,
    betti_numbers,
    persistence_diagrams,
)

__version__ = "0.1.0"

__all__ = [
    "BettiResult",
    "ComplexTooLargeError",
    "__version__",
    "betti_by_class",
    "betti_numbers",
    "persistence_diagrams",
]
