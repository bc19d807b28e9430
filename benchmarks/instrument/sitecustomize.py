"""Counts every OpenSearch request a benchmarked process makes: requests, bytes sent, bytes received;
and its peak resident memory.

Loaded by Python at start-up in every process of a benchmarked command
(``PYTHONPATH`` names this folder), the worker processes of a replay
included; at exit each process adds its counts to ``$BENCH_HTTP_COUNTS``
(one JSON line per process; a forked worker process writes its own when
``multiprocessing`` ends it, since such a process skips ``atexit``).
Nothing in dynafold knows about it: it wraps opensearch-py's connection,
below both sides of a comparison alike. The peak memory is the process's
own address space's (``VmHWM``): ``wait4``'s ``ru_maxrss`` would include the
benchmark's own memory, which a child keeps across ``exec``.
"""

import atexit
import json
import os
import threading

_out = os.environ.get("BENCH_HTTP_COUNTS")
if _out:
    from opensearchpy.connection import Urllib3HttpConnection

    _counts = {"requests": 0, "sent": 0, "received": 0, "pid": os.getpid()}
    _lock = threading.Lock()
    _original = Urllib3HttpConnection.perform_request

    def _counting(self, method, url, params=None, body=None, *args, **kwargs):
        status, headers, data = _original(self, method, url, params, body, *args, **kwargs)
        with _lock:
            _counts["requests"] += 1
            _counts["sent"] += len(body) if body else 0
            _counts["received"] += len(data.encode("utf-8")) if isinstance(data, str) else len(data or b"")
        return status, headers, data

    Urllib3HttpConnection.perform_request = _counting

    def _peak_rss() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _write() -> None:
        with open(_out, "a") as sink:
            sink.write(json.dumps({**_counts, "peak_rss": _peak_rss()}) + "\n")

    atexit.register(_write)

    class _Forked:
        """After a fork the child counts from zero, and writes at multiprocessing's exit."""

    def _after_fork(_: object) -> None:
        import multiprocessing.util

        _counts.update(requests=0, sent=0, received=0, pid=os.getpid())
        multiprocessing.util.Finalize(None, _write, exitpriority=100)

    _holder = _Forked()
    import multiprocessing.util

    multiprocessing.util.register_after_fork(_holder, _after_fork)
