"""What both servers need: a cache, Maven, a JDK, a free port, a process group to start and stop.

The cache is ``$DYNAFOLD_CACHE``, else ``~/.cache/dynafold``; as root it is
``/var/cache/dynafold`` instead, because OpenSearch refuses to run as root
and the unprivileged user it then runs as (``nobody``) must be able to read
the unpacked distribution (``/root`` is private). Maven keeps its own copy
in ``~/.m2``, so a wiped cache costs an unzip, not a download.

A server started from the command line (``start``) leaves a state file in
``<cache>/run/<name>.json`` for ``stop`` and ``status``.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence

MAVEN_TIMEOUT_S = 900
UNPRIVILEGED_USER = "nobody"


class Unavailable(RuntimeError):
    """The server cannot be had on this machine (no Maven, no suitable JDK, the fetch failed)."""


def cache_dir() -> Path:
    configured = os.environ.get("DYNAFOLD_CACHE")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/dynafold")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dynafold"


# JDKs


@dataclass(frozen=True)
class Jdk:
    home: Path
    major: int

    @property
    def java(self) -> str:
        return str(self.home / "bin" / "java")


def _major(version: str) -> int:
    parts = version.split(".")
    return int(parts[1]) if parts[0] == "1" else int(re.match(r"\d+", parts[0]).group())


def _jdk(home: Path) -> Optional[Jdk]:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.exists():
        return None
    found = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.M)
    return Jdk(home.resolve(), _major(found.group(1))) if found else None


def jdks() -> list[Jdk]:
    """Every JDK this machine has: ``$JAVA_HOME``, ``java`` on the PATH, ``/usr/lib/jvm/*``."""
    homes: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        homes.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    for root in (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java")):
        if root.is_dir():
            homes.extend(sorted(root.iterdir()))
    found: dict[Path, Jdk] = {}
    for home in homes:
        jdk = _jdk(home)
        if jdk is not None:
            found.setdefault(jdk.home, jdk)
    return list(found.values())


def newest_jdk(minimum: int, maximum: Optional[int] = None) -> Optional[Jdk]:
    fitting = [j for j in jdks() if j.major >= minimum and (maximum is None or j.major <= maximum)]
    return max(fitting, key=lambda j: j.major, default=None)


# Maven


def maven(args: Sequence[str], what: str, cwd: Optional[Path] = None) -> None:
    """Run Maven in batch mode; ``Unavailable`` naming ``what`` if it is missing or fails."""
    exe = shutil.which("mvn")
    if exe is None:
        raise Unavailable(f"Maven (mvn) is not installed, so {what} cannot be fetched")
    env = dict(os.environ)
    if "JAVA_HOME" not in env and shutil.which("java") is None:
        jdk = newest_jdk(8)
        if jdk is None:
            raise Unavailable(f"Maven needs a JDK and there is none, so {what} cannot be fetched")
        env["JAVA_HOME"] = str(jdk.home)
    command = [exe, "-B", "-q", "--no-transfer-progress", "-Dstyle.color=never", *args]
    try:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=MAVEN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"mvn did not fetch {what} within {MAVEN_TIMEOUT_S} s") from None
    if result.returncode != 0:
        lines = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line] or ["no output"]
        raise Unavailable(f"mvn could not fetch {what}: {lines[0].strip()[:300]}")


def unzip(archive: Path, dest: Path) -> None:
    """Unpack ``archive`` into ``dest`` with its file modes, atomically (a half-unpacked tree is never used)."""
    if dest.exists():
        return
    partial = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, partial))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    for path in [partial, *partial.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
    try:
        partial.rename(dest)
    except OSError:  # another process unpacked it first
        shutil.rmtree(partial, ignore_errors=True)


# processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unprivileged() -> Optional[pwd.struct_passwd]:
    """The user to run a server as when we are root (OpenSearch refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise Unavailable(f"running as root and there is no user {UNPRIVILEGED_USER!r} to run the server as") from None


def give_to(user: Optional[pwd.struct_passwd], root: Path) -> None:
    if user is None:
        return
    for path in [root, *root.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)


def spawn(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path, user: Optional[pwd.struct_passwd] = None
) -> subprocess.Popen:
    """Start ``command`` in a new session (its own process group), output to ``log``."""
    with open(log, "ab") as out:
        options = {}
        if user is not None:
            options = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.Popen(
            list(command), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, **options,
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours: reap it
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def stop_group(pid: int, grace_s: float = 20.0) -> None:
    """SIGTERM the process group led by ``pid``, SIGKILL it after ``grace_s``."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)


def tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    interesting = [line for line in text if not line.lstrip().startswith("at ")]
    return "\n".join(interesting[-lines:])


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, log: Path, what: str, timeout_s: float) -> float:
    """Seconds until ``ready()``; RuntimeError (with the log's tail) if the process dies or time runs out."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode} while starting:\n{tail(log)}")
        if ready():
            return time.monotonic() - started
        time.sleep(0.2)
    stop_group(process.pid)
    raise RuntimeError(f"{what} was not ready after {timeout_s:.0f} s:\n{tail(log)}")


def http_get(url: str, timeout_s: float = 2.0) -> Optional[tuple[int, bytes]]:
    """(status, body), or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, urllib.error.URLError):
        return None


# state of servers started from the command line


def state_file(name: str) -> Path:
    return cache_dir() / "run" / f"{name}.json"


def save_state(name: str, state: Mapping[str, object]) -> None:
    path = state_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(state), indent=2))


def load_state(name: str) -> Optional[dict]:
    try:
        return json.loads(state_file(name).read_text())
    except (OSError, ValueError):
        return None


def forget_state(name: str) -> None:
    state_file(name).unlink(missing_ok=True)


def remove_tree(path: Optional[Path]) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


def settings_lines(settings: Mapping[str, object]) -> Iterable[str]:
    """``opensearch.yml`` lines: JSON scalars are YAML scalars."""
    for key, value in settings.items():
        yield f"{key}: {json.dumps(value)}"
