"""Predict with a checkpoint: ``python scripts/predict.py ckpt_path=<ckpt> inputs=<images|folder|csv>``."""

from dlzoo.cli import predict_main

if __name__ == "__main__":
    predict_main()
