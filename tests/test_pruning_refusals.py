"""Bad input to the pruning side gets one clear error before any work (found by a QA pass)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bettiscope.models.cnn import CNNConfig, build_cnn, load_model, save_model
from bettiscope.pruning import BettiScorer, HRankScorer, prune_filters, select_count
from bettiscope.pruning.flow import PruneConfig, run_pruning
from bettiscope.storage import DataFileError


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_cnn(CNNConfig(in_channels=1, num_classes=3, input_size=8, channels=[4, 6]))


def _images(n: int = 12, channels: int = 1) -> torch.Tensor:
    return torch.randn(n, channels, 8, 8, generator=torch.Generator().manual_seed(0))


class _Data:
    def __init__(self, size: int) -> None:
        X = torch.randn(20, 1, size, size)
        y = torch.arange(20) % 3
        self.train, self.test = (X, y), (X, y)


def test_scorers_refuse_images_they_cannot_score() -> None:
    model = _model()
    with pytest.raises(ValueError, match=r"must be a torch tensor .*got ndarray"):
        BettiScorer().score(model, np.zeros((12, 1, 8, 8), np.float32))
    nan = _images()
    nan[3, 0, 2, 2] = float("nan")
    for scorer in (BettiScorer(), HRankScorer()):
        with pytest.raises(ValueError, match="images contain NaN or infinity"):
            scorer.score(model, nan)
    with pytest.raises(ValueError, match=r"does not take these images \(shape \(3, 8, 8\)"):
        HRankScorer().score(model, _images(channels=3))
    knn = BettiScorer(metric="knn-hop", k=12, scale=1.5)
    with pytest.raises(ValueError, match="k=12 must be smaller than the number of images"):
        knn.score(model, _images(12))


def test_rules_and_removal_refuse_fractions() -> None:
    model = _model()
    with pytest.raises(ValueError, match="filter indices must be integers; got"):
        prune_filters(model, {"blocks.0.conv": [0.5]}, _images(2))
    scores = {"a": np.arange(4.0)}
    with pytest.raises(ValueError, match="count for layer 'a' must be an integer; got 1.7"):
        select_count(scores, {"a": 1.7})
    with pytest.raises(ValueError, match="min_keep=9 is more than the 4 filters"):
        select_count(scores, {"a": 0}, min_keep=9)
    assert select_count(scores, {"a": 2.0})["a"].tolist() == [2, 3]  # 2.0 is a count


def test_broken_models_and_mismatched_data_are_refused(tmp_path) -> None:
    model = _model()
    layer = next(iter(model.conv_layers()))[0]
    with pytest.raises(ValueError, match=r"images are \(1, 10, 10\) .* built for \(1, 8, 8\)"):
        run_pruning(model, _Data(10), PruneConfig(samples=10), tmp_path / "a")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file; the pruning run needs a folder"):
        run_pruning(model, _Data(8), PruneConfig(samples=10), tmp_path / "file")
    with torch.no_grad():
        dict(model.named_modules())[layer].weight[0] = float("nan")
    with pytest.raises(ValueError, match="weights hold NaN or infinity"):
        run_pruning(model, _Data(8), PruneConfig(samples=10), tmp_path / "b")
    save_model(model, model.config, tmp_path / "nan.pt")
    with pytest.raises(DataFileError, match="weights hold NaN or infinity"):
        load_model(tmp_path / "nan.pt")
    # a training checkpoint (Python objects besides tensors) is named as such, without colour
    torch.save({"history": object.__new__(_Data)}, tmp_path / "checkpoint.pt")
    with pytest.raises(DataFileError, match="a training checkpoint") as caught:
        load_model(tmp_path / "checkpoint.pt")
    assert "\x1b" not in str(caught.value)
