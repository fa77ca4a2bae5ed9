"""Reading an answer from the keyboard in raw mode: line editing, pastes, Enter twice to send, a clock."""

from __future__ import annotations

import codecs
import contextlib
import math
import os
import select
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from interviewer.session.interview import parse_command

PROMPT = "> "
# After one empty line the prompt says how to send: a second empty line does it (or Ctrl-D), so a
# blank line between paragraphs never sends half an answer.
SEND_PROMPT = "(Enter again to send) > "
SEND_AFTER_EMPTY_LINES = 2
# The longest a read waits in one select() call. Ctrl-C's SIGINT can be delivered to any thread (the
# models' worker threads too), and then it does not interrupt the main thread's select(): the main
# thread must come back to Python now and then to run the handler (KeyboardInterrupt).
SIGNAL_CHECK_S = 0.2
PASTE_START, PASTE_END = "[200~", "[201~"  # bracketed paste, after ESC


@dataclass
class Line:
    text: str
    eof: bool = False
    timed_out: bool = False


class Keyboard:
    """Reads lines. On a terminal, key by key (select + cbreak): a countdown can show, a half-typed line
    survives a timeout, and a bracketed paste arrives whole, its newlines kept as text, so pasted
    paragraphs stay one answer. On a pipe, plain lines."""

    def __init__(self, stdin: Any = None, stdout: Any = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.fd = self.stdin.fileno()
        self.tty = os.isatty(self.fd)
        self.closed = False
        self._typeahead = ""  # keys read past a submitted line (a paste), for the next line
        self._after_cr = False  # the last line ended with \r: a \n right after it is the same end
        self._pending = b""  # bytes read past a line on a pipe
        self._color = "NO_COLOR" not in os.environ
        if self.tty:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401  (importing it gives input() line editing)

    def read_line(self, prompt: str, deadline: float | None = None) -> Line:
        if not self.tty:
            return self._read_pipe(deadline)
        return self._read_keys(prompt, deadline)

    def edit(self, prompt: str, text: str) -> str:
        """Let the candidate correct a transcript; Enter alone accepts it as it is."""
        if self.tty:
            try:
                import readline

                readline.set_startup_hook(lambda: readline.insert_text(text))
                try:
                    return input(prompt)
                finally:
                    readline.set_startup_hook()
            except ImportError:
                pass
            except EOFError:
                return text
        line = self.read_line(prompt)
        return line.text if line.text.strip() else text

    # -- a pipe: no echo, no editing -------------------------------------------------------------

    def _read_pipe(self, deadline: float | None) -> Line:
        while b"\n" not in self._pending:
            if self.closed:
                break
            left = math.inf if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return Line("", timed_out=True)
            if not select.select([self.fd], [], [], min(left, SIGNAL_CHECK_S))[0]:
                continue
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.closed = True
            self._pending += chunk
        if b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            return Line(line.decode("utf-8", "replace").rstrip("\r"))
        rest, self._pending = self._pending, b""
        return Line(rest.decode("utf-8", "replace"), eof=True)

    # -- a terminal, key by key ------------------------------------------------------------------

    def _read_keys(self, prompt: str, deadline: float | None) -> Line:
        import termios
        import tty

        saved = termios.tcgetattr(self.fd)
        # TCSANOW, not setcbreak's default TCSAFLUSH: that drops keys typed since the last line was read
        # (Enter pressed twice quickly, or typing while the last answer was graded). ISIG stays on.
        tty.setcbreak(self.fd, termios.TCSANOW)
        # Enter arrives as \r, a pasted or piped line end as \n or \r\n: see them as sent (no ICRNL),
        # so \r\n is one line end and \n\n an empty line, never the other way round.
        attrs = termios.tcgetattr(self.fd)
        attrs[0] &= ~termios.ICRNL
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.stdout.write("\x1b[?2004h")  # ask the terminal to bracket pastes
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        buf: list[str] = []
        escape_state = 0
        sequence = ""  # the escape sequence being read
        pasting = after_cr = False
        shown: int | None = -1  # the countdown second on screen; -1: redraw now
        try:
            while True:
                left = math.inf if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    self._draw(prompt, buf, 0)
                    self.stdout.write("\n")
                    self.stdout.flush()
                    return Line("".join(buf), timed_out=True)
                seconds = None if deadline is None else math.ceil(left)
                if shown != seconds:
                    self._draw(prompt, buf, seconds)
                    shown = seconds
                keys, self._typeahead = self._typeahead, ""
                if not keys:
                    # Wake when the second on the clock changes, or when a key arrives.
                    wait = math.inf if seconds is None else max(0.02, left - (seconds - 1))
                    if not select.select([self.fd], [], [], min(wait, SIGNAL_CHECK_S))[0]:
                        continue
                    data = os.read(self.fd, 1024)
                    if not data:
                        self.closed = True
                        return Line("".join(buf), eof=True)
                    keys = decoder.decode(data)
                    # A \r\n comes in one write; a \n typed later after a \r is a line of its own.
                    self._after_cr = False
                for n, key in enumerate(keys):
                    if escape_state:  # swallow arrow keys and other escape sequences…
                        escape_state = _escape_step(escape_state, key)
                        sequence += key
                        if not escape_state:  # …but the paste brackets switch paste mode
                            pasting = {PASTE_START: True, PASTE_END: False}.get(sequence, pasting)
                        continue
                    if key == "\x1b":
                        escape_state, sequence = 1, ""
                    elif pasting:  # pasted text is text, newlines included: it never sends
                        if not (key == "\n" and after_cr):  # \r\n is one newline
                            _paste(buf, key)
                        after_cr = key == "\r"
                    elif key == "\n" and self._after_cr:  # the \n of a \r\n line end
                        self._after_cr = False
                    elif key in "\r\n":
                        self._after_cr = key == "\r"
                        self._typeahead = keys[n + 1 :]
                        self._submit(prompt, buf, seconds)
                        return Line("".join(buf))
                    elif key == "\x04":  # Ctrl-D
                        self._submit(prompt, buf, seconds)
                        return Line("".join(buf), eof=True)
                    else:
                        _edit(buf, key)
                    if key != "\r":
                        self._after_cr = False
                shown = -1  # redraw with the new text
        finally:
            self.stdout.write("\x1b[?2004l")
            self.stdout.flush()
            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def _submit(self, prompt: str, buf: list[str], seconds: int | None) -> None:
        # Keys typed in one burst were never drawn: show the line as sent before moving on.
        self._draw(prompt, buf, seconds)
        self.stdout.write("\n")
        self.stdout.flush()

    def _draw(self, prompt: str, buf: list[str], seconds: int | None) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        clock = "" if seconds is None else f"[{seconds:>3}s] "
        room = max(10, width - len(clock) - len(prompt) - 1)
        # A long line scrolls sideways rather than wrapping the redraw; pasted newlines show as ↵.
        tail = "".join(buf).replace("\n", " ↵ ")[-room:]
        if seconds is not None and self._color:
            clock = ("\x1b[1;31m" if seconds <= 10 else "\x1b[33m") + clock + "\x1b[0m"
        self.stdout.write("\r\x1b[2K" + clock + prompt + tail)
        self.stdout.flush()


def _escape_step(state: int, key: str) -> int:
    if state == 1:
        return 2 if key in "[O" else 0
    return 0 if "@" <= key <= "~" else 2


def _paste(buf: list[str], key: str) -> None:
    if key in "\r\n":
        buf.append("\n")
    elif key == "\t":
        buf.append(" ")
    elif key >= " ":
        buf.append(key)


def _edit(buf: list[str], key: str) -> None:
    if key in ("\x7f", "\x08"):
        if buf:
            buf.pop()
    elif key == "\x15":  # Ctrl-U
        buf.clear()
    elif key == "\x17":  # Ctrl-W
        while buf and buf[-1] == " ":
            buf.pop()
        while buf and buf[-1] != " ":
            buf.pop()
    elif key == "\t":
        buf.append(" ")
    elif key >= " ":
        buf.append(key)


@dataclass
class Collected:
    lines: list[str] = field(default_factory=list)
    command: str | None = None
    timed_out: bool = False
    closed: bool = False

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def collect_answer(keyboard: Keyboard, deadline: float | None, lines: list[str] | None = None) -> Collected:
    """Lines until two empty lines in a row, or Ctrl-D: one empty line is a paragraph break, kept.
    A line that is only a command word returns that command with the lines so far, so `hint` or
    `repeat` can carry on with the same answer."""
    got = Collected(list(lines or []))
    empty = 0  # empty lines in a row since the last text
    while True:
        line = keyboard.read_line(SEND_PROMPT if empty else PROMPT, deadline)
        if line.timed_out:
            if line.text.strip():
                got.lines.append(line.text)
            got.timed_out = True
            return got
        command = parse_command(line.text)
        if command:
            got.command = command
            return got
        if line.text.strip():
            got.lines += [""] * min(empty, 1) + [line.text]  # a paragraph break, then the text
            empty = 0
        elif got.lines:
            empty += 1
        if line.eof and keyboard.closed and not got.lines:
            got.closed = True
            return got
        if got.lines and (line.eof or empty >= SEND_AFTER_EMPTY_LINES):
            return got
