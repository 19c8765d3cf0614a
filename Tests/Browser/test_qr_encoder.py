"""The dashboard's QR encoder (clients/web/src/qr.js, run by Node) against independent implementations: for
every version it makes (1 to 10) and every mask, its matrix equals python-qrcode's module for module (byte mode,
level M), and zxing-cpp decodes the automatically masked symbol back to the text."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import qrcode
import zxingcpp
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]

# One text per version 1..10 at level M in byte mode (the largest each version holds), a principal id (version
# 3), UTF-8 beyond ASCII, and the pad-codeword case of a short text.
VERSION_CAPACITIES = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213]
TEXTS = ([f"{'hl1' if n > 3 else ''}{'x' * (n - (3 if n > 3 else 0))}" for n in VERSION_CAPACITIES]
         + ["hl1s8lz2fpaalghza3qh2vxdqkufdudgy9p5u2t6m", "grüße, 健康", "a"])


def page_encoder(cases: list[dict]) -> list[dict]:
    if shutil.which("node") is None:
        pytest.fail("node is missing (hint: run scripts/setup, which installs Debian's nodejs)", pytrace=False)
    output = subprocess.run(["node", str(REPO_ROOT / "Tests" / "Browser" / "qr_matrix.mjs")], input=json.dumps(cases),
                            capture_output=True, text=True, check=True, timeout=120).stdout
    return [json.loads(line) for line in output.splitlines()]


def reference_rows(text: str, mask: int) -> tuple[int, list[str]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=mask)
    code.add_data(text.encode(), optimize=0)
    code.make(fit=True)
    return code.version, ["".join("1" if dark else "0" for dark in row) for row in code.get_matrix()]


def image(rows: list[str], scale: int = 4, quiet_zone: int = 4) -> Image.Image:
    size = (len(rows) + 2 * quiet_zone) * scale
    picture = Image.new("L", (size, size), 255)
    for y, row in enumerate(rows):
        for x, module in enumerate(row):
            if module == "1":
                left, top = (x + quiet_zone) * scale, (y + quiet_zone) * scale
                picture.paste(0, (left, top, left + scale, top + scale))
    return picture


def test_every_version_and_mask_matches_an_independent_encoder_module_for_module():
    cases = [{"text": text, "mask": mask} for text in TEXTS for mask in range(8)]
    versions = set()
    for case, produced in zip(cases, page_encoder(cases), strict=True):
        version, rows = reference_rows(case["text"], case["mask"])
        versions.add(produced["version"])
        assert produced["version"] == version, f"{case}: version {produced['version']}, expected {version}"
        assert produced["rows"] == rows, f"{case}: the matrix differs from python-qrcode's"
    assert versions == set(range(1, 11))


def test_the_chosen_mask_gives_symbols_an_independent_decoder_reads_back():
    cases = [{"text": text, "mask": None} for text in TEXTS]
    for case, produced in zip(cases, page_encoder(cases), strict=True):
        decoded = [result.text for result in zxingcpp.read_barcodes(image(produced["rows"]))]
        assert decoded == [case["text"]], f"mask {produced['mask']} of {case['text']!r} decoded as {decoded}"
