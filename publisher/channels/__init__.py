"""One module per outlet behind one small protocol (base.Channel), and the registry."""

from __future__ import annotations

from .base import (
    AmbiguousChannelError,
    Channel,
    ChannelError,
    OutgoingUpdate,
    Payload,
    PermanentChannelError,
    Receipt,
    SessionStore,
    Setting,
    TransientChannelError,
)

REGISTRY: dict[str, type[Channel]] = {}


def register(cls: type[Channel]) -> type[Channel]:
    """Class decorator: make a channel available under its kind."""
    REGISTRY[cls.kind] = cls
    return cls


def channel_class(kind: str) -> type[Channel]:
    _load_all()
    try:
        return REGISTRY[kind]
    except KeyError:
        raise PermanentChannelError(f"no channel module for {kind!r}") from None


def _load_all() -> None:
    """Import every outlet module once so each registers itself."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name not in ("base", "net"):
            importlib.import_module(f"{__name__}.{module.name}")


__all__ = [
    "REGISTRY",
    "AmbiguousChannelError",
    "Channel",
    "ChannelError",
    "OutgoingUpdate",
    "Payload",
    "PermanentChannelError",
    "Receipt",
    "SessionStore",
    "Setting",
    "TransientChannelError",
    "channel_class",
    "register",
]
