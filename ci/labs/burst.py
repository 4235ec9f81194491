#!/usr/bin/env python3
"""Many short HTTP connections at once, bounded in count, concurrency and time.

Opens --requests TCP connections to --host:--port, at most --concurrency at a time, each sending
one `GET / HTTP/1.0` and reading the answer to EOF (so every connection is a new flow: SYN,
request, answer, FIN). Counts the answers by body (the real server's name) and the failures.
Prints one line:
    burst: 400 requests, 400 ok, 0 failed in 3.2 s; answers: RS1 200, RS2 200
and, with --fail-log, the first failures. Exit status 0 when every request got a 200 answer.

Usage: burst.py --host 198.18.0.100 [--port 80] [--requests 400] [--concurrency 20]
                [--timeout 5] [--deadline 90]
"""

import argparse
import asyncio
import collections
import sys
import time


async def one(host, port, timeout, source=None):
    """One connection (from `source` if given): returns the body (stripped) of a 200 answer,
    or raises."""

    async def go():
        local = (source, 0) if source else None
        reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        try:
            writer.write(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
            await writer.drain()
            data = await reader.read(-1)
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise RuntimeError("status line %r" % status)
        return body.decode(errors="replace").strip()

    return await asyncio.wait_for(go(), timeout)


async def run(a):
    sem = asyncio.Semaphore(a.concurrency)
    answers = collections.Counter()
    failures = []

    async def task(i):
        async with sem:
            try:
                src = a.sources[i % len(a.sources)] if a.sources else None
                answers[await one(a.host, a.port, a.timeout, src)] += 1
            except Exception as e:  # noqa: BLE001 (every failure is counted and reported)
                failures.append("request %d: %s: %s" % (i, type(e).__name__, e))

    tasks = [asyncio.ensure_future(task(i)) for i in range(a.requests)]
    done, pending = await asyncio.wait(tasks, timeout=a.deadline)
    for t in pending:
        t.cancel()
    if pending:
        failures.append("%d requests not finished within the %g s deadline" % (len(pending), a.deadline))
    return answers, failures, len(pending)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per connection")
    ap.add_argument("--deadline", type=float, default=90.0, help="seconds for the whole burst")
    ap.add_argument("--fail-log", type=int, default=10, help="failures to print")
    ap.add_argument("--sources", type=lambda v: v.split(","), default=[],
                    help="comma-separated client addresses to connect from, in turn")
    a = ap.parse_args()

    t0 = time.monotonic()
    answers, failures, unfinished = asyncio.run(run(a))
    ok = sum(answers.values())
    failed = a.requests - ok
    per = ", ".join("%s %d" % (k, v) for k, v in sorted(answers.items())) or "none"
    print(
        "burst: %d requests, %d ok, %d failed in %.1f s; answers: %s"
        % (a.requests, ok, failed, time.monotonic() - t0, per),
        flush=True,
    )
    for f in failures[: a.fail_log]:
        print("burst: " + f, flush=True)
    sys.exit(0 if failed == 0 and unfinished == 0 else 1)


if __name__ == "__main__":
    main()
