"""Network builders: MLPs for the synthetic study, CNNs for images. Each an ``nn.Module``."""

__all__: list[str] = []
