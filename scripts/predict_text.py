"""Generate text: ``python scripts/predict_text.py ckpt_path=<file> prefix="time traveller"``
(``num_tokens=50``, ``temperature=0`` for greedy or > 0 to sample; see conf/generate.yaml)."""

from dlzoo.cli import generate_main

if __name__ == "__main__":
    generate_main()
