"""Shared fixtures. Qt runs offscreen: these machines have no screen."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
