"""The small family of errors the assistant raises; each message says what to do next."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error meant for the user. `exit_code` is what the CLI returns."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  → {self.hint}" if self.hint else self.message


class InputError(AssistantError):
    """Something the user gave us (a file, a flag, a text) is wrong; exit code 2.

    `problems` lists (line, message) pairs when the mistake is in a file, so an editor can mark each line."""

    def __init__(self, message: str, *, hint: str | None = None, problems: list[tuple[int | None, str]] | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems or [(None, message)]


class NotFoundError(InputError):
    """An unknown brand, platform, kind or template name."""


class TemplateError(InputError):
    """A prompt template failed to load or render (syntax, missing variable, sandbox)."""


class PromptTooLongError(InputError):
    """The rendered prompt plus the maximum output does not fit the model's context window."""


class ModelError(AssistantError):
    """The model or its endpoint failed in a way retries could not fix; exit code 1."""

    exit_code = 1


class BackendUnavailableError(AssistantError):
    """The chosen backend cannot run here (missing package, missing model file)."""
