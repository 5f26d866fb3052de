"""Typed exceptions raised by core/. Pages turn them into clear UI messages."""

from __future__ import annotations


class MaskStudioError(Exception):
    """Base class for every error core/ raises on bad input."""


class ImageLoadError(MaskStudioError):
    """A file could not be decoded as an image (not an image, truncated, too large, ...)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class BoxRejected(MaskStudioError):
    """A box broke one of the annotation rules. `rule` is a short machine name."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class CategoryError(MaskStudioError):
    """An invalid category operation (duplicate, empty, deleting "None", ...)."""


class FormatError(MaskStudioError):
    """An annotation or category file failed validation.

    `file`, `image` and `field` locate the problem as precisely as known.
    """

    def __init__(self, message: str, *, file: str = "", image: str = "", field: str = "") -> None:
        where = " / ".join(p for p in (file, image, field) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.image = image
        self.field = field
        self.detail = message


class WorkspaceError(MaskStudioError):
    """A path or name that would escape the workspace, or a missing/duplicate project."""


class ProjectError(WorkspaceError):
    """A project that cannot be changed as asked: deleted meanwhile (by another tab or process),
    nothing to undo or redo, a version or trash entry that is gone."""


class DetectorError(MaskStudioError):
    """A face detector could not be made or run (unknown name, missing model file, bad frame)."""


class DatasetError(MaskStudioError):
    """An invalid dataset operation (bad split fractions, empty dataset, unknown file, ...)."""


class TrainingError(MaskStudioError):
    """A run could not be configured, started or finished (bad config value, unknown run, ...)."""


class RunCancelled(TrainingError):
    """A run stopped because the user cancelled it."""


class ModelLoadError(MaskStudioError):
    """A model file that cannot be loaded safely (not .keras, damaged, or holding code)."""


class ConfigError(TrainingError, ValueError):
    """A run config or sweep grid with an invalid key or value (named in the message)."""


class ClassifierError(MaskStudioError):
    """A face classifier that cannot be built or run (no model file, labels that do not fit, ...)."""


class ActiveModelError(MaskStudioError):
    """A run that cannot be made the active model (missing, unfinished, or without a model file)."""


class LiveError(MaskStudioError):
    """Live video cannot do what was asked (no frame to save yet, a bad stream setting, ...)."""


class IceConfigError(LiveError, ValueError):
    """ICE server settings (MASK_STUDIO_ICE_SERVERS or secrets.toml) that are not a valid list."""
