"""Reading a user's text file so that every way it can be unreadable is one actionable line."""

from __future__ import annotations

from pathlib import Path


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
