"""DynamoDB Local from Maven Central, in memory, on a free loopback port.

``python -m tests.servers.dynamodb_local fetch|start|stop|status``

``software.amazon.dynamodb:DynamoDBLocal`` (3.3.1, the newest served here)
and its dependencies are copied by Maven into ``<cache>/dynamodb-local-<v>/lib``,
native sqlite4java libraries included, which ``-Djava.library.path`` points
at. It runs with ``-inMemory -disableTelemetry`` on Java 17 or later and,
without ``-sharedDb``, keeps one database per access key and region: a test
that signs with a key of its own gets empty tables without a restart.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.servers.common import (
    Unavailable,
    cache_dir,
    forget_state,
    free_port,
    http_get,
    load_state,
    maven,
    newest_jdk,
    remove_tree,
    save_state,
    spawn,
    stop_group,
    wait_until,
)

GROUP, ARTIFACT, VERSION = "software.amazon.dynamodb", "DynamoDBLocal", "3.3.1"
MAIN = "software.amazon.dynamodb.services.local.main.ServerRunner"
JAVA_MIN = 17
HEAP = "256m"
START_TIMEOUT_S = 60

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dynafold.tests</groupId>
  <artifactId>dynamodb-local-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>{GROUP}</groupId><artifactId>{ARTIFACT}</artifactId><version>{VERSION}</version></dependency>
  </dependencies>
</project>
"""


@dataclass
class Server:
    version: str
    port: int
    pid: int
    run_dir: Path
    log: Path
    started_s: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop_group(self.pid, grace_s=5.0)
        remove_tree(self.run_dir)


def fetch() -> Path:
    """The directory of jars and native libraries, copied by Maven on first use."""
    lib = cache_dir() / f"dynamodb-local-{VERSION}" / "lib"
    if (lib / f"{ARTIFACT}-{VERSION}.jar").exists():
        return lib
    lib.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lib.parent) as scratch:
        (Path(scratch) / "pom.xml").write_text(_POM)
        partial = Path(scratch) / "lib"
        maven(["dependency:copy-dependencies", f"-DoutputDirectory={partial}"], f"DynamoDB Local {VERSION}", cwd=Path(scratch))
        if not list(partial.glob("libsqlite4java-linux-*.so")):
            raise Unavailable("DynamoDB Local's dependencies came without the sqlite4java native libraries")
        try:
            partial.rename(lib)
        except OSError:  # another process copied them first
            pass
    return lib


def start(heap: str = HEAP) -> Server:
    """A server on a free loopback port; ``heap`` for more than a test's few thousand items in memory."""
    jdk = newest_jdk(JAVA_MIN)
    if jdk is None:
        raise Unavailable(f"DynamoDB Local {VERSION} needs Java {JAVA_MIN} or later")
    lib = fetch()
    port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix=f"dynafold-dynamodb-local-{port}-"))
    log = run_dir / "server.log"
    command = [
        jdk.java, f"-Xmx{heap}", f"-Djava.library.path={lib}", "-cp", f"{lib}/*", MAIN,
        "-inMemory", "-disableTelemetry", "-port", str(port),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("JAVA_")}
    env["JAVA_HOME"] = str(jdk.home)
    process = spawn(command, env=env, cwd=run_dir, log=log)
    try:
        took = wait_until(lambda: http_get(f"http://127.0.0.1:{port}/") is not None, process, log,
                          f"DynamoDB Local {VERSION}", START_TIMEOUT_S)
    except RuntimeError:
        remove_tree(run_dir)
        raise
    return Server(VERSION, port, process.pid, run_dir, log, took)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.dynamodb_local", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("fetch", "start", "stop", "status"))
    args = parser.parse_args(argv)
    name = "dynamodb-local"
    try:
        if args.command == "fetch":
            print(fetch())
            return 0
        state = load_state(name)
        if args.command == "status":
            print(json.dumps(state, indent=2) if state else "not running")
            return 0 if state else 1
        if args.command == "stop":
            if state:
                Server(**{**state, "run_dir": Path(state["run_dir"]), "log": Path(state["log"])}).stop()
                forget_state(name)
            return 0
        if state:
            print(f"http://127.0.0.1:{state['port']}")
            return 0
        started = time.monotonic()
        server = start()
        save_state(name, {**server.__dict__, "run_dir": str(server.run_dir), "log": str(server.log)})
        print(server.url)
        print(f"DynamoDB Local {server.version}: answering {server.started_s:.1f} s after launch "
              f"({time.monotonic() - started:.1f} s with fetching)", file=sys.stderr)
        return 0
    except (Unavailable, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
