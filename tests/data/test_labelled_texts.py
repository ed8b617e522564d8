"""Labelled texts for classification (the book's chapter 16): the book's IMDb and SNLI
layouts, users' folders and CSVs, and one clear message for each bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from dlzoo.data.text_classification import TextClassificationDataModule
from dlzoo.data.text_sources import read_snli_file, strip_parse
from dlzoo.errors import ConfigError, DataError
from text_data import sentiment_rows, write_sentiment_csv, write_snli


def test_a_csv_becomes_padded_token_ids_with_its_vocabulary_kept(tmp_path: Path) -> None:
    csv = write_sentiment_csv(tmp_path / "reviews.csv", n=200)
    dm = TextClassificationDataModule(source="text_csv", path=str(csv), text="review",
                                      label="sentiment", num_steps=12)  # fmt: skip
    dm.setup()
    spec = dm.spec
    assert spec.class_names == ("neg", "pos") and spec.tokens[:2] == ("<pad>", "<unk>")
    assert {k: len(v[0]) for k, v in dm.splits.items()} == {"train": 160, "val": 20, "test": 20}
    assert dm.splits["train"][0].shape == (160, 12) and dm.splits["train"][0].dtype == torch.long
    restored = TextClassificationDataModule(source="text_csv", path="/nowhere.csv", num_steps=12)
    restored.load_state_dict(dm.state_dict())
    assert restored.spec == spec  # prediction needs no training file


def test_the_books_imdb_layout(tmp_path: Path) -> None:
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = tmp_path / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i, (text, _) in enumerate(sentiment_rows(6, seed=hash((split, label)) % 97)):
                (folder / f"{i}_7.txt").write_text(text)
    dm = TextClassificationDataModule(source="imdb", data_dir=str(tmp_path), test_fraction=0.0)
    rows = dm.rows()
    assert len(rows["test"]) == 12 and len(rows["train"]) + len(rows["val"]) == 12
    assert dm.spec.class_names == ("neg", "pos") and len(dm.source_info["sha1"]) >= 12
    with pytest.raises(ConfigError, match="aclImdb_v1.tar.gz"):
        TextClassificationDataModule(source="imdb", data_dir=str(tmp_path / "none")).rows()


def test_the_books_snli_layout_strips_parses_and_drops_unlabelled_rows(tmp_path: Path) -> None:
    write_snli(tmp_path, {"train": 100, "dev": 50, "test": 50})
    rows = read_snli_file(tmp_path / "snli_1.0" / "snli_1.0_train.txt")
    assert len(rows) == 98  # rows 7 and 57 are labelled "-"
    (premise, hypothesis), label = rows[0]
    assert (
        "(" not in premise
        and ")" not in hypothesis
        and label in {"entailment", "contradiction", "neutral"}
    )
    assert strip_parse("( ( a man ) ( runs ) )") == "a man runs"
    dm = TextClassificationDataModule(source="snli", data_dir=str(tmp_path), num_steps=8)
    dm.setup()
    assert dm.spec.is_pair and dm.splits["val"][0].shape == (49, 2, 8)
    assert dm.spec.class_names == ("contradiction", "entailment", "neutral")
    assert len(dm.source_info["sha1"]) >= 12  # the record names what was read


def test_a_folder_of_texts_per_class_and_a_pair_csv(tmp_path: Path) -> None:
    for label in ("neg", "pos"):
        (tmp_path / "mine" / label).mkdir(parents=True)
        for i, (text, _) in enumerate(sentiment_rows(10, seed=len(label))):
            (tmp_path / "mine" / label / f"{i}.txt").write_text(text)
    dm = TextClassificationDataModule(source="text_folder", path=str(tmp_path / "mine"))
    assert sum(len(v) for v in dm.rows().values()) == 20
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("premise\thypothesis\tlabel\na man runs\ta man moves\tyes\n"
                     "a dog sleeps\ta dog runs\tno\n" * 10)  # fmt: skip
    dm = TextClassificationDataModule(source="sentence_pairs", path=str(pairs), num_steps=5)
    dm.setup()
    assert dm.spec.is_pair and dm.splits["train"][0].shape[1:] == (2, 5)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_empty_text_files_are_named_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A newcomer's report: an empty .txt file was read as a text without a word, and a
    folder of empty files ended in "lower data.min_freq" (already 1, the lowest)."""
    for label in ("neg", "pos"):
        (tmp_path / "mine" / label).mkdir(parents=True)
        for i, (text, _) in enumerate(sentiment_rows(10, seed=len(label))):
            (tmp_path / "mine" / label / f"{i}.txt").write_text(text)
    (tmp_path / "mine" / "pos" / "blank.txt").write_text(" \n")
    dm = TextClassificationDataModule(source="text_folder", path=str(tmp_path / "mine"))
    with caplog.at_level("WARNING"):
        assert sum(len(v) for v in dm.rows().values()) == 20
    assert "1 empty .txt files left out (e.g. " in caplog.text and "blank.txt" in caplog.text
    for file in (tmp_path / "mine").rglob("*.txt"):
        file.write_text("")
    empty = TextClassificationDataModule(source="text_folder", path=str(tmp_path / "mine"))
    with pytest.raises(DataError, match="every .txt file of the training classes is empty"):
        empty.setup()
    blank_cells = write(tmp_path / "blank.csv", "text,label\n" + ",pos\n,neg\n" * 10)
    blank = TextClassificationDataModule(source="text_csv", path=str(blank_cells))
    with pytest.raises(DataError, match=r"the \d+ training texts hold no word \(are they empty"):
        blank.setup()


@pytest.mark.parametrize(
    ("name", "content", "options", "error", "message"),
    [
        ("empty.csv", "", {}, DataError, "the file is empty"),
        (
            "short.csv",
            "text,label\n" + "a fine film,pos\nbad,neg\n" * 10 + "no label here\n",
            {},
            DataError,
            r"short.csv:22: 2 fields expected",
        ),
        (
            "quote.csv",
            'text,label\n"broken, row\n' + "fine,pos\n" * 5,
            {},
            DataError,
            "an unclosed quote",
        ),
        (
            "ids.csv",
            "text,label\n" + "".join(f"film {i},{i}\n" for i in range(30)),
            {},
            DataError,
            "holds 30 different values in 30 rows",
        ),
        ("semi.csv", "text;label\na;b\n", {}, ConfigError, "separated by ';'"),
        ("cols.csv", "review,stars\nnice,5\n", {}, ConfigError, "no column 'text'.*'review'"),
        ("one.csv", "text,label\n" + "a fine film,pos\n" * 30, {}, DataError, "one class only"),
        (
            "latin1.csv",
            "text,label\ncaf\xe9 au lait,pos\n".encode("latin-1"),
            {},
            DataError,
            "not UTF-8",
        ),
        (
            "pairs.csv",
            "text,label\na,b\n",
            {"source": "sentence_pairs"},
            ConfigError,
            "no column 'premise'",
        ),
    ],
)
def test_bad_inputs_are_one_clear_message(
    tmp_path: Path, name: str, content: str | bytes, options: dict, error: type, message: str
) -> None:
    path = write(tmp_path / name, content)
    dm = TextClassificationDataModule(**{"source": "text_csv", "path": str(path), **options})
    with pytest.raises(error, match=message):
        dm.setup()


def test_an_snli_file_with_a_wrong_column_count_names_the_line(tmp_path: Path) -> None:
    write_snli(tmp_path, {"train": 20, "dev": 10, "test": 10})
    train = tmp_path / "snli_1.0" / "snli_1.0_train.txt"
    lines = train.read_text().splitlines()
    lines[3] = "entailment\tonly two columns"
    train.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"snli_1.0_train.txt:4: 2 tab-separated columns"):
        TextClassificationDataModule(source="snli", data_dir=str(tmp_path)).rows()


def test_a_huge_review_is_cut_to_num_steps_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [(text, label) for text, label in sentiment_rows(40)]
    rows[0] = ("great " * 100_000, "pos")
    path = tmp_path / "long.csv"
    path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows))
    dm = TextClassificationDataModule(source="text_csv", path=str(path), num_steps=20)
    with caplog.at_level(logging.WARNING):
        dm.setup()
    assert "longer than data.num_steps=20 tokens and were cut" in caplog.text
    assert max(v[0].shape[1] for v in dm.splits.values()) == 20


def test_excel_utf8_csv_and_rows_without_labels(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark (its first column was not found);
    rows without a label were dropped without a word."""
    rows = "".join(f"{t},{label}\n" for t, label in sentiment_rows(40)) + "no label,\n" * 3
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufefftext,label\n" + rows).encode("utf-8"))
    dm = TextClassificationDataModule(source="text_csv", path=str(path))
    assert dm.rows() and dm.source_info["rows_without_label"] == 3
