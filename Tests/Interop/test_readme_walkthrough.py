"""The README's walk-through and the Swift client example, run as a newcomer runs them, against a real node over TLS.

The walk-through is the fenced blocks between `<!-- walkthrough -->` and `<!-- /walkthrough -->` in README.md:
each ```sh block is run in order by one bash (so variables carry over), and the ```text block after it, if any,
is what it must print (stdout and stderr together); a ```sh block with no ```text block after it must print
nothing. Principal ids, 64-hex ids, times and the scratch directory's path differ on every run, so they are masked
on both sides before comparing; everything else, column layout aside, must match line for line.
"""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from interop_paths import REPO_ROOT
from swift_tools import SwiftBuildError, build_product

README = REPO_ROOT / "README.md"
EXAMPLE_README = REPO_ROOT / "Examples" / "ledger-client" / "README.md"
STARTUP_TIMEOUT = 30.0
WALKTHROUGH_TIMEOUT = 120.0
SUBCOMMANDS = ["serve", "keygen", "whoami", "grant", "revoke", "grants", "write", "import", "query", "export", "erase", "audit", "research-feed", "emergency", "status", "verify"]

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MASKS = [
    (re.compile(r"/\S*/tmp\.[A-Za-z0-9]+"), "<scratch-dir>"),  # mktemp -d
    (re.compile(r"\bhl1[02-9ac-hj-np-z]{38}\b"), "<principal-id>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<id>"),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b"), "<time>"),
]


@dataclass(frozen=True)
class WalkthroughStep:
    """One ```sh block of the walk-through and the output shown after it ("" when none is shown)."""

    commands: str
    shown_output: str


def walkthrough_steps(readme_text: str) -> list[WalkthroughStep]:
    """The walk-through's steps, in order, from the marked part of a README."""
    start, end = readme_text.find("<!-- walkthrough -->"), readme_text.find("<!-- /walkthrough -->")
    assert 0 <= start < end, "README.md has no <!-- walkthrough --> ... <!-- /walkthrough --> section"
    steps: list[WalkthroughStep] = []
    for fence in FENCE.finditer(readme_text[start:end]):
        language, body = fence.group(1), fence.group(2)
        if language == "sh":
            steps.append(WalkthroughStep(body, ""))
        elif language == "text":
            assert steps and not steps[-1].shown_output, f"a ```text block that follows no ```sh block:\n{body}"
            steps[-1] = WalkthroughStep(steps[-1].commands, body)
        else:
            raise AssertionError(f"the walk-through has a ```{language} block; it may hold only sh and text blocks")
    assert steps, "the walk-through section has no ```sh blocks"
    return steps


def key_lines(output: str) -> list[str]:
    """The non-empty lines of `output` with run-specific values masked and runs of spaces collapsed."""
    lines = []
    for line in output.splitlines():
        for pattern, replacement in MASKS:
            line = pattern.sub(replacement, line)
        line = " ".join(line.split())
        if line:
            lines.append(line)
    return lines


class TLSNode:
    """`healthledger serve` on a free port over TLS with its default data directory under a scratch
    XDG_DATA_HOME, as `scripts/serve` starts it (without the build)."""

    def __init__(self, healthledger: Path, workspace: Path):
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("HEALTHLEDGER_")}
        self.environment.update(XDG_DATA_HOME=str(workspace / "data-home"), XDG_CONFIG_HOME=str(workspace / "config"),
                                XDG_STATE_HOME=str(workspace / "state"), TMPDIR=str(workspace / "tmp"))
        (workspace / "tmp").mkdir()
        self.log = open(workspace / "serve.log", "w")
        self.process = subprocess.Popen(
            [str(healthledger), "serve", "--port", "0", "--log-level", "warning"], cwd=workspace,
            env=self.environment, stdout=subprocess.PIPE, stderr=self.log, text=True)
        first_line = self.process.stdout.readline().strip()
        if not first_line.startswith("listening on port "):
            self.stop()
            raise AssertionError(f"healthledger serve did not start: {first_line!r}; see {workspace}/serve.log")
        self.port = int(first_line.removeprefix("listening on port "))
        self.environment["HEALTHLEDGER_SERVER"] = f"127.0.0.1:{self.port}"
        self.ca_file = workspace / "data-home" / "healthledger" / "tls" / "ca.pem"

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def build(product: str) -> Path:
    try:
        return build_product(product)
    except SwiftBuildError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="module")
def healthledger() -> Path:
    return build("healthledger")


@pytest.fixture
def node(healthledger: Path):
    workspace = Path(tempfile.mkdtemp(prefix="healthledger-readme-"))
    started = TLSNode(healthledger, workspace)
    yield started
    started.stop()
    shutil.rmtree(workspace, ignore_errors=True)


def run_walkthrough(readme_text: str, healthledger: Path, node: TLSNode) -> list[str]:
    """Runs every step of the README's walk-through in one bash, from a directory laid out like the repository
    after `scripts/serve` (the binary at .build/release/healthledger), and returns the differences found."""
    assert shutil.which("jq"), "the walk-through needs jq (scripts/setup installs it)"
    steps = walkthrough_steps(readme_text)
    root = Path(node.environment["TMPDIR"]).parent / "repository"
    (root / ".build" / "release").mkdir(parents=True)
    (root / ".build" / "release" / "healthledger").symlink_to(healthledger)
    marker = "@@walkthrough-step@@"
    script = "exec 2>&1\n" + "".join(f"echo '{marker}'\n{step.commands}" for step in steps)
    result = subprocess.run(["bash", "-c", script], cwd=root, env=node.environment, capture_output=True, text=True,
                            timeout=WALKTHROUGH_TIMEOUT)
    outputs = result.stdout.split(marker + "\n")[1:]
    problems = []
    if len(outputs) != len(steps):
        problems.append(f"{len(outputs)} of {len(steps)} steps ran (exit {result.returncode}):\n{result.stdout}")
    for step, output in zip(steps, outputs):
        expected, actual = key_lines(step.shown_output), key_lines(output)
        if expected != actual:
            problems.append(f"$ {step.commands.strip()}\nREADME shows:\n  " + "\n  ".join(expected)
                            + "\nbut it printed:\n  " + "\n  ".join(actual))
    return problems


def test_readme_walkthrough_prints_what_the_readme_shows(healthledger, node):
    problems = run_walkthrough(README.read_text(), healthledger, node)
    assert not problems, "README.md's walk-through drifted:\n\n" + "\n\n".join(problems)


def test_every_command_help_shows_examples(healthledger):
    for arguments in [["--help"]] + [[command, "--help"] for command in SUBCOMMANDS]:
        result = subprocess.run([str(healthledger), *arguments], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"healthledger {' '.join(arguments)}: {result.stderr}"
        assert "Examples:" in result.stdout, f"healthledger {' '.join(arguments)} shows no examples"


def test_swift_client_example_prints_what_its_readme_shows(node):
    example = build("ledger-client-example")
    shown = [fence.group(2) for fence in FENCE.finditer(EXAMPLE_README.read_text()) if fence.group(1) == "text"]
    assert len(shown) == 1, "Examples/ledger-client/README.md should show the example's output in one ```text block"
    result = subprocess.run([str(example), f"127.0.0.1:{node.port}", str(node.ca_file)], env=node.environment,
                            capture_output=True, text=True, timeout=WALKTHROUGH_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert key_lines(result.stdout) == key_lines(shown[0])
