"""A lean HTTP/1.1 load generator for the close endpoint, run as its own process so that its CPU is its own.

Each of `--concurrency` keep-alive connections sends one request at a time (closed loop), taking the next deal
number from a shared counter. Requests are prebuilt bytes and responses are read by Content-Length, so the client
costs a few tens of microseconds per request; its own CPU time is measured and reported.

    python -m bench.loadgen --port 8000 --token T --first 1 --count 1000 --concurrency 16 --close-date 2025-01-01
    (with --seconds S it stops after S seconds, having used at most --count deal numbers)

Odd deals are closed with `close_quotes` ("close quotes and close", lost/out_sold), even ones by a plain won
close. Every request carries an Idempotency-Key, as a careful client's would. Prints one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import sys
import time
from collections import Counter

from bench.seeding import needs_close_quotes, opportunity_id


def request_bytes(n: int, *, token: str, close_date: str, shape: str = "mix") -> bytes:
    if needs_close_quotes(n, shape):  # type: ignore[arg-type]
        body = {"outcome": "lost", "status_reason": "out_sold", "close_date": close_date, "close_quotes": "lost"}
    else:
        body = {"outcome": "won", "close_date": close_date}
    payload = json.dumps(body).encode()
    head = (
        f"POST /api/opportunities/{opportunity_id(n)}/close HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        f"Idempotency-Key: bench-close-{n}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
            break
    else:
        raise RuntimeError("response without Content-Length")
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(
    port: int,
    numbers: itertools.count[int],
    last: int,
    make: dict[str, str],
    results: list[tuple[int, int]],
    deadline: float,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and (n := next(numbers)) <= last:
            payload = request_bytes(n, token=make["token"], close_date=make["close_date"], shape=make["shape"])
            started = time.perf_counter_ns()
            writer.write(payload)
            status, _ = await _read_response(reader)
            results.append((status, (time.perf_counter_ns() - started) // 1000))
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    numbers = itertools.count(args.first)
    last = args.first + args.count - 1
    results: list[tuple[int, int]] = []
    make = {"token": args.token, "close_date": args.close_date, "shape": args.shape}
    cpu_before = time.process_time()
    started = time.perf_counter()
    deadline = started + args.seconds if args.seconds else float("inf")
    await asyncio.gather(
        *(_connection(args.port, numbers, last, make, results, deadline) for _ in range(args.concurrency))
    )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    statuses = Counter(status for status, _ in results)
    return {
        "requests": len(results),
        "last": min(next(numbers) - 1, last),
        "ok": statuses.get(200, 0),
        "statuses": {str(k): v for k, v in statuses.items()},
        "wall_s": wall,
        "cpu_s": cpu,
        "latencies_us": [latency for status, latency in results if status == 200],
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--close-date", required=True)
    parser.add_argument("--shape", default="mix", choices=["mix", "active_draft"])
    parser.add_argument("--seconds", type=float, help="stop after this long (at most --count requests)")
    args = parser.parse_args()
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:  # pragma: no cover - plain asyncio works too, a little slower
        result = asyncio.run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
