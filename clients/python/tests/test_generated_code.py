"""The committed modules in src/healthledger/v1 are exactly what clients/python/regenerate makes from
proto/healthledger/v1 now; the check itself notices a changed, missing or extra file."""

import importlib.util
import shutil
import subprocess
import sys

from conftest import CLIENT_ROOT

REGENERATE = CLIENT_ROOT / "regenerate"


def load_regenerate():
    loader = importlib.machinery.SourceFileLoader("regenerate", str(REGENERATE))
    spec = importlib.util.spec_from_loader("regenerate", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_generated_modules_are_up_to_date_with_the_protos():
    result = subprocess.run([sys.executable, str(REGENERATE), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_drift_check_notices_edits_and_missing_or_extra_files(tmp_path):
    regenerate = load_regenerate()
    made = regenerate.generate(tmp_path / "made")
    committed = tmp_path / "committed"
    shutil.copytree(regenerate.GENERATED_DIR, committed, ignore=shutil.ignore_patterns("__pycache__"))
    assert regenerate.differences(made, committed) == []
    with open(committed / "policy_pb2.py", "a") as file:
        file.write("# edited by hand\n")
    (committed / "audit_pb2.pyi").unlink()
    (committed / "extra_pb2.py").write_text("")
    assert regenerate.differences(made, committed) == ["policy_pb2.py", "audit_pb2.pyi (missing)",
                                                       "extra_pb2.py (not generated)"]


def test_generated_files_say_do_not_edit():
    for path in (CLIENT_ROOT / "src" / "healthledger" / "v1").glob("*.py"):
        head = path.read_text()[:400]
        assert "DO NOT EDIT" in head, path.name
