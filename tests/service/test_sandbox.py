"""azsyncd runs under the units' new restrictions, as far as they can be had without systemd:
no writable-and-executable memory (MemoryDenyWriteExecute=, by the kernel's PR_SET_MDWE, which
systemd uses too), the system calls of @privileged and @resources refused with EPERM (a
seccomp filter of the same calls, SystemCallFilter=~), and a /proc that shows processes only
(ProcSubset=pid, a procfs mounted with subset=pid). The daemon starts, syncs in its run's
process over HTTPS, checks a PFX in its child process and stops: everything inherits them."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import pfx
from tests.helpers import daemon_command, short_dir, socket_client, wait_for_socket, within
from tests.service.adversarial.test_hostile_pfx import body
from tests.service.conftest import LocalWorld

pytestmark = pytest.mark.slow

# x86_64 numbers of @privileged and @resources (systemd-analyze syscall-filter, expanded).
DENIED = {
    "_sysctl": 156, "acct": 163, "adjtimex": 159, "bpf": 321, "capset": 126, "chown": 92,
    "chroot": 161, "clock_adjtime": 305, "clock_settime": 227, "delete_module": 176,
    "fanotify_init": 300, "fanotify_mark": 301, "fchown": 93, "fchownat": 260,
    "finit_module": 313, "init_module": 175, "ioperm": 173, "iopl": 172, "ioprio_set": 251,
    "kexec_file_load": 320, "kexec_load": 246, "lchown": 94, "mbind": 237,
    "migrate_pages": 256, "move_pages": 279, "nfsservctl": 180, "open_by_handle_at": 304,
    "pivot_root": 155, "quotactl": 179, "quotactl_fd": 443, "reboot": 169,
    "sched_setaffinity": 203, "sched_setattr": 314, "sched_setparam": 142,
    "sched_setscheduler": 144, "set_mempolicy": 238, "set_mempolicy_home_node": 450,
    "setdomainname": 171, "setfsuid": 122, "setgroups": 116, "sethostname": 170,
    "setpriority": 141, "setresuid": 117, "setreuid": 113, "setrlimit": 160,
    "settimeofday": 164, "setuid": 105, "swapoff": 168, "swapon": 167, "vhangup": 153,
}  # fmt: skip

# Applies the restrictions to itself, then becomes the command it is given.
LAUNCHER = r"""
import ctypes, json, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
def prctl(*args):
    if libc.prctl(*args) != 0:
        raise OSError(ctypes.get_errno(), f"prctl{args[:2]}")
prctl(65, 1, 0, 0, 0)  # PR_SET_MDWE: PR_MDWE_REFUSE_EXEC_GAIN
prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
denied = json.loads(sys.argv[1])
LD, JEQ, RET = 0x20, 0x15, 0x06
ALLOW, EPERM = 0x7FFF0000, 0x00050000 | 1
program = [(LD, 0, 0, 4), (JEQ, 1, 0, 0xC000003E), (RET, 0, 0, ALLOW), (LD, 0, 0, 0)]
for i, nr in enumerate(denied):
    program.append((JEQ, len(denied) - i, 0, nr))
program += [(RET, 0, 0, ALLOW), (RET, 0, 0, EPERM)]
raw = b"".join(struct.pack("HBBI", *f) for f in program)
buffer = ctypes.create_string_buffer(raw)
fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
prog = ctypes.create_string_buffer(fprog)
prctl(22, 2, ctypes.addressof(prog), 0, 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
os.execv(sys.argv[2], sys.argv[2:])
"""


def needs_a_sandbox() -> None:
    if platform.machine() != "x86_64" or sys.platform != "linux":
        pytest.skip("the seccomp filter here is written for x86_64 Linux")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("mounting a procfs with subset=pid needs root and unshare")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
         "mount -t proc -o subset=pid proc /proc && test ! -e /proc/meminfo"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"no procfs with subset=pid here: {probe.stderr.strip()}")


def sandboxed(command: list[str]) -> list[str]:
    launcher = [sys.executable, "-c", LAUNCHER, str(sorted(DENIED.values())), *command]
    mount = 'mount -t proc -o subset=pid proc /proc && exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        mount,
        "sh",
        *launcher,
    ]


PROBE = r"""
import mmap, os
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("wx-allowed")
except PermissionError:
    print("wx-refused")
for name, call in [("chown", lambda: os.chown("/", 0, 0)), ("setpriority", lambda: os.nice(1))]:
    try:
        call()
        print(f"{name}-allowed")
    except PermissionError:
        print(f"{name}-refused")
print("proc-stat-visible" if os.path.exists("/proc/stat") else "proc-stat-hidden")
"""


def test_the_sandbox_refuses_what_the_units_refuse() -> None:
    """The emulation itself can fail: each restriction is seen to act (root would be let)."""
    needs_a_sandbox()
    done = subprocess.run(
        sandboxed([sys.executable, "-c", PROBE]), capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == [
        "wx-refused",
        "chown-refused",
        "setpriority-refused",
        "proc-stat-hidden",
    ], done.stderr


def test_the_daemon_runs_and_syncs_under_the_units_restrictions(
    local_world: LocalWorld, tmp_path: Path
) -> None:
    needs_a_sandbox()
    sock = short_dir() / "azsyncd.sock"
    command = daemon_command(
        "run", "--config", str(local_world.config), "--socket", str(sock),
        "--state-dir", str(tmp_path / "state"),
    )  # fmt: skip
    log = (tmp_path / "daemon.log").open("w")
    proc = subprocess.Popen(sandboxed(command), stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_socket(sock, proc=proc)
        with socket_client(sock, timeout=130) as http:
            daemon_pid = http.get("/v1/status").json()["pid"]
            seccomp = next(
                line for line in Path(f"/proc/{daemon_pid}/status").read_text().splitlines()
                if line.startswith("Seccomp:")
            )  # fmt: skip
            synced = http.post("/v1/sync", json={"wait": True, "timeout": 120})
            contacts = http.get("/v1/contacts").json()["total"]
            stored = http.put("/v1/tenants/contoso/credential", json=body(pfx.honest_pfx()))
            metrics = http.get("/v1/metrics")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(within(45))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = (tmp_path / "daemon.log").read_text()
    assert seccomp.split() == ["Seccomp:", "2"], seccomp  # the filter is on
    assert synced.status_code == 202 and synced.json()["run"]["status"] == "succeeded", text
    assert contacts >= 5
    assert stored.status_code == 200, stored.text  # the PFX's child process opened it
    assert metrics.status_code == 200
    assert code == 0, text
    assert "Traceback" not in text and "MemoryError" not in text
