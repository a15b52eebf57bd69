"""The public read model (views and their loaders)."""

from .loaders import *  # noqa: F403
from .views import *  # noqa: F403
