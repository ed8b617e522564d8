"""Generate text: ``python scripts/predict_text.py ckpt_path=<file> prefix="time traveller"``
(``num_tokens=50``, ``temperature=0`` for greedy or > 0 to sample; see conf/generate.yaml)."""

import hydra
from omegaconf import DictConfig

from dlzoo.cli import config_dir, run_reporting_errors


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="generate")
def main(cfg: DictConfig) -> None:
    from dlzoo.generation import generate_text

    run_reporting_errors(generate_text, cfg)


if __name__ == "__main__":
    main()
