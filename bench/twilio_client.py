"""How fast the real twilio client can create messages against the local Twilio-compatible
simulator (``tests/fakes/twilio``): the ceiling that bench/sms_fanout.py compares the system to.

    .venv/bin/python bench/twilio_client.py --concurrency 16 --latency 0.02
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.twilio.simulator import DEFAULT_FROM, TwilioSimulator  # noqa: E402


class _ExternalServer:
    """``serve`` run in a child process (own GIL), for benchmarks."""

    def __init__(self, latency: float):
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.twilio.simulator", "serve", "--latency", str(latency),
             "--no-callbacks"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        fields = dict(kv.split("=", 1) for kv in self.proc.stdout.readline().split())
        self.url, self.account_sid, self.auth_token = (
            fields["url"], fields["account_sid"], fields["auth_token"])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


def _bench_clients(url: str, account_sid: str, auth_token: str, threads: int, per_thread: int,
                   shared: bool, trust_env: bool, start_at: float | None = None,
                   tag: int = 0) -> float:
    """Run ``threads`` real twilio clients; returns elapsed seconds for all creates."""
    import logging

    from twilio.rest import Client

    logging.getLogger("twilio").setLevel(logging.WARNING)

    def make_client() -> Client:
        c = Client(account_sid, auth_token)
        c.api.base_url = url
        if not trust_env:  # skip requests' per-request proxy/netrc environment scans
            c.http_client.session.trust_env = False
        return c

    shared_client = make_client() if shared else None
    clients = [shared_client or make_client() for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        client = clients[i]
        try:
            client.api.accounts(account_sid).fetch()  # open the keep-alive connection
        finally:
            barrier.wait()
        try:
            for j in range(per_thread):
                client.messages.create(to=f"+861{tag}{i:02d}{j:07d}", from_=DEFAULT_FROM,
                                       body="演练通知：明天 9:00 集合")
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    if start_at is not None:
        time.sleep(max(0.0, start_at - time.time()))
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0


def _bench(concurrency: int, latency: float, requests_total: int, shared: bool = False,
           server_process: bool = False, trust_env: bool = True,
           client_processes: int = 1) -> float:
    """Messages created per second by ``concurrency`` real twilio clients (threads, optionally
    spread over ``client_processes`` processes)."""
    server = (_ExternalServer(latency) if server_process
              else TwilioSimulator(latency=latency, callbacks_enabled=False).start())
    per_thread = requests_total // concurrency
    with server as sim:
        if client_processes <= 1:
            elapsed = _bench_clients(sim.url, sim.account_sid, sim.auth_token, concurrency,
                                     per_thread, shared, trust_env)
        else:
            import multiprocessing

            threads = concurrency // client_processes
            concurrency = threads * client_processes
            ctx = multiprocessing.get_context("spawn")
            t0 = time.perf_counter()
            with ctx.Pool(client_processes) as procs:
                # Workers start their threads, wait for their connections, then run.
                args = [(sim.url, sim.account_sid, sim.auth_token, threads, per_thread, shared,
                         trust_env, time.time() + 3.0, k) for k in range(client_processes)]
                t0 = time.perf_counter() + 3.0
                procs.starmap(_bench_clients, args)
            elapsed = time.perf_counter() - t0
        done = per_thread * concurrency
        if not server_process:
            assert len(sim.messages) == done
        return done / elapsed



def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--shared-client", action="store_true")
    parser.add_argument("--server-process", action="store_true",
                        help="run the simulator in a child process instead of in-process")
    parser.add_argument("--client-processes", type=int, default=1,
                        help="spread the client threads over this many processes")
    parser.add_argument("--no-trust-env", action="store_true",
                        help="set requests' Session.trust_env=False on the twilio clients")
    args = parser.parse_args(argv)
    rate = _bench(args.concurrency, args.latency, args.requests, args.shared_client,
                  args.server_process, not args.no_trust_env, args.client_processes)
    print(f"{rate:.0f} requests/s (concurrency={args.concurrency}, latency={args.latency}s)")


if __name__ == "__main__":
    main()
