"""Makes :mod:`battery` (the checks every module here shares) importable by the test modules
(pytest runs with ``--import-mode=importlib``, which puts no test directory on the path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
