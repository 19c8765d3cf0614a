"""A story told with the real `healthledger` command: identities in a scratch folder, one plaintext node, and the
CLI run as each identity against it. Shared by the tests that drive the binary end to end."""

import json
import os
import subprocess
from pathlib import Path

from interop_processes import ServerProcess

CLI_TIMEOUT = 60.0


class CommandLineStory:
    """Identities in a scratch folder and the CLI run as each of them against one plaintext node."""

    def __init__(self, healthledger: Path, workspace: Path):
        self.healthledger = healthledger
        self.workspace = workspace
        self.environment = {key: value for key, value in os.environ.items() if not key.startswith("HEALTHLEDGER_")}
        self.environment.update(XDG_DATA_HOME=str(workspace / "data-home"), XDG_CONFIG_HOME=str(workspace / "config"),
                                XDG_STATE_HOME=str(workspace / "state"))
        self.data_dir = workspace / "data"
        self.ids: dict[str, str] = {}
        self.server: ServerProcess | None = None

    def keygen(self, name: str) -> str:
        self.ids[name] = json.loads(self.run(None, "keygen", "--identity", str(self.workspace / f"{name}.pem"),
                                             "--json").stdout)["principal_id"]
        return self.ids[name]

    def start(self, *serve_arguments: str) -> None:
        command = [str(self.healthledger), "serve", "--data-dir", str(self.data_dir), "--plaintext",
                   "--log-level", "warning", *serve_arguments]
        self.server = ServerProcess(command, self.workspace / "node.log", None)

    def stop(self) -> None:
        assert self.server is not None
        was_running, death = self.server.is_running, self.server.death()
        exit_code = self.server.stop()
        assert was_running, f"the node died ({death}); log:\n{self.server.log_tail()}"
        assert exit_code == 0, f"the node exited with {exit_code} on SIGTERM; log:\n{self.server.log_tail()}"
        self.server = None

    def run(self, who: str | None, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.healthledger), *arguments]
        if who is not None:
            assert self.server is not None
            command += ["--identity", str(self.workspace / f"{who}.pem"), "--plaintext",
                        "--server", f"127.0.0.1:{self.server.port}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT, env=self.environment,
                                stdin=subprocess.DEVNULL, cwd=self.workspace)
        if check:
            assert result.returncode == 0, f"healthledger {' '.join(arguments)} exited {result.returncode}: {result.stderr}"
        return result


def told_story(story: CommandLineStory):
    """A pytest fixture body: yields `story` and stops its node afterwards if it still runs."""
    yield story
    if story.server is not None:
        story.stop()
