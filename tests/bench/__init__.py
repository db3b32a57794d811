"""Tests of the benchmark harness in bench/.

tests/ has no __init__.py, so pytest imports this folder as a top-level package named
`bench`, which would hide the harness itself: its modules are looked up there as well.
"""

from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "bench"))
