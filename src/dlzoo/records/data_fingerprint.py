"""What a user's data file or folder was when a model was trained on it.

A checkpoint evaluated on an edited CSV or a reshuffled folder would report figures for data
it was not trained against, and nothing would say so. Runs store the fingerprint of every
user-given path (``data.path``, ``data.root``) in their checkpoints and records; evaluation
compares it with the files as they are now.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: the checkpoint key the fingerprint is stored under
FINGERPRINT_KEY = "dlzoo_data_fingerprint"
#: the data settings that name a user's own file or folder
USER_PATH_KEYS = ("path", "root")
#: folders larger than this are fingerprinted by names and sizes, not contents
CONTENT_HASH_LIMIT = 256 * 2**20


def with_absolute_paths(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with each user path that exists made absolute: a checkpoint evaluated from
    another folder still finds the file it was trained on."""
    out = dict(data)
    for key in USER_PATH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value and "://" not in value:
            path = Path(value).expanduser()
            if path.exists():
                out[key] = str(path.resolve())
    return out


def _file_digest(path: Path, digest: Any) -> None:
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)


def describe_path(path: Path) -> dict[str, Any]:
    """Size and sha1 of a file; for a folder, its file count and one sha1 over the relative
    names and contents (names and sizes only past ``CONTENT_HASH_LIMIT`` bytes)."""
    digest = hashlib.sha1()
    if path.is_file():
        _file_digest(path, digest)
        return {"bytes": path.stat().st_size, "sha1": digest.hexdigest()}
    files = sorted(f for f in path.rglob("*") if f.is_file())
    total = sum(f.stat().st_size for f in files)
    for f in files:
        digest.update(f"{f.relative_to(path).as_posix()}\0{f.stat().st_size}\0".encode())
        if total <= CONTENT_HASH_LIMIT:
            _file_digest(f, digest)
    hashed = "names and contents" if total <= CONTENT_HASH_LIMIT else "names and sizes"
    return {"files": len(files), "bytes": total, "sha1": digest.hexdigest(), "hashed": hashed}


def fingerprint(data_cfg: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"data.path": {...}}`` for each user-given path of a data config that exists."""
    found = {}
    for key in USER_PATH_KEYS:
        value = data_cfg.get(key)
        if not isinstance(value, str) or not value or value == "???":
            continue
        path = Path(value).expanduser()
        if path.exists():
            found[f"data.{key}"] = {"path": str(path.resolve()), **describe_path(path)}
    return found


def changes(stored: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What differs between the training fingerprint and today's, one phrase per path (a
    path that is gone is left to the datamodule, which names it when it reads it)."""
    out = []
    for key, then in stored.items():
        current = now.get(key)
        if current is not None and current["sha1"] != then["sha1"]:
            size = f"{then['bytes']} -> {current['bytes']} bytes"
            files = f", {then['files']} -> {current['files']} files" if "files" in then else ""
            out.append(f"{key} {current['path']} changed since training ({size}{files})")
    return out
