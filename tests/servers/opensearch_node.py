"""One real OpenSearch node from Maven Central, on a free loopback port.

``python -m tests.servers.opensearch_node fetch|start|stop|status``

The distribution is ``org.opensearch.distribution.integ-test-zip:opensearch``:
server and transport modules, no security plugin (plain HTTP, no
credentials) and no bundled JDK, so ``JAVA_HOME`` and ``OPENSEARCH_JAVA_HOME``
are set for the child. The newest version that has a JDK here is chosen:
3.6.0 needs Java 21 or later (it runs on Temurin 25); 2.19.6 runs on Java 11
to 23 (2.x installs a SecurityManager, which Java 24 removed).
``DYNAFOLD_OPENSEARCH_VERSION`` forces one of them.

Each start gets a fresh directory with its own ``opensearch.yml``,
``jvm.options`` (small heap, dumps and GC logs inside it), data and logs;
``stop`` kills the process group and removes the directory. The node is
``discovery.type: single-node`` on 127.0.0.1 only, with the disk watermarks
off (a nearly full CI disk would otherwise turn indices read-only). As root
it runs as ``nobody``: OpenSearch refuses to run as root.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from tests.servers.common import (
    Jdk,
    Unavailable,
    cache_dir,
    forget_state,
    free_port,
    give_to,
    http_get,
    load_state,
    maven,
    newest_jdk,
    remove_tree,
    save_state,
    settings_lines,
    spawn,
    stop_group,
    unprivileged,
    unzip,
    wait_until,
)

ARTIFACT = "org.opensearch.distribution.integ-test-zip:opensearch"
# newest first: (version, oldest Java it runs on, newest Java it runs on)
CANDIDATES = (("3.6.0", 21, None), ("2.19.6", 11, 23))
MIN_HEAP, DEFAULT_HEAP = "256m", "512m"  # the maximum heap may not be smaller than the minimum
START_TIMEOUT_S = 240
_JVM_OPTIONS_WE_SET = ("-Xms", "-Xmx", "HeapDumpPath", "ErrorFile", "-Xlog:gc")


@dataclass
class Node:
    version: str
    java: int
    port: int
    pid: int
    run_dir: Path
    log: Path
    started_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_url(self) -> str:
        return f"opensearch+{self.url}"

    def stop(self) -> None:
        stop_group(self.pid)
        remove_tree(self.run_dir)


def choose() -> tuple[str, Jdk]:
    """The newest version with a JDK it runs on, and that JDK."""
    forced = os.environ.get("DYNAFOLD_OPENSEARCH_VERSION")
    for version, oldest, newest in CANDIDATES:
        if forced and version != forced:
            continue
        jdk = newest_jdk(oldest, newest)
        if jdk is not None:
            return version, jdk
    wanted = ", ".join(f"{v} on Java {lo}-{hi or ''}" for v, lo, hi in CANDIDATES if not forced or v == forced)
    raise Unavailable(f"no JDK for OpenSearch here (wanted {wanted})")


def fetch(version: str) -> Path:
    """The unpacked distribution, downloaded by Maven on first use."""
    home = cache_dir() / f"opensearch-{version}"
    if (home / "bin" / "opensearch").exists():
        return home
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    archive = downloads / f"opensearch-{version}.zip"
    if not archive.exists():
        maven(
            ["dependency:copy", f"-Dartifact={ARTIFACT}:{version}:zip", f"-DoutputDirectory={downloads}"],
            f"OpenSearch {version}",
        )
    with tempfile.TemporaryDirectory(dir=cache_dir()) as scratch:
        unzip(archive, Path(scratch) / "unpacked")
        (inner,) = (Path(scratch) / "unpacked").iterdir()
        try:
            inner.rename(home)
        except OSError:  # another process unpacked it first
            pass
    return home


def _config(home: Path, run_dir: Path, settings: Mapping[str, object], heap: str) -> Path:
    config = run_dir / "config"
    shutil.copytree(home / "config", config)
    kept = [
        line
        for line in (config / "jvm.options").read_text().splitlines()
        if not any(option in line for option in _JVM_OPTIONS_WE_SET)
    ]
    kept += [
        f"-Xms{MIN_HEAP}",
        f"-Xmx{heap}",
        f"-XX:HeapDumpPath={run_dir / 'data'}",
        f"-XX:ErrorFile={run_dir / 'logs'}/hs_err_pid%p.log",
    ]
    (config / "jvm.options").write_text("\n".join(kept) + "\n")
    (config / "opensearch.yml").write_text("\n".join(settings_lines(settings)) + "\n")
    return config


def start(settings: Optional[Mapping[str, object]] = None, heap: str = DEFAULT_HEAP, name: str = "dynafold-test") -> Node:
    """Start one node and wait until the cluster answers healthy."""
    version, jdk = choose()
    home = fetch(version)
    user = unprivileged()
    port, transport = free_port(), free_port()
    run_dir = Path(tempfile.mkdtemp(prefix=f"dynafold-opensearch-{port}-"))
    for sub in ("data", "logs", "tmp"):
        (run_dir / sub).mkdir()
    node_settings = {
        "cluster.name": name,
        "node.name": name,
        "discovery.type": "single-node",
        "network.host": "127.0.0.1",
        "http.port": port,
        "transport.port": transport,
        "path.data": str(run_dir / "data"),
        "path.logs": str(run_dir / "logs"),
        "cluster.routing.allocation.disk.threshold_enabled": False,
        **(settings or {}),
    }
    config = _config(home, run_dir, node_settings, heap)
    give_to(user, run_dir)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OPENSEARCH_", "ES_", "JAVA_"))
    }
    env.update(
        JAVA_HOME=str(jdk.home),
        OPENSEARCH_JAVA_HOME=str(jdk.home),
        OPENSEARCH_PATH_CONF=str(config),
        OPENSEARCH_TMPDIR=str(run_dir / "tmp"),
    )
    log = run_dir / "node.log"
    process = spawn([str(home / "bin" / "opensearch")], env=env, cwd=run_dir, log=log, user=user)
    url = f"http://127.0.0.1:{port}/_cluster/health?wait_for_status=yellow&timeout=1s"

    def healthy() -> bool:
        answer = http_get(url)
        return answer is not None and answer[0] == 200

    try:
        took = wait_until(healthy, process, log, f"OpenSearch {version} on Java {jdk.major}", START_TIMEOUT_S)
    except RuntimeError:
        remove_tree(run_dir)
        raise
    return Node(version, jdk.major, port, process.pid, run_dir, log, took)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.opensearch_node", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("fetch", "start", "stop", "status"))
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="an opensearch.yml setting")
    parser.add_argument("--heap", default=DEFAULT_HEAP)
    parser.add_argument("--name", default="opensearch", help="which started node (several may run)")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            version, jdk = choose()
            print(f"{fetch(version)} (OpenSearch {version}, Java {jdk.major} at {jdk.home})")
            return 0
        state = load_state(args.name)
        if args.command == "status":
            print(json.dumps(state, indent=2) if state else "not running")
            return 0 if state else 1
        if args.command == "stop":
            if state:
                Node(**{**state, "run_dir": Path(state["run_dir"]), "log": Path(state["log"])}).stop()
                forget_state(args.name)
            return 0
        if state:
            print(f"opensearch+http://127.0.0.1:{state['port']}")
            return 0
        settings = dict(s.split("=", 1) for s in args.setting)
        started = time.monotonic()
        node = start(settings, heap=args.heap)
        save_state(args.name, {**node.__dict__, "run_dir": str(node.run_dir), "log": str(node.log)})
        print(node.store_url)
        print(
            f"OpenSearch {node.version} on Java {node.java}: healthy {node.started_s:.1f} s after launch "
            f"({time.monotonic() - started:.1f} s with fetching)",
            file=sys.stderr,
        )
        return 0
    except (Unavailable, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
