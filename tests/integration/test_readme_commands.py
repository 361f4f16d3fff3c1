"""The README's set-up, AWS CLI and boto3 blocks, run verbatim against a first-started server.

The server starts as ``make run`` starts it in a fresh checkout: CHARTER_HOME is
``./.charter`` of the working directory and no bootstrap keys are given, so it
generates the admin's keys and writes ``.charter/credentials`` and
``.charter/config``.  Every ``sh`` block of README.md made only of ``export AWS_...``
and ``aws ...`` lines then runs in one bash, in that directory, with nothing else
set; every ``python`` block runs after it in the same environment.  A comment line
directly under a command is what the command prints: each must appear, in order, as
a line of the output.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aws_cli
import server_process

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(README.read_text()) if lang == language]


def cli_blocks() -> list[str]:
    """The sh blocks that are the AWS CLI's set-up and commands (and only those)."""
    found = []
    for body in blocks("sh"):
        lines = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
        if lines and all(line.startswith(("export AWS_", "export SAGEMAKER_", "aws ")) for line in lines):
            found.append(body)
    return found


def expected_output(body: str) -> list[str]:
    """Comment lines that come straight after a command: what the README says it prints."""
    wanted, after_command = [], False
    for line in body.splitlines():
        if line.startswith("# ") and after_command:
            wanted.append(line[2:].strip())
        else:
            after_command = bool(line.strip()) and not line.startswith("#")
    return wanted


def assert_prints(output: str, wanted: list[str]) -> None:
    lines = [line.strip() for line in output.splitlines()]
    position = 0
    for text in wanted:
        assert text in lines[position:], f"the README says {text!r} is printed; the output was:\n{output}"
        position = lines.index(text, position) + 1


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory, database_url_factory):
    """A checkout-like directory whose .charter the server created on its first start."""
    workdir = tmp_path_factory.mktemp("checkout")
    shutil.copy(README, workdir / "README.md")  # what the README's commands upload, as in a checkout
    started = server_process.start(workdir / ".charter", database_url_factory())
    yield workdir, started
    started.stop()


def _shell_env(started, workdir: Path) -> dict:
    cli_dir = str(Path(aws_cli.executable()).parent)
    env = server_process.clean_env(PWD=str(workdir))
    env["PATH"] = cli_dir + ":" + env.get("PATH", "")
    return env  # no endpoint, region or keys: the exported profile must supply them


def test_readme_has_the_blocks_this_test_runs():
    found = cli_blocks()
    assert len(found) >= 2, "README.md should have the set-up export block and the AWS CLI block"
    assert any("AWS_CONFIG_FILE" in b and "AWS_SHARED_CREDENTIALS_FILE" in b and "AWS_PROFILE" in b for b in found)
    assert any(line.startswith("aws sagemaker ") for b in found for line in b.splitlines())
    assert expected_output("\n".join(found)), "the AWS CLI block should say what its commands print"
    assert blocks("python"), "README.md should have the boto3 block"


def test_first_start_writes_credentials_and_config(newcomer):
    workdir, started = newcomer
    home = workdir / ".charter"
    credentials = configparser.ConfigParser()
    credentials.read(home / "credentials")
    assert credentials["charter"]["aws_access_key_id"].startswith("AKIA")
    config = configparser.ConfigParser()
    config.read(home / "config")
    profile = config["profile charter"]
    assert profile["region"] == "us-east-1" and profile["output"] == "json"
    assert profile["endpoint_url"] == started.endpoint
    # The start-up output gives the line to paste, with this installation's paths.
    assert f"export AWS_CONFIG_FILE={home / 'config'} AWS_SHARED_CREDENTIALS_FILE={home / 'credentials'}" in started.output


def test_the_readme_aws_cli_commands_work_verbatim(newcomer):
    workdir, started = newcomer
    script = "set -e -o pipefail\n" + "\n".join(cli_blocks())
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env=_shell_env(started, workdir),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README's AWS CLI commands failed:\n{result.stdout}\n{result.stderr}"
    assert_prints(result.stdout, expected_output("\n".join(cli_blocks())))


def test_the_readme_boto3_block_works_verbatim(newcomer):
    workdir, started = newcomer
    exports = "\n".join(line for body in cli_blocks() for line in body.splitlines() if line.startswith("export "))
    for body in blocks("python"):
        script = f"set -e\n{exports}\nexec {sys.executable} -c \"$BLOCK\""
        env = {**_shell_env(started, workdir), "BLOCK": body}
        result = subprocess.run(["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"README's boto3 block failed:\n{result.stdout}\n{result.stderr}"
        assert_prints(result.stdout, expected_output(body))


def test_without_the_config_file_the_cli_has_no_region(newcomer):
    """What the set-up's AWS_CONFIG_FILE is for: the AWS CLI will not run without a region."""
    workdir, started = newcomer
    script = (f"export AWS_SHARED_CREDENTIALS_FILE={workdir}/.charter/credentials AWS_PROFILE=charter "
              f"AWS_CONFIG_FILE={workdir}/no-such-config\n"
              f"aws --endpoint-url {started.endpoint} sagemaker list-model-package-groups")
    result = subprocess.run(["bash", "-c", script], cwd=workdir, env=_shell_env(started, workdir),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "region" in result.stderr.lower()


def test_config_file_keeps_what_the_user_wrote_and_follows_the_server(tmp_path, database_url_factory):
    from charter.iam.identities import AccessKey
    from charter.instance import Instance

    home = tmp_path / ".charter"
    home.mkdir()
    (home / "config").write_text("[default]\nregion = eu-west-1\n\n[profile charter]\ncli_pager =\n")
    instance = Instance.from_env(home=str(home), database_url=database_url_factory(), host="0.0.0.0", port=9999,
                                 region="eu-central-1")
    try:
        instance.write_credentials(AccessKey("AKIAEXAMPLEEXAMPLE01", "secret", "arn:aws:iam::123456789012:user/x"),
                                   profile="demo-auditor")
        instance.write_config()
    finally:
        instance.close()
    config = configparser.ConfigParser()
    config.read(home / "config")
    assert config["default"]["region"] == "eu-west-1"  # not Charter's
    assert config["profile charter"]["cli_pager"] == ""  # the user's own key in Charter's profile stays
    for profile in ("profile charter", "profile demo-auditor"):
        assert config[profile]["region"] == "eu-central-1"
        assert config[profile]["endpoint_url"] == "http://127.0.0.1:9999"  # listening everywhere: loopback
