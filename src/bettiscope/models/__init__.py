"""Network builders: MLPs for the synthetic study, CNNs for images. Each an ``nn.Module``."""

from bettiscope.models.cnn import CNN, CNNConfig, build_cnn, load_model, save_model
from bettiscope.models.mlp import MLP, MLPConfig, build_mlp

__all__: list[str] = [
    "CNN",
    "MLP",
    "CNNConfig",
    "MLPConfig",
    "build_cnn",
    "build_mlp",
    "load_model",
    "save_model",
]
