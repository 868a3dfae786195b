"""A plugin that fails on import, as one with a missing dependency does."""

from __future__ import annotations

import tracker_no_such_dependency  # noqa: F401  # the failure under test
