"""Errors a user can cause, with a code, like src/lib/core/errors.ts GamedreamError; the trainer prints
`error[CODE]: message` and exits non-zero."""


class GamedreamError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def line(self) -> str:
        return f"error[{self.code}]: {self.message}"
