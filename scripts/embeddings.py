"""Word vectors: ``python scripts/embeddings.py vectors=glove_6b_50d similar=chip`` (see conf/embeddings.yaml)."""

from dlzoo.cli import embeddings_main

if __name__ == "__main__":
    embeddings_main()
