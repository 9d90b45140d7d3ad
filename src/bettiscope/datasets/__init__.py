"""Data sets: shapes of known topology, synthetic sets with large Betti numbers, image sets."""

from bettiscope.datasets import shapes

__all__ = ["shapes"]
