"""The test backends of our own suite: the public kit's (``corelosses.testing``), dogfooded."""

from corelosses.testing import BACKENDS as ALL  # noqa: F401
from corelosses.testing import ArrayBackend as TB  # noqa: F401
from corelosses.testing import backend as get  # noqa: F401
from corelosses.testing import installed_backends as selected  # noqa: F401
