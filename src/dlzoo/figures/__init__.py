"""Drawing: boxes, attention heatmaps, image grids and confusion matrices (the callbacks that
log them during training live in :mod:`dlzoo.callbacks`)."""
