"""Trainer: reaches targets and stops, decays lr, mini-batches, DataLoaders, resumes exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bettiscope.models import build_mlp
from bettiscope.training import (
    TrainConfig,
    TrainHistory,
    evaluate,
    lr_at,
    resolve_lr_decay_steps,
    train,
)


def _blobs(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 2, generator=g) * 0.3 + (y[:, None] * 2.0 - 1.0)
    return X, y


def _model(seed: int = 0) -> nn.Module:
    return build_mlp(2, 2, width=8, depth=3, seed=seed)


def test_reaches_target_and_stops() -> None:
    history = train(_model(), _blobs(), TrainConfig(epochs=200, lr=0.05))
    assert history.stopped == "target"
    assert history.epochs_to_target == history.epochs == history.epochs_to_train_target
    assert history.records[-1].train_acc == 1.0
    assert all(r.train_acc < 1.0 for r in history.records[:-1])
    assert history.steps == history.epochs  # full batch: one step per epoch


def test_budget_exhausted_is_a_miss() -> None:
    history = train(_model(), _blobs(), TrainConfig(epochs=2, lr=1e-5))
    assert history.stopped == "budget" and history.epochs == 2
    assert history.epochs_to_target is None


def test_no_target_trains_the_full_budget() -> None:
    cfg = TrainConfig(epochs=5, lr=0.05, target_train_acc=None)
    history = train(_model(), _blobs(), cfg)
    assert history.epochs == 5 and history.epochs_to_target is None


def test_exponential_lr_decay() -> None:
    cfg = TrainConfig(lr=0.02, lr_decay_steps=2500)
    assert lr_at(0, cfg) == 0.02
    assert lr_at(2500, cfg) == pytest.approx(0.01)
    assert lr_at(5000, cfg) == pytest.approx(0.005)
    history = train(_model(), _blobs(), TrainConfig(epochs=3, lr=0.02, lr_decay_steps=1.0))
    assert history.column("lr")[:3] == pytest.approx([0.02, 0.01, 0.005])


def test_auto_lr_decay_keeps_the_study_half_life_in_epochs() -> None:
    assert resolve_lr_decay_steps("auto", 1000, None) == 2500  # full batch: step = epoch
    assert resolve_lr_decay_steps("auto", 1000, 256) == 2500 * 4  # 4 steps per epoch
    assert resolve_lr_decay_steps("none", 1000, 256) is None
    assert resolve_lr_decay_steps(None, 1000, None) is None
    assert resolve_lr_decay_steps("300", 1000, None) == 300.0
    for bad in (0, -1, "soon", float("nan")):
        with pytest.raises(ValueError, match="lr_decay_steps"):
            resolve_lr_decay_steps(bad, 1000, None)


def test_minibatch_steps_and_val_target() -> None:
    X, y = _blobs(200)
    cfg = TrainConfig(epochs=30, lr=0.02, batch_size=50, target_val_acc=0.95)
    history = train(_model(), (X[:150], y[:150]), cfg, val=(X[150:], y[150:]))
    assert history.records[0].steps == 3  # 150 / 50
    assert history.epochs_to_val_target is not None
    assert history.epochs_to_target == max(
        history.epochs_to_train_target, history.epochs_to_val_target
    )


def test_dataloader_input() -> None:
    X, y = _blobs()
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    history = train(_model(), loader, TrainConfig(epochs=3, lr=0.01, target_train_acc=None))
    assert history.records[0].steps == 4 and history.epochs == 3
    loss, acc = evaluate(_model(), loader)
    assert loss > 0 and 0 <= acc <= 1


def test_resume_matches_uninterrupted(tmp_path) -> None:
    data = _blobs()
    base = {"lr": 0.01, "batch_size": 32, "target_train_acc": None, "checkpoint_every": 1}
    full = train(_model(), data, TrainConfig(epochs=6, **base))
    path = tmp_path / "run.pt"
    first = train(_model(), data, TrainConfig(epochs=3, checkpoint_path=str(path), **base))
    assert first.epochs == 3 and path.exists()
    model = _model(seed=99)  # weights are overwritten by the checkpoint
    resumed = train(model, data, TrainConfig(epochs=6, checkpoint_path=str(path), **base))
    assert resumed.resumed_from == 3 and resumed.epochs == 6
    assert resumed.column("loss") == pytest.approx(full.column("loss"), rel=1e-5)
    # a finished run is not redone
    again = train(_model(), data, TrainConfig(epochs=6, checkpoint_path=str(path), **base))
    assert again.epochs == 6 and again.column("loss") == resumed.column("loss")


def test_resume_refuses_a_different_config(tmp_path) -> None:
    path = tmp_path / "run.pt"
    train(_model(), _blobs(), TrainConfig(epochs=1, lr=0.01, checkpoint_path=str(path)))
    with pytest.raises(ValueError, match=r"different training config \(lr: 0.01 -> 0.02\)"):
        train(_model(), _blobs(), TrainConfig(epochs=2, lr=0.02, checkpoint_path=str(path)))


def test_damaged_checkpoint_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "run.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read the checkpoint"):
        train(_model(), _blobs(), TrainConfig(epochs=1, checkpoint_path=str(path)))


class _Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * float("nan")


def test_divergence_stops_as_a_miss() -> None:
    history = train(_Exploding(), _blobs(), TrainConfig(epochs=5))
    assert history.stopped == "diverged" and history.epochs_to_target is None
    # non-finite before any step: the initialisation's fault, not the learning rate's
    assert history.diverged_at_init
    assert TrainHistory.from_dict(history.to_dict()).diverged_at_init


class _ExplodingAfterFirstStep(nn.Module):
    """Finite for the untrained network, non-finite once the optimiser has stepped."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.initial = self.linear.weight.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stepped = not torch.equal(self.linear.weight, self.initial)
        return self.linear(x) * (float("nan") if stepped else 1.0)


def test_divergence_after_a_step_is_not_blamed_on_the_initialisation() -> None:
    history = train(_ExplodingAfterFirstStep(), _blobs(), TrainConfig(epochs=5, batch_size=8))
    assert history.stopped == "diverged" and not history.diverged_at_init
    healthy = train(_model(), _blobs(), TrainConfig(epochs=2))
    assert healthy.stopped != "diverged" and not healthy.diverged_at_init


def test_on_epoch_end_sees_every_epoch_and_can_stop() -> None:
    seen = []

    def hook(epoch, model, record):
        seen.append((epoch, record.epoch))
        return epoch == 2

    history = train(_model(), _blobs(), TrainConfig(epochs=10, lr=1e-5), on_epoch_end=hook)
    assert seen == [(1, 1), (2, 2)] and history.stopped == "callback"


def test_progress_callback() -> None:
    calls = []
    train(_model(), _blobs(), TrainConfig(epochs=2, lr=1e-5), progress=lambda *a: calls.append(a))
    assert calls == [("train", 1, 2), ("train", 2, 2)]


def test_history_round_trip() -> None:
    history = train(_model(), _blobs(), TrainConfig(epochs=2, lr=1e-5))
    again = TrainHistory.from_dict(history.to_dict())
    assert again.records == history.records and again.stopped == history.stopped


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": 0.0}, r"TrainConfig.lr must be a float > 0"),
        ({"batch_size": 0}, r"TrainConfig.batch_size must be None"),
        ({"optimizer": "lbfgs"}, r"TrainConfig.optimizer must be one of"),
        ({"target_train_acc": 1.5}, r"TrainConfig.target_train_acc must be None or in"),
        ({"device": "tpu"}, r"device must be 'cpu'"),
    ],
)
def test_bad_config(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(_model(), _blobs(), TrainConfig(**changes))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_requested_without_cuda() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        train(_model(), _blobs(), TrainConfig(device="cuda"))


def test_bad_data() -> None:
    X, y = _blobs()
    with pytest.raises(ValueError, match="y of shape"):
        train(_model(), (X, y[:-1]), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="integer class indices"):
        train(_model(), (X, y.float()), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="no val data"):
        train(_model(), (X, y), TrainConfig(epochs=1, target_val_acc=0.9))
    # what PyTorch would report from deep inside cross-entropy or a matmul
    with pytest.raises(ValueError, match="class indices 0..K-1; got -1"):
        train(_model(), (X, y - 1), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="labels go up to 6 but the model has 2 outputs"):
        train(_model(), (X, y + 5), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match=r"does not take the train inputs \(shape \(3,\) each\)"):
        train(_model(), (torch.cat([X, X[:, :1]], 1), y), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="does not take the val inputs"):
        train(_model(), (X, y), TrainConfig(epochs=1), val=(X[:, :1], y))


def test_sgd() -> None:
    history = train(_model(), _blobs(), TrainConfig(epochs=100, lr=0.1, optimizer="sgd"))
    assert history.epochs_to_target is not None


class _CountingEvaluate:
    """Wraps training.evaluate to count the separate evaluation passes."""

    def __init__(self, monkeypatch) -> None:
        import bettiscope.training as training

        self.calls = 0
        original = training.evaluate

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(training, "evaluate", counted)


def _trained(model: nn.Module, **changes) -> tuple[list, dict]:
    hook = changes.pop("on_epoch_end", None)
    cfg = TrainConfig(epochs=60, lr=0.05, target_train_acc=None, **changes)
    history = train(model, _blobs(300), cfg, on_epoch_end=hook)
    records = [(r.epoch, r.loss, r.train_acc, r.lr, r.steps) for r in history.records]
    return records, {k: v.clone() for k, v in model.state_dict().items()}


def _same(a: tuple[list, dict], b: tuple[list, dict]) -> bool:
    return a[0] == b[0] and all(torch.equal(a[1][k], b[1][k]) for k in a[1])


def test_full_batch_reuses_the_evaluation_pass_bit_for_bit(monkeypatch) -> None:
    import bettiscope.training as training

    counter = _CountingEvaluate(monkeypatch)
    kept = _trained(_model(), eval_batch_size=8192)
    assert counter.calls == 0  # the post-step pass doubled as the next step's forward
    monkeypatch.setattr(training, "_MODE_DEPENDENT", (nn.Module,))  # every model: separate pass
    separate = _trained(_model(), eval_batch_size=8192)
    assert counter.calls == 60
    assert _same(kept, separate)  # losses, accuracies, weights: identical


def test_evaluation_pass_stays_where_reuse_could_change_the_answer(monkeypatch) -> None:
    counter = _CountingEvaluate(monkeypatch)

    class TrainingOnlyScale(nn.Module):
        """Acts differently in training mode without being dropout or batch norm."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2.0 if self.training else x

    _trained(nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.0), nn.Tanh(), nn.Linear(8, 2)))
    assert counter.calls == 60  # dropout: never tried
    counter.calls = 0
    odd = nn.Sequential(nn.Linear(2, 8), TrainingOnlyScale(), nn.Tanh(), nn.Linear(8, 2))
    _trained(odd)
    assert counter.calls == 60  # tried once, logits differ from eval mode: separate pass
    counter.calls = 0
    _trained(_model(), batch_size=50)
    assert counter.calls == 60  # mini-batches: the last batch's pass is not the whole set


def test_weights_changed_by_a_hook_are_not_served_stale_logits(monkeypatch) -> None:
    import bettiscope.training as training

    def shrink(epoch: int, model: nn.Module, record: object) -> None:
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.mul_(0.99)

    kept = _trained(_model(), on_epoch_end=shrink)
    monkeypatch.setattr(training, "_MODE_DEPENDENT", (nn.Module,))
    assert _same(kept, _trained(_model(), on_epoch_end=shrink))


def _loader(X: torch.Tensor, y: torch.Tensor, **options) -> DataLoader:
    return DataLoader(TensorDataset(X, y), batch_size=16, **options)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_data_is_refused_not_reported_as_divergence(bad: float) -> None:
    X, y = _blobs(64)
    X[37, 1] = bad
    kind = "NaN" if bad != bad else "infinity"
    message = rf"X contains {kind} in 1 sample\(s\) \(first: sample 37\)"
    with pytest.raises(ValueError, match=rf"train: train {message}"):
        train(_model(), (X, y), TrainConfig(epochs=3))
    with pytest.raises(ValueError, match=rf"train: train {message}"):
        train(_model(), (X.numpy(), y.numpy()), TrainConfig(epochs=3))
    with pytest.raises(ValueError, match=rf"train: val {message}"):
        train(_model(), _blobs(), TrainConfig(epochs=3), val=(X, y))
    with pytest.raises(ValueError, match=rf"evaluate: data {message}"):
        evaluate(_model(), (X, y))
    # DataLoaders: every batch, not only the first (sample 37 is in batch 2, its sample 5)
    batch = rf"DataLoader batch 2 X contains {kind} in 1 sample\(s\) \(first: sample 5\)"
    with pytest.raises(ValueError, match=rf"train: train {batch}"):
        train(_model(), _loader(X, y), TrainConfig(epochs=3))
    with pytest.raises(ValueError, match=rf"train: val {batch}"):
        train(_model(), _blobs(), TrainConfig(epochs=3), val=_loader(X, y))
    with pytest.raises(ValueError, match=rf"evaluate: data {batch}"):
        evaluate(_model(), _loader(X, y))


def test_float64_overflowing_float32_is_named() -> None:
    X, y = _blobs(8)
    X = X.double()
    X[3, 0] = 1e300
    with pytest.raises(ValueError, match=r"sample 3\) \(values past the range of torch.float32"):
        train(_model(), (X, y), TrainConfig(epochs=1))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, None])
def test_evaluate_refuses_a_bad_batch_size(batch_size) -> None:
    with pytest.raises(ValueError, match=r"'batch_size' parameter of evaluate must be an int"):
        evaluate(_model(), _blobs(), batch_size=batch_size)


def test_evaluate_checks_data_as_train_does() -> None:
    X, y = _blobs()
    with pytest.raises(ValueError, match="evaluate: data labels go up to 6 but the model has 2"):
        evaluate(_model(), (X, y + 5))
    with pytest.raises(ValueError, match="evaluate: data labels must be class indices 0..K-1"):
        evaluate(_model(), (X, y - 1))
    with pytest.raises(ValueError, match="evaluate: data labels must be integer class indices"):
        evaluate(_model(), (X, y.float()))
    with pytest.raises(ValueError, match=r"evaluate: the model does not take the data inputs"):
        evaluate(_model(), (torch.cat([X, X[:, :1]], 1), y))
    with pytest.raises(ValueError, match=r"evaluate: data needs X of shape \(n, ...\)"):
        evaluate(_model(), (X, y[:-1]))
    with pytest.raises(ValueError, match="evaluate: model must be a torch.nn.Module"):
        evaluate(None, (X, y))  # type: ignore[arg-type]
    model = _model()
    model.train()
    with pytest.raises(ValueError, match="labels go up to"):
        evaluate(model, _loader(X, y + 5))
    assert model.training  # the mode is restored when a check fails part-way


def test_dataloader_batches_are_checked() -> None:
    X, y = _blobs(64)
    cfg = TrainConfig(epochs=2)
    with pytest.raises(ValueError, match="train DataLoader batch 0 labels must be integer class"):
        train(_model(), _loader(X, y.float()), cfg)
    with pytest.raises(ValueError, match="train DataLoader batch 0 labels go up to 6 but the mo"):
        train(_model(), _loader(X, y + 5), cfg)
    late = y.clone()
    late[50] = 2  # batch 3
    with pytest.raises(ValueError, match="train DataLoader batch 3 labels go up to 2 but the mo"):
        train(_model(), _loader(X, late), cfg)
    with pytest.raises(ValueError, match="train: the model does not take the train inputs"):
        train(_model(), _loader(torch.cat([X, X[:, :1]], 1), y), cfg)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, index: int) -> dict:
            return {"x": X[index], "y": y[index]}

    with pytest.raises(ValueError, match=r"batch 0 must be an \(X, y\) pair: make the dataset"):
        train(_model(), DataLoader(Pairs(), batch_size=2), cfg)


def test_float64_and_integer_width_inputs_are_cast_like_float32() -> None:
    X, y = _blobs()
    cfg = TrainConfig(epochs=4, lr=0.05, batch_size=64, target_train_acc=None)
    reference = _trained_on(X, y, cfg)
    assert _trained_on(X.double(), y, cfg) == reference
    assert _trained_on(X.double().numpy(), y.numpy(), cfg) == reference
    shuffled = {"shuffle": True, "generator": torch.Generator().manual_seed(1)}
    from_loader = _trained_on(_loader(X, y, **shuffled), None, cfg)
    loader64 = _loader(
        X.double(), y.int(), shuffle=True, generator=torch.Generator().manual_seed(1)
    )
    assert _trained_on(loader64, None, cfg) == from_loader
    assert evaluate(_model(), (X.double().numpy(), y.numpy())) == evaluate(_model(), (X, y))


def _trained_on(X, y, cfg: TrainConfig) -> list:
    model = _model()
    history = train(model, X if y is None else (X, y), cfg)
    weights = [p.detach().clone().tolist() for p in model.parameters()]
    return [(r.loss, r.train_acc, r.steps) for r in history.records] + weights


def test_devices_without_data_are_refused() -> None:
    X, y = _blobs()
    with pytest.raises(ValueError, match="train: train X is on the 'meta' device, which holds"):
        train(_model(), (X.to("meta"), y), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match="TrainConfig.device must be .* got 'meta' .*no data"):
        train(_model(), (X, y), TrainConfig(epochs=1, device="meta"))
    with pytest.raises(ValueError, match="evaluate: device must be .* got 'meta'"):
        evaluate(_model(), (X, y), device="meta")
    with pytest.raises(ValueError, match="evaluate: the model is on 'meta' but device is 'cpu'"):
        evaluate(_model().to("meta"), (X, y))
    with pytest.raises(ValueError, match=r"TrainConfig.device must be .* got 0 \(int\)"):
        TrainConfig(device=0).validate()  # type: ignore[arg-type]


def test_numpy_numbers_are_accepted_in_the_config() -> None:
    cfg = TrainConfig(
        epochs=np.int64(3),
        lr=np.float32(0.01),
        seed=np.int64(1),
        batch_size=np.int32(64),
        stop_at_target=np.bool_(True),
    ).validate()
    assert (cfg.epochs, cfg.seed, cfg.batch_size, cfg.stop_at_target) == (3, 1, 64, True)
    assert type(cfg.epochs) is int and type(cfg.lr) is float and cfg.lr == float(np.float32(0.01))
    plain = TrainConfig(epochs=3, lr=float(np.float32(0.01)), seed=1, batch_size=64)
    a, b = _model(), _model()
    first, second = train(a, _blobs(), cfg), train(b, _blobs(), plain)
    assert first.records and [r.loss for r in first.records] == [r.loss for r in second.records]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": True}, r"TrainConfig.epochs must be an int >= 0; got True"),
        ({"seed": 2**64}, r"TrainConfig.seed must be an int in \[-2\*\*63"),
        ({"seed": 1.0}, r"TrainConfig.seed must be an int"),
        ({"stop_at_target": "no"}, r"TrainConfig.stop_at_target must be True or False"),
        ({"checkpoint_path": 3}, r"TrainConfig.checkpoint_path must be None or a file path"),
        ({"lr": np.float64("nan")}, r"TrainConfig.lr must be a float > 0"),
    ],
)
def test_more_bad_config(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(_model(), _blobs(), TrainConfig(**changes))


def test_bad_model_config_and_callbacks() -> None:
    with pytest.raises(ValueError, match="train: model must be a torch.nn.Module; got str"):
        train("mlp", _blobs(), TrainConfig(epochs=1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="train: cfg must be a TrainConfig; got dict"):
        train(_model(), _blobs(), {"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="train: on_epoch_end must be a function or None"):
        train(_model(), _blobs(), TrainConfig(epochs=1), on_epoch_end=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="train: train X must be real-valued; got torch.complex64"):
        train(_model(), (_blobs()[0].to(torch.complex64), _blobs()[1]), TrainConfig(epochs=1))
    with pytest.raises(ValueError, match=r"train: train must be an \(X, y\) pair of numeric arr"):
        train(_model(), ([[1.0, 2.0], [3.0]], [0, 1]), TrainConfig(epochs=1))
