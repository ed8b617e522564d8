"""Speed benchmark, side by side: ``python scripts/benchmark.py [--quick]`` -> docs/benchmarks.md."""

from dlzoo.benchmark import main

if __name__ == "__main__":
    main()
