"""Text corpora for language modelling: The Time Machine and any UTF-8 text file."""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from dlzoo.data.base import SPLITS, InMemoryDataModule, Split, resolve_batch_size
from dlzoo.data.batches import SAMPLINGS, SequenceBatches
from dlzoo.data.spec import TokenStreamSpec
from dlzoo.data.vocab import Vocab, preprocess, tokenize
from dlzoo.errors import ConfigError, DataError

log = logging.getLogger(__name__)

TIME_MACHINE_FILE = "timemachine.txt"
TIME_MACHINE_URL = "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt"
TIME_MACHINE_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"


def sha1_of(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def fetch_text_file(
    data_dir: Path, filename: str, url: str | None, sha1: str | None, download: bool
) -> tuple[bytes, str]:
    """The bytes of ``<data_dir>/<filename>``, offline first.

    Order: the file in the data dir (checksum verified when ``sha1`` is given) -> ``url``
    (checksum verified; saved into the data dir when it is writable) -> :class:`DataError`.
    Returns the bytes and a word on where they came from.
    """
    local = data_dir / filename
    if local.is_file():
        raw = local.read_bytes()
        if sha1 and sha1_of(raw) != sha1:
            raise DataError(
                f"{local} has sha1 {sha1_of(raw)} but {sha1} was expected: the file is corrupted "
                f"or a different text. Delete it to re-download, set data.sha1=null to use it "
                f"anyway, or train on it with data=text_file data.path={local}"
            )
        return raw, str(local)
    hint = (
        f"Put {filename} (sha1 {sha1}) in {data_dir}, or point DLZOO_DATA_DIR "
        f"(or paths.data_dir) at a folder that has it"
    )
    if not download or not url:
        raise DataError(f"{local} does not exist and downloads are off. {hint}.")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            raw = response.read()
    except Exception as err:  # network errors come in many types
        raise DataError(
            f"{local} does not exist and the download from {url} failed "
            f"({type(err).__name__}: {err}). {hint}."
        ) from err
    if sha1 and sha1_of(raw) != sha1:
        raise DataError(
            f"the download from {url} has sha1 {sha1_of(raw)}, not the expected {sha1}; "
            f"refusing to use it. {hint}."
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        local.write_bytes(raw)
        return raw, f"{url} (saved as {local})"
    except OSError:  # read-only data dir: use it from memory
        return raw, url


class TextDataModule(InMemoryDataModule):
    """A text as one token stream for next-token prediction.

    The text is preprocessed, tokenised, split into contiguous train/validation/test parts
    (the last ``val_fraction + test_fraction`` of the text, so no window crosses a split)
    and served as ``num_steps``-token windows by :class:`SequenceBatches`.

    Args:
        preprocessing: ``letters`` (d2l: non-letters -> space, lower case), ``lower`` or ``none``.
        tokenizer: ``char`` or ``word``.
        min_freq: tokens seen fewer times in the training part map to ``<unk>``.
        num_steps: tokens per training window.
        sampling: ``random`` (independent windows) or ``sequential`` (state-carrying).
        val_fraction, test_fraction: fractions of the token stream held out, in text order.
        max_tokens: use only the first tokens of the text (``null``: all).
        sample_prefix: prefix of the text sample generated after each validation epoch
            (``null``: no sample).
        sample_tokens: how many tokens that sample continues the prefix by.

    The vocabulary is this datamodule's fitted state: saved in checkpoints, so text
    generation needs no data.
    """

    def __init__(
        self,
        preprocessing: str = "letters",
        tokenizer: str = "char",
        min_freq: int = 1,
        num_steps: int = 35,
        sampling: str = "random",
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        max_tokens: int | None = None,
        sample_prefix: str | None = None,
        sample_tokens: int = 50,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        preprocess("", preprocessing)  # validate the names early
        tokenize("", tokenizer)
        if sampling not in SAMPLINGS:
            raise ConfigError(
                f"data.sampling={sampling!r} is unknown; choose one of {list(SAMPLINGS)}"
            )
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise ConfigError(f"data.num_steps={num_steps!r}: must be an integer >= 1")
        for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            if not 0 < value < 1:
                raise ConfigError(f"data.{key}={value!r}: must be between 0 and 1 (exclusive)")
        if val_fraction + test_fraction >= 1:
            raise ConfigError("data.val_fraction + data.test_fraction must be below 1")
        if min_freq < 1:
            raise ConfigError(f"data.min_freq={min_freq!r}: must be >= 1")
        self.preprocessing = preprocessing
        self.tokenizer = tokenizer
        self.min_freq = min_freq
        self.num_steps = num_steps
        self.sampling = sampling
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.max_tokens = max_tokens
        self.sample_prefix = sample_prefix
        self.sample_tokens = sample_tokens
        self.source = ""
        self._vocab: Vocab | None = None
        self.corpora: dict[str, Tensor] = {}

    # -- what subclasses provide -----------------------------------------------------------
    def read_text(self) -> str:
        """The raw text."""
        raise NotImplementedError

    # -- the text as tokens ----------------------------------------------------------------
    @property
    def separator(self) -> str:
        """What joins tokens back into text: nothing for characters, a space for words."""
        return "" if self.tokenizer == "char" else " "

    def text_tokens(self, text: str) -> list[str]:
        """Preprocess and tokenise a text the way the corpus was."""
        return tokenize(preprocess(text, self.preprocessing), self.tokenizer)

    def _token_parts(self) -> dict[str, list[str]]:
        tokens = self.text_tokens(self.read_text())
        if self.max_tokens is not None:
            tokens = tokens[: int(self.max_tokens)]
        n = len(tokens)
        n_val, n_test = int(n * self.val_fraction), int(n * self.test_fraction)
        n_train = n - n_val - n_test
        return {
            "train": tokens[:n_train],
            "val": tokens[n_train : n_train + n_val],
            "test": tokens[n_train + n_val :],
        }

    @property
    def vocab(self) -> Vocab:
        """d2l's fixed 28-token alphabet for ``letters`` + ``char`` (known without reading the
        text); otherwise built from the training part of the text."""
        if self._vocab is None and self.restored_state.get("tokens"):
            self._vocab = Vocab.from_dict({"tokens": list(self.restored_state["tokens"])})
        if self._vocab is None:
            if self.preprocessing == "letters" and self.tokenizer == "char":
                self._vocab = Vocab.letters()
            else:
                self._vocab = Vocab.build(self._token_parts()["train"], min_freq=self.min_freq)
        return self._vocab

    @property
    def spec(self) -> TokenStreamSpec:
        return TokenStreamSpec((self.num_steps,), tuple(self.vocab.tokens))

    def state_dict(self) -> dict[str, Any]:
        return {"tokens": list(self.vocab.tokens)}

    def load_splits(self) -> dict[str, Split]:
        parts = self._token_parts()
        vocab = self.vocab
        self.corpora = {s: torch.tensor(vocab.encode(parts[s]), dtype=torch.long) for s in SPLITS}
        log.info(
            "%s: %s tokens (train/val/test %s), vocabulary of %d",
            self.source or type(self).__name__,
            sum(len(c) for c in self.corpora.values()),
            "/".join(str(len(self.corpora[s])) for s in SPLITS),
            len(vocab),
        )
        return {s: (c[:-1], c[1:]) for s, c in self.corpora.items()}

    # -- loaders ---------------------------------------------------------------------------
    def _loader(self, split: str, batch_size: int | str, train: bool) -> SequenceBatches:  # type: ignore[override]
        self.setup()
        rank, world = self._world()
        tokens = self.corpora[split]
        windows = max((len(tokens) - 1) // self.num_steps, 1)
        loader = SequenceBatches(
            tokens,
            num_steps=self.num_steps,
            batch_size=resolve_batch_size(batch_size, windows),
            sampling=self.sampling,
            shuffle=train and not self.overfitting,
            seed=self.seed,
            rank=rank,
            world_size=world,
            split=split,
        )
        return self.follow_trainer_epochs(loader) if train else loader


class TimeMachineDataModule(TextDataModule):
    """H. G. Wells' *The Time Machine*, the d2l book's language-modelling corpus.

    Read from ``<data_dir>/timemachine.txt`` (checksum verified), else downloaded from d2l's
    URL when ``download`` is on.
    """

    def __init__(
        self,
        data_dir: str = "data",
        download: bool = True,
        url: str = TIME_MACHINE_URL,
        sha1: str | None = TIME_MACHINE_SHA1,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.data_dir = Path(data_dir)
        self.download = download
        self.url = url
        self.sha1 = sha1

    def read_text(self) -> str:
        raw, self.source = fetch_text_file(
            self.data_dir, TIME_MACHINE_FILE, self.url, self.sha1, self.download
        )
        return raw.decode("utf-8")


class TextFileDataModule(TextDataModule):
    """Any UTF-8 text file given by ``path``."""

    def __init__(self, path: str | None = None, encoding: str = "utf-8", **kwargs) -> None:
        kwargs.setdefault("preprocessing", "lower")
        super().__init__(**kwargs)
        if not path:
            raise ConfigError("data=text_file needs data.path=<a UTF-8 text file>")
        self.path = Path(path)
        self.encoding = encoding

    def read_text(self) -> str:
        if not self.path.is_file():
            raise DataError(f"data.path={str(self.path)!r}: no such file")
        try:
            text = self.path.read_text(encoding=self.encoding)
        except UnicodeDecodeError as err:
            raise DataError(
                f"data.path={str(self.path)!r} is not valid {self.encoding} text ({err}); "
                f"set data.encoding to the file's encoding"
            ) from err
        self.source = str(self.path)
        if not text.strip():
            raise DataError(f"data.path={str(self.path)!r} is empty")
        return text
