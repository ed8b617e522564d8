"""Generate text: ``python scripts/predict_text.py ckpt_path=<file> prefix="time traveller"``
(``num_tokens=50``; greedy, ``temperature``, ``top_k``, ``top_p`` and the repetition guard
``no_repeat_ngram`` / ``repetition_penalty``: see conf/generate.yaml)."""

from dlzoo.cli import generate_main

if __name__ == "__main__":
    generate_main()
