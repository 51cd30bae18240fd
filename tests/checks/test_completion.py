"""azsyncctl's shell completion for bash and zsh: the scripts in completion/ are what shtab
makes of the command line as it is, they complete commands, actions and options, and the
service's install steps put them where bash and zsh look.

python -m tests.checks.test_completion    writes the scripts again after a change of options.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import shtab

from azsyncd.control.ctl import _parser

ROOT = Path(__file__).parents[2]
SCRIPTS = {"bash": ROOT / "completion/azsyncctl.bash", "zsh": ROOT / "completion/_azsyncctl"}
# Where the install steps put them: bash-completion's and Debian zsh's vendor directories.
INSTALLED = {
    "bash": "/usr/share/bash-completion/completions/azsyncctl",
    "zsh": "/usr/share/zsh/vendor-completions/_azsyncctl",
}


def script(shell: str) -> str:
    return shtab.complete(_parser(), shell=shell)


@pytest.mark.parametrize("shell", list(SCRIPTS))
def test_the_scripts_are_what_the_command_line_makes(shell: str) -> None:
    assert SCRIPTS[shell].read_text() == script(shell), "run python -m tests.checks.test_completion"


def bash_completes(*words: str) -> list[str]:
    """What bash offers for the last of ``words`` (azsyncctl's function, as bash calls it)."""
    line = " ".join(["azsyncctl", *words])
    command = (
        f"source {SCRIPTS['bash']}; COMP_WORDS=(azsyncctl {' '.join(repr(w) for w in words)});"
        f" COMP_CWORD={len(words)}; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}};"
        ' _shtab_azsyncctl azsyncctl; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_commands_actions_and_options() -> None:
    assert bash_completes("ten") == ["tenants"]
    assert set(bash_completes("tenants", "")) >= {"list", "show", "authorize", "credential"}
    assert bash_completes("log", "--c") == ["--csv"]
    assert "--dry-run" in bash_completes("sync", "--")
    assert bash_completes("runs", "ap") == ["approve"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh; .ci/run installs Debian's zsh")
def test_zsh_reads_the_script_and_registers_it_for_azsyncctl() -> None:
    assert subprocess.run(["zsh", "-n", str(SCRIPTS["zsh"])], timeout=30).returncode == 0
    done = subprocess.run(
        [
            "zsh",
            "-f",
            "-c",
            f"fpath=({SCRIPTS['zsh'].parent} $fpath); autoload -U compinit && compinit -u -D;"
            " print -r -- ${_comps[azsyncctl]}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == "_azsyncctl", done.stderr
    text = SCRIPTS["zsh"].read_text()
    for command in ("status", "sync", "tenants", "lifecycle", "audit", "rule-add"):
        assert f"{command}:" in text or f'"{command}' in text, command


def test_the_install_steps_put_both_scripts_where_the_shells_look() -> None:
    steps = (ROOT / "README.md").read_text() + (ROOT / "docs/operations.md").read_text()
    for shell, installed in INSTALLED.items():
        relative = SCRIPTS[shell].relative_to(ROOT)
        assert f"{relative} {installed}" in steps, f"install {relative} as {installed}"


def main() -> None:
    for shell, path in SCRIPTS.items():
        path.write_text(script(shell))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
