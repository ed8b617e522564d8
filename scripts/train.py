"""Train a model: ``python scripts/train.py model=mlp data=fashion_mnist`` (see README)."""

from dlzoo.cli import train_main

if __name__ == "__main__":
    train_main()
