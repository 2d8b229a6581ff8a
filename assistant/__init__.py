"""Ready-to-publish social media content in a brand's voice, valid for every platform."""

from .api import Assistant
from .batch import run_batch
from .brands import BrandProfile
from .errors import AssistantError, InputError, ModelError
from .platforms import PlatformRules
from .validation import Check, Violation, check, validate

__all__ = [
    "Assistant", "AssistantError", "BrandProfile", "Check", "InputError", "ModelError",
    "PlatformRules", "Violation", "check", "run_batch", "validate",
]
__version__ = "0.1.0"
