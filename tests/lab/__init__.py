"""The real-Asterisk test lab: a private Asterisk 16 plus sipp agents and callers.

Use the `asterisk_lab` fixture (tests/lab/fixtures.py) in tests marked `@pytest.mark.asterisk`.
"""

from tests.lab.asterisk import AGENTS, AsteriskLab, missing_tools
from tests.lab.sipp import LabError, SippProcess

__all__ = ["AGENTS", "AsteriskLab", "LabError", "SippProcess", "missing_tools"]
