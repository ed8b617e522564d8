"""Token choice: greedy, temperature, top-k, top-p, the repetition guard, unknown keys; and
generation with a small trained GRU that no longer loops."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from conftest import compose_config, run_script
from dlzoo.commands.predict import predict
from dlzoo.errors import ConfigError
from dlzoo.inference.sampling import (
    Sampling,
    banned_by_ngrams,
    check_known_keys,
    filter_logits,
    next_token,
)


def generate_text(cfg):
    """The text predict.py prints for a language-model checkpoint."""
    return predict(cfg)[0]["continuation"]


LOGITS = torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0])


def test_top_k_keeps_the_k_best_and_top_p_the_nucleus() -> None:
    kept = filter_logits(LOGITS, [], Sampling(top_k=2))
    assert torch.isfinite(kept).tolist() == [True, True, False, False, False]
    probs = LOGITS.softmax(-1)  # 0.64, 0.24, 0.09, ...: 0.64 + 0.24 >= 0.8
    assert probs[:2].sum() >= 0.8 > probs[0]
    kept = filter_logits(LOGITS, [], Sampling(top_p=0.8))
    assert torch.isfinite(kept).tolist() == [True, True, False, False, False]
    assert torch.isfinite(filter_logits(LOGITS, [], Sampling(top_p=0.01))).sum() == 1


def test_sampling_is_seeded_and_stays_inside_the_filter() -> None:
    s = Sampling(top_k=2)
    draws = [next_token(LOGITS, [], s, torch.Generator().manual_seed(i)) for i in range(50)]
    assert set(draws) == {0, 1}  # top_k alone samples (temperature 0 means 1)
    again = [next_token(LOGITS, [], s, torch.Generator().manual_seed(i)) for i in range(50)]
    assert draws == again
    assert next_token(LOGITS, [], Sampling()) == 0  # greedy


def test_repetition_guard() -> None:
    assert banned_by_ngrams([1, 2, 3, 1, 2], 3) == {3}  # "1 2" was followed by 3
    assert banned_by_ngrams([1, 2, 3], 3) == set()
    guarded = filter_logits(LOGITS, [1, 2, 0, 1, 2], Sampling(no_repeat_ngram=3))
    assert next_token(guarded, [], Sampling()) == 1  # 0 would repeat "2 0"... "1 2 0"
    penalised = filter_logits(LOGITS, [0], Sampling(repetition_penalty=2.0))
    assert penalised[0] == 2.0 and penalised[1] == 3.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_k": -1}, "top_k=-1"),
        ({"top_p": 0.0}, "top_p=0.0"),
        ({"top_p": 1.5}, "top_p=1.5"),
        ({"repetition_penalty": 0.5}, "repetition_penalty=0.5"),
        ({"no_repeat_ngram": 1}, "no_repeat_ngram=1"),
    ],
)
def test_bad_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Sampling(**options)


def test_unknown_keys_are_an_error() -> None:
    with pytest.raises(ConfigError, match=r"topk \(did you mean top_k\?\)"):
        check_known_keys(["prefix", "topk"], ["prefix", "top_k"], "predict_text.py")


def repeated_8grams(text: str) -> int:
    """How often the most frequent 8-character sequence occurs."""
    counts = Counter(text[i : i + 8] for i in range(len(text) - 7))
    return max(counts.values())


def _cfg(ckpt: Path, **options: object):
    base = {"ckpt_path": str(ckpt), "prefix": "time traveller", "num_tokens": 200, "seed": 3}
    return OmegaConf.create({**base, **options})


def test_guarded_greedy_generation_does_not_loop(
    trained_checkpoint: tuple[Path, Path],  # noqa: F811
) -> None:
    ckpt = trained_checkpoint[0]
    plain = generate_text(_cfg(ckpt, no_repeat_ngram=0))[len("time traveller") :]
    guarded = generate_text(_cfg(ckpt, no_repeat_ngram=10))[len("time traveller") :]
    assert len(guarded) == 200
    assert repeated_8grams(guarded) <= 3, guarded
    assert repeated_8grams(plain) > 3, plain  # without the guard the small GRU loops


def test_predict_text_top_k_and_top_p_are_seeded(
    trained_checkpoint: tuple[Path, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    ckpt = trained_checkpoint[0]
    outputs = {}
    for k, option in enumerate(("top_k=5", "top_p=0.9")):
        lines = []
        if k == 0:  # the command line once (a typo through it: commands/test_cli.py)
            result = run_script(
                "predict_text.py",
                f"ckpt_path={ckpt}",
                option,
                "num_tokens=40",
                f"hydra.run.dir={tmp_path / f'gen{k}'}",
            )
            assert result.returncode == 0, result.stderr[-2000:]
            lines.append(result.stdout.rstrip("\n").splitlines()[-1])
        for attempt in range(2 - len(lines)):  # then the same command in this process
            cfg = compose_config(
                [f"ckpt_path={ckpt}", option, "num_tokens=40"],
                tmp_path / f"in{k}{attempt}",
                "generate",
            )
            lines.append(generate_text(cfg))
        assert lines[0] == lines[1] and len(lines[0]) == len("time traveller") + 40
        outputs[option] = lines[0]
