"""Network builders: MLPs for the synthetic study, CNNs for images. Each an ``nn.Module``."""

from bettiscope.models.cnn import CNN, CNNConfig, build_cnn, load_model, save_model

__all__: list[str] = ["CNN", "CNNConfig", "build_cnn", "load_model", "save_model"]
