"""Training experiments with StrassenNets layers (the paper's image-classification study)."""
