"""The RFC 9162 vectors the C unit tests check src/merkle.c against (merkle_vectors.inc) are exactly what
merkle_vectors.py computes from the RFC's definitions, and its roots are the certificate-transparency project's
published ones for the same leaves, so the vectors do not share a mistake with the code they test."""

import importlib.util
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Roots of the first 1..8 leaves of the certificate-transparency test data (RFC 6962 and RFC 9162 hash alike).
PUBLISHED_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _vectors():
    spec = importlib.util.spec_from_file_location("merkle_vectors", TESTS / "merkle_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_c_include_is_what_the_rfc_definitions_give():
    assert (TESTS / "merkle_vectors.inc").read_text() == _vectors().render(), \
        "rewrite it: python3 clients/c/tests/merkle_vectors.py > clients/c/tests/merkle_vectors.inc"


def test_the_roots_are_the_published_certificate_transparency_roots():
    vectors = _vectors()
    assert [vectors.mth(vectors.LEAVES[:n]).hex() for n in range(1, 9)] == PUBLISHED_ROOTS
