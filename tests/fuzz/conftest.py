"""Fuzzing across layers; the per-connector mapping strategies live in tests/<kind>/."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/<kind>/test_mapping_fuzz.py hold the payload strategies this suite builds on.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
