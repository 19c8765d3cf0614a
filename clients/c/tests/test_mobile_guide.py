"""docs/MOBILE.md quotes the test vectors mobile teams check their code against; they must be exactly what the
Python client computes now (mobile_test_vectors.py), so a change of the contract cannot leave the guide wrong."""

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
GUIDE = TESTS.parents[2] / "docs" / "MOBILE.md"


def test_the_mobile_guide_quotes_every_vector_the_python_client_computes():
    output = subprocess.run([sys.executable, str(TESTS / "mobile_test_vectors.py")], capture_output=True,
                            text=True, check=True).stdout
    lines = [line for line in output.splitlines() if line]
    assert len(lines) >= 16
    guide = GUIDE.read_text().splitlines()
    missing = [line for line in lines if line not in guide]
    assert not missing, f"docs/MOBILE.md lacks or differs on: {missing} (hint: paste the script's output)"
