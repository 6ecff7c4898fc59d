"""Data: bundled and local datasets, preprocessing, and batching."""
from .datasets import cache_dir, load_digits, load_fashion_mnist, load_mnist
from .idx import read_idx, write_idx
from .loader import DataLoader
from .preprocessing import (Standardizer, check_xy, one_hot, split_indices, standardize,
                            train_test_split)

__all__ = ["load_digits", "load_mnist", "load_fashion_mnist", "cache_dir", "read_idx",
           "write_idx", "DataLoader", "Standardizer", "standardize", "one_hot",
           "split_indices", "train_test_split", "check_xy"]
