"""Translate: ``python scripts/translate.py ckpt_path=<file> text="I lost."`` (or
``inputs=<file of sentences>``; ``beam_size``, ``heatmap=attention.png``; conf/translate.yaml)."""

from dlzoo.cli import translate_main

if __name__ == "__main__":
    translate_main()
