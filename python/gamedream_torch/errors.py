"""Errors a user can cause, with a code, like src/lib/core/errors.ts GamedreamError; the trainer prints
`error[CODE]: message` and exits non-zero. Also the two things every command of the package does
alike: report such errors (`run_cli`) and stop cleanly on SIGINT/SIGTERM (`StopRequest`)."""
from __future__ import annotations

import signal
import sys
from typing import Callable


class GamedreamError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def line(self) -> str:
        return f"error[{self.code}]: {self.message}"


def run_cli(main: Callable[[list[str]], int]) -> None:
    """Runs `main(argv)` as a command: a GamedreamError is one `error[CODE]: message` line on stderr
    and exit status 2 for a bad flag (CLI_BAD_FLAG), 1 otherwise."""
    try:
        sys.exit(main(sys.argv[1:]))
    except GamedreamError as e:
        print(e.line(), file=sys.stderr)
        sys.exit(2 if e.code == "CLI_BAD_FLAG" else 1)


class StopRequest:
    """Set by SIGINT or SIGTERM (after `log` says so), so a training loop finishes its step and saves a checkpoint."""

    def __init__(self, log: Callable[[str], None]):
        self.asked = False

        def ask(signum, _frame) -> None:
            self.asked = True
            log(f"\nstopping after this step: saving a checkpoint ({signal.Signals(signum).name})")

        signal.signal(signal.SIGINT, ask)
        signal.signal(signal.SIGTERM, ask)
