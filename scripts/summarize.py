"""Summarise a multirun folder: ``python scripts/summarize.py logs/train/multiruns/<time>``.

Writes summary.md, summary.csv, curves.png (and seeds.csv for seed sweeps) into it.
"""

import argparse
import sys

from dlzoo.errors import DlzooError
from dlzoo.sweeps.summary import summarize


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", help="a multirun folder (holding one folder per run)")
    args = parser.parse_args()
    try:
        written = summarize(args.sweep_dir)
    except DlzooError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(args.sweep_dir.rstrip("/") + "/summary.md")
    with open(written["md"]) as f:
        print(f.read())
    for path in written.values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
