"""The close use case without HTTP: what a request does minus uvicorn, FastAPI and the JSON of the request.

Per close, as a request would: the bearer-token lookup (`auth.actor_for_token`), then
`services.closing.close_opportunity` with an Idempotency-Key whose answer is rendered and stored. One process per
app worker, several threads each, like uvicorn's thread pool. The runner starts the processes, waits for each to
print `ready` (warm-up done), then writes `go` to all of them at once.

    python -m bench.service_load --url URL --token T --first 1 --count 1000 --warmup 20 --threads 8 --close-date D"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import sys
import threading
import time
from datetime import date

from bench.seeding import needs_close_quotes, opportunity_id
from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.services import auth, closing
from dealdesk.services.guards import Preconditions
from dealdesk.services.ports import IdempotencyRequest, StoredAnswer
from dealdesk.web import presenters


def details_for(n: int, close_date: date, shape: str) -> CloseDetails:
    if needs_close_quotes(n, shape):  # type: ignore[arg-type]
        return CloseDetails(
            outcome=Outcome.LOST,
            status_reason=OpportunityStatus.OUT_SOLD,
            close_date=close_date,
            close_quotes=QuoteStatus.LOST,
        )
    return CloseDetails(outcome=Outcome.WON, close_date=close_date)


def _answer(result: object) -> StoredAnswer:
    return StoredAnswer(200, presenters.close_result(result).model_dump_json().encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=0, help="closes before `go`, from the front of the range")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--close-date", required=True)
    parser.add_argument("--shape", default="mix")
    args = parser.parse_args()

    settings = Settings(database_url=args.url)
    engine = make_engine(settings)
    clock = SystemClock(settings.zone)
    close_date = date.fromisoformat(args.close_date)

    def close(n: int) -> None:
        actor = auth.actor_for_token(SqlUnitOfWork(engine, clock), args.token)
        path = f"/api/opportunities/{opportunity_id(n)}/close"
        pre = Preconditions(
            idempotency=IdempotencyRequest(user_id=actor.id, scope=f"POST {path}", key=f"svc-{n}", fingerprint="f"),
            answer=_answer,
        )
        closing.close_opportunity(
            SqlUnitOfWork(engine, clock),
            opportunity_id(n),
            details_for(n, close_date, args.shape),
            actor=actor,
            pre=pre,
        )

    last = args.first + args.count - 1
    for n in range(args.first, args.first + args.warmup):
        close(n)
    numbers = itertools.count(args.first + args.warmup)
    latencies: list[int] = []
    errors: list[str] = []

    def worker() -> None:
        while (n := next(numbers)) <= last:
            started = time.perf_counter_ns()
            try:
                close(n)
            except Exception as error:  # reported, not hidden: the runner fails the row
                errors.append(f"{n}: {error!r}")
                continue
            latencies.append((time.perf_counter_ns() - started) // 1000)

    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    cpu_before = time.process_time()
    began = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = time.time()
    engine.dispose()
    result = {
        "began": began,
        "ended": ended,
        "cpu_s": time.process_time() - cpu_before,
        "latencies_us": latencies,
        "errors": errors[:5],
        "error_count": len(errors),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
