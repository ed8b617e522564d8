"""Figures logged during training (image predictions, confusion matrices)."""

from dlzoo.figures.detection_figures import DetectionFigures
from dlzoo.figures.image_predictions import ImagePredictionFigures

__all__ = ["DetectionFigures", "ImagePredictionFigures"]
