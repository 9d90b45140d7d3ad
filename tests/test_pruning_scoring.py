"""Filter scoring: the batched Betti kernel against the engine and ripser, and the four scorers."""

from __future__ import annotations

import numpy as np
import pytest
import ripser
import torch
from torch import nn

from bettiscope.models.cnn import build_cnn
from bettiscope.pruning import (
    SCORERS,
    BettiConfig,
    BettiScorer,
    FilterScores,
    HRankScorer,
    L1Scorer,
    RandomScorer,
    capture_maps,
    get_scorer,
)
from bettiscope.pruning._kernel import betti_block, candidate_margin, rms_pairwise_distance
from bettiscope.topology import betti_numbers, subsample


def ripser_betti(points: np.ndarray, eps: float, max_dim: int) -> tuple[int, ...]:
    """Reference: ripser's bars alive at ``eps`` (thresholded filtration)."""
    diagrams = ripser.ripser(points, maxdim=max_dim, thresh=eps)["dgms"]
    return tuple(int(np.isinf(d[:, 1]).sum()) for d in diagrams)


def clouds(rng: np.random.Generator, n_filters: int, n: int, d: int) -> np.ndarray:
    """Filters with different structure: blobs, anisotropic noise, a shifted and scaled copy."""
    out = []
    for f in range(n_filters):
        centres = rng.normal(size=(1 + f % 4, d)) * 3
        X = centres[rng.integers(len(centres), size=n)] + rng.normal(size=(n, d)) * (0.3 + f / 10)
        out.append(X * (1 + 5 * (f % 3)) + 7 * f)  # scale and shift differ per filter
    return np.stack(out).astype(np.float32)


class TestKernel:
    @pytest.mark.parametrize("d", [3, 16, 64])
    @pytest.mark.parametrize("max_dim", [0, 1])
    def test_fast_equals_engine_and_ripser(self, rng, d, max_dim):
        maps = clouds(rng, 6, 120, d)
        for scale in (0.25, 0.35, 0.5):
            fast = betti_block(maps, scale=scale, max_dim=max_dim)
            engine = betti_block(maps, scale=scale, max_dim=max_dim, fast=False)
            assert [r["betti"] for r in fast] == [r["betti"] for r in engine]
            assert {r["path"] for r in fast} == {"fast"}
            for f, result in enumerate(fast):
                X = maps[f].astype(np.float64)
                eps = scale * rms_pairwise_distance(X)
                assert result["eps"] == pytest.approx(eps)
                assert result["betti"] == ripser_betti(X, eps, max_dim)

    def test_absolute_scale(self, rng):
        maps = clouds(rng, 3, 80, 8)
        fast = betti_block(maps, scale=2.0, relative=False)
        for f, result in enumerate(fast):
            assert result["unit"] == 1.0
            assert result["betti"] == tuple(betti_numbers(maps[f], scale=2.0, max_dim=0))

    def test_relative_scale_ignores_affine_rescaling(self, rng):
        X = clouds(rng, 1, 100, 10)[0]
        maps = np.stack([X, 3.0 * X + 11.0, -0.5 * X - 2.0]).astype(np.float32)
        scores = [r["betti"] for r in betti_block(maps, max_dim=1)]
        assert scores[0] == scores[1] == scores[2]

    def test_known_clusters(self, rng):
        # 5 tight clusters 141 apart; RMS pairwise distance ~126, so 0.4 RMS ~ 50: beta_0 = 5
        centres = np.eye(5) * 100
        X = np.repeat(centres, 20, axis=0) + rng.normal(size=(100, 5)) * 0.01
        assert betti_block(X[None].astype(np.float32))[0]["betti"] == (5,)

    def test_duplicates_take_the_engine_path(self, rng):
        X = clouds(rng, 1, 60, 5)[0]
        X[10:20] = X[0]  # eleven copies of one map
        (result,) = betti_block(X[None])
        assert result["path"] == "engine"
        assert result["n_points"] == 50
        kept = subsample(X.astype(np.float64))
        eps = 0.4 * rms_pairwise_distance(kept)
        assert result["betti"] == ripser_betti(kept, eps, 0)
        # without dedupe the copies stay and the fast path handles them
        (kept_all,) = betti_block(X[None], dedupe=False)
        assert kept_all["path"] == "fast" and kept_all["n_points"] == 60

    def test_dead_filter_is_one_point(self):
        maps = np.zeros((2, 30, 9), dtype=np.float32)
        maps[1] = np.arange(270, dtype=np.float32).reshape(30, 9) ** 1.5
        results = betti_block(maps, max_dim=1)
        assert results[0]["betti"] == (1, 0) and results[0]["path"] == "few"
        assert results[1]["path"] == "fast"

    def test_knn_hop_uses_the_engine(self, rng):
        maps = clouds(rng, 2, 80, 6)
        results = betti_block(maps, metric="knn-hop", k=5, scale=1.5, max_dim=1)
        for f, result in enumerate(results):
            expected = betti_numbers(maps[f], metric="knn-hop", k=5, scale=1.5, max_dim=1)
            assert result["betti"] == tuple(expected) and result["path"] == "engine"

    def test_margin_and_rms_known_answers(self):
        assert candidate_margin(64) == pytest.approx(4 * 72 * 2.0**-24)
        # two points at distance 2: mean squared distance over the 4 ordered pairs is 2
        assert rms_pairwise_distance(np.array([[0.0, 0.0], [2.0, 0.0]])) == pytest.approx(
            np.sqrt(2.0)
        )
        assert rms_pairwise_distance(np.ones((5, 3))) == 0.0

    def test_bad_shape(self):
        with pytest.raises(ValueError, match=r"shape \(n_filters, n_images, n_features\)"):
            betti_block(np.zeros((4, 5)))


class OneByOne(nn.Module):
    """1x1 convs whose maps are affine copies of the image: known point clouds per filter."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 1)
        self.act = nn.ReLU()
        self.head = nn.Linear(3, 2)
        with torch.no_grad():
            self.conv.weight[:, 0, 0, 0] = torch.tensor([1.0, 4.0, -2.0])
            self.conv.bias[:] = torch.tensor([0.0, 5.0, -1.0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.conv(x)).mean(dim=(2, 3)))


class TestScorers:
    def test_betti_score_of_affine_copies(self, rng):
        centres = rng.normal(size=(4, 9)) * 50
        points = np.repeat(centres, 10, axis=0) + rng.normal(size=(40, 9)) * 0.01
        images = torch.tensor(points, dtype=torch.float32).reshape(40, 1, 3, 3)
        result = BettiScorer().score(OneByOne(), images)
        # every filter is an affine copy of the 4-cluster cloud: beta_0 = 4 for each
        assert result.scores["conv"].tolist() == [4.0, 4.0, 4.0]
        assert result.direction == "high" and result.method == "betti"
        assert result.params["n_images"] == 40 and result.params["scale"] == 0.4
        assert [row["betti"] for row in result.details["conv"]] == [[4], [4], [4]]

    def test_betti_number_choice(self, rng):
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        circle = np.c_[np.cos(t), np.sin(t), np.zeros(60), np.zeros(60)] * 10
        images = torch.tensor(circle, dtype=torch.float32).reshape(60, 1, 2, 2)
        model = OneByOne()
        scores = {
            number: BettiScorer(number=number, scale=0.2).score(model, images).scores["conv"]
            for number in ("b0", "b1", "sum")
        }
        assert scores["b0"].tolist() == [1.0] * 3
        assert scores["b1"].tolist() == [1.0] * 3
        assert scores["sum"].tolist() == [2.0] * 3

    def test_l1_known_answer(self):
        model = OneByOne()
        scores = L1Scorer().score(model).scores["conv"]
        assert scores.tolist() == [1.0, 4.0, 2.0]
        assert L1Scorer.direction == "low" and not L1Scorer.needs_data

    def test_hrank_known_answer(self):
        # rank-1 images (outer products) stay rank 1 under a 1x1 conv with zero bias
        u = torch.randn(30, 4, 1)
        images = (u @ u.transpose(1, 2)).unsqueeze(1)  # (30, 1, 4, 4), rank 1
        model = OneByOne()
        with torch.no_grad():
            model.conv.bias.zero_()
        scores = HRankScorer(where="conv").score(model, images).scores["conv"]
        assert scores.tolist() == [1.0, 1.0, 1.0]

    def test_random_is_seeded(self):
        model = OneByOne()
        a = RandomScorer(seed=3).score(model).scores["conv"]
        b = RandomScorer(seed=3).score(model).scores["conv"]
        c = RandomScorer(seed=4).score(model).scores["conv"]
        assert np.array_equal(a, b) and not np.array_equal(a, c)

    def test_registry(self):
        assert set(SCORERS) == {"betti", "l1", "hrank", "random"}
        assert isinstance(get_scorer("l1"), L1Scorer)
        with pytest.raises(ValueError, match="'name' parameter of get_scorer"):
            get_scorer("magnitude")

    def test_needs_images(self):
        with pytest.raises(ValueError, match="needs images"):
            BettiScorer().score(OneByOne())
        with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
            HRankScorer().score(OneByOne(), torch.zeros(5, 4))

    def test_processes_give_the_same_scores(self):
        model = build_cnn(input_size=8)
        images = torch.randn(80, 1, 8, 8)
        inline = BettiScorer(chunk=8).score(model, images)
        parallel = BettiScorer(chunk=8, n_jobs=2).score(model, images)
        for layer in inline.scores:
            assert np.array_equal(inline.scores[layer], parallel.scores[layer])

    def test_save_and_load(self, tmp_path, rng):
        images = torch.randn(40, 1, 3, 3)
        result = BettiScorer().score(OneByOne(), images)
        json_path, csv_path = result.save(tmp_path)
        again = FilterScores.load(json_path)
        assert np.array_equal(again.scores["conv"], result.scores["conv"])
        assert again.params == result.params
        lines = csv_path.read_text().splitlines()
        assert lines[0].startswith("method,layer,filter,score,betti")
        assert len(lines) == 4 and lines[1].startswith("betti,conv,0,")


class TestConfig:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"scale": 0}, "'scale' parameter of BettiConfig"),
            ({"number": "b2"}, "'number' parameter of BettiConfig"),
            ({"where": "bn"}, "'where' parameter of BettiConfig"),
            ({"metric": "knn-hop"}, "needs k"),
            ({"k": 5}, "k applies only"),
            ({"n_jobs": 0}, "'n_jobs' parameter"),
        ],
    )
    def test_bad_settings(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            BettiConfig(**kwargs)


class TestCapture:
    def test_vgg_activation_is_after_batch_norm(self):
        model = build_cnn(input_size=8).eval()
        images = torch.randn(6, 1, 8, 8)
        conv = capture_maps(model, images, where="conv")
        act = capture_maps(model, images, where="activation")
        block = model.blocks[0]
        with torch.no_grad():
            expected = block.act(block.bn(block.conv(images)))
        assert torch.equal(act["blocks.0.conv"], expected)
        assert torch.equal(conv["blocks.0.conv"], block.conv(images).detach())
        assert list(conv) == [name for name, _ in model.conv_layers()]

    def test_resnet_second_conv_reads_the_block_output(self):
        model = build_cnn(kind="resnet", input_size=8).eval()
        images = torch.randn(4, 1, 8, 8)
        act = capture_maps(model, images, where="activation")
        with torch.no_grad():
            block_out = model.blocks[0](model.stem(images))
        assert torch.equal(act["blocks.0.conv2"], block_out)

    def test_pool_before_activation_is_an_error(self):
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.ReLU())
        with pytest.raises(ValueError, match="use where='conv'"):
            capture_maps(model, torch.randn(4, 1, 8, 8), where="activation")

    def test_batch_size_does_not_matter_and_mode_is_restored(self):
        model = build_cnn(input_size=8)
        model.train()
        images = torch.randn(10, 1, 8, 8)
        a = capture_maps(model, images, batch_size=3)
        b = capture_maps(model, images, batch_size=10)
        assert model.training
        for layer in a:
            assert torch.allclose(a[layer], b[layer], atol=1e-6)

    def test_in_place_activation_does_not_overwrite_the_conv_maps(self):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(inplace=True)).eval()
        images = torch.randn(5, 1, 8, 8)
        with torch.no_grad():
            expected = model[0](images)
        maps = capture_maps(model, images, layers=["0"])  # a name, as capture() takes
        assert torch.equal(maps["0"], expected) and bool((maps["0"] < 0).any())
        assert torch.equal(capture_maps(model, images, layers="0")["0"], expected)

    def test_float64_images_are_cast_and_bad_layers_named(self):
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).eval()
        images = torch.randn(4, 1, 8, 8)
        as_double = capture_maps(model, images.double())["0"]
        assert torch.equal(as_double, capture_maps(model, images)["0"])
        with pytest.raises(ValueError, match="no module 'conv9'; its convs are 0"):
            capture_maps(model, images, layers=["conv9"])
        with pytest.raises(TypeError, match=r"module names or \(name, nn.Conv2d\) pairs"):
            capture_maps(model, images, layers=[3])
        with pytest.raises(ValueError, match="must be a float tensor"):
            capture_maps(model, images.to(torch.uint8))

    def test_knn_hop_scale_counts_hops(self):
        from bettiscope.pruning import BettiConfig

        with pytest.raises(ValueError, match="scale counts hops"):
            BettiConfig(metric="knn-hop", k=5)  # the euclidean default 0.4 is no hop count
        assert BettiConfig(metric="knn-hop", k=5, scale=1.5).scale == 1.5
