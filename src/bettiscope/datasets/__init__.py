"""Data sets: shapes of known topology, synthetic sets with large Betti numbers, image sets."""

# importing synthetic registers the built-in generators in DATASETS
from bettiscope.datasets import shapes, synthetic
from bettiscope.datasets.registry import DATASETS, PointCloudDataset, load_dataset

__all__ = ["DATASETS", "PointCloudDataset", "load_dataset", "shapes", "synthetic"]
