"""The one error type a user can cause: the CLI prints it as one line, exit code 2."""


class InputError(Exception):
    """Bad input or usage: a file, line, key or option, and what was expected."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []  # e.g. the located rejected rows, shown before the message

    def __str__(self) -> str:
        return self.message
