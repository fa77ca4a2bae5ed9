"""Reading a user's text file so that every way it can be unreadable is one actionable line, and
where the caches live."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """The folder every cache lives under (embeddings, parsed rubric files, critic verdicts):
    $INTERVIEWER_CACHE_DIR, else the platform's user cache folder."""
    root = os.environ.get("INTERVIEWER_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    import platformdirs  # only needed when a cache is used

    return Path(platformdirs.user_cache_dir("interviewer"))


def read_text(path: Path, error: type[Exception], kind: str | None = None) -> str:
    """The whole file as UTF-8 text (a BOM is dropped), or `error` naming the file and what to do."""
    where = f"{kind} file {path}" if kind else str(path)
    if not path.exists():
        raise error(f"{where}: no such file")
    if path.is_dir():
        raise error(f"{where}: is a folder, not a file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise error(f"{where}: cannot be read ({exc.strerror or exc})") from None
