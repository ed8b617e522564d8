"""Figures logged during training (image predictions, confusion matrices)."""

from dlzoo.figures.image_predictions import ImagePredictionFigures

__all__ = ["ImagePredictionFigures"]
