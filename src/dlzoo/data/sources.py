"""Where a missing dataset can come from, named so a newcomer can act on it: Debian packages
that exist (checked with ``apt-cache search --names-only '^dataset-'``, Debian 12), the
variable to set, and the cause of a failed download in one line."""

from __future__ import annotations

import os
from pathlib import Path

#: Debian dataset packages known to exist; every name a message suggests is one of these
KNOWN_DEBIAN_PACKAGES = frozenset({"dataset-fashion-mnist"})
#: torchvision folder name -> the Debian package with its files (only where one exists)
DEBIAN_PACKAGES = {"FashionMNIST": "dataset-fashion-mnist"}
#: the environment variable that sets the dataset root (conf/paths/default.yaml)
DATA_DIR_VARIABLE = "DLZOO_DATA_DIR"


def debian_package(folder: str) -> str | None:
    return DEBIAN_PACKAGES.get(folder)


def describe_error(err: BaseException | None) -> str:
    """``Type: message`` on one line, with the cause when the message itself has none (e.g.
    torchvision's "Error downloading x.gz:" whose reasons follow on later lines)."""
    if err is None:
        return ""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(parts) < 3:
        seen.add(id(current))
        text = " ".join(line.strip() for line in str(current).splitlines() if line.strip())
        if text:
            parts.append(f"{type(current).__name__}: {text}")
        current = current.__cause__ or current.__context__
    if not parts:
        return f"{type(err).__name__} (no message)"
    line = "; caused by ".join(parts)
    return line if len(line) <= 400 else line[:397] + "..."


def missing_data_dir_variable() -> str | None:
    """A warning when ``DLZOO_DATA_DIR`` names a folder that does not exist (a relative path
    copied from the docs): a download would silently create it there."""
    value = os.environ.get(DATA_DIR_VARIABLE)
    if value and not Path(value).is_dir():
        return (
            f"{DATA_DIR_VARIABLE}={value} does not exist (seen from {Path.cwd()}): set it to "
            f"the absolute path of a folder holding the datasets"
        )
    return None


def fetch_zip(url: str, into: Path, timeout: float = 60) -> str | None:
    """Download a zip and unpack it into ``into``; ``None`` when it worked, else the cause
    in one line (the caller names the data and what to do offline)."""
    import io
    import urllib.request
    import zipfile

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            zipfile.ZipFile(io.BytesIO(response.read())).extractall(into)
    except Exception as err:  # network and archive errors come in many types
        return describe_error(err)
    return None
