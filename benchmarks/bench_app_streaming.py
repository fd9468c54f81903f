"""Streaming upload benchmark: a big upload through the API vs plain boto3 to the same emulator.

Prints the API's peak RSS growth during the upload (must stay under 64 MiB) and the throughput of
the API upload as a ratio to a boto3 `upload_fileobj` of the same bytes, both measured in this run.

    python benchmarks/bench_app_streaming.py [--size-mib 1024] [--repeat 1]
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time
from collections.abc import Iterator

import boto3
import httpx
import psutil
from bench_app_common import MIB, AppStack, app_stack

LINE = b"0123456789abcdefghijklmnopqrstuvwxyz,ABCDEFGHIJKLMNOPQRSTUVWXYZ,easy-upload-benchmark-line\n"
BLOCK = LINE * (MIB // len(LINE)) + LINE[: MIB % len(LINE)]  # exactly 1 MiB of text
BOUNDARY = "benchBoundary7MA4YWxkTrZu0gW"


def body(size: int) -> Iterator[bytes]:
    """A multipart body carrying ``size`` bytes of text, generated on the fly (never in memory)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    for _ in range(size // MIB):
        yield BLOCK
    yield BLOCK[: size % MIB]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


class TextStream(io.RawIOBase):
    """The same bytes as ``body`` carries, as a readable file for boto3."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        done = 0
        while done < n:
            start = self.offset % MIB
            take = min(n - done, MIB - start)
            buffer[done : done + take] = BLOCK[start : start + take]
            done += take
            self.offset += take
        self.left -= n
        return n


class RssSampler(threading.Thread):
    """Peak resident memory of a process (and its children) sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.baseline = self.rss()
        self.peak = self.baseline
        self.running = True

    def rss(self) -> int:
        procs = [self.proc, *self.proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs)

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak - self.baseline


def api_upload(stack: AppStack, size: int) -> tuple[float, int]:
    assert stack.api.pid is not None
    sampler = RssSampler(stack.api.pid)
    sampler.start()
    started = time.perf_counter()
    response = httpx.post(
        f"{stack.base_url}/api/uploads",
        content=body(size),
        timeout=600,
        headers={
            "Authorization": f"Bearer {stack.token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )
    elapsed = time.perf_counter() - started
    growth = sampler.stop()
    if response.status_code != 201 or response.json()["size_bytes"] != size:
        raise SystemExit(f"upload failed: {response.status_code} {response.text[:300]}")
    return elapsed, growth


def boto3_upload(stack: AppStack, size: int, n: int) -> float:
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.moto.endpoint_url,
        region_name=stack.moto.region,
        aws_access_key_id=stack.moto.access_key_id,
        aws_secret_access_key=stack.moto.secret_access_key,
    )
    started = time.perf_counter()
    s3.upload_fileobj(io.BufferedReader(TextStream(size), MIB), "raw-uploads", f"bench/plain-{n}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    size = args.size_mib * MIB
    api_s, boto_s, growths = [], [], []
    with app_stack(workers=0, MAX_UPLOAD_BYTES=str(size + MIB)) as stack:
        # Warm-up (not measured): the first S3 calls load botocore's models and start the thread
        # pool; the limit is about what an upload costs, not about one-time initialisation.
        api_upload(stack, 20 * MIB)
        for n in range(args.repeat):
            elapsed, growth = api_upload(stack, size)
            api_s.append(elapsed)
            growths.append(growth)
            boto_s.append(boto3_upload(stack, size, n))
            api_rate, boto_rate = size / MIB / elapsed, size / MIB / boto_s[-1]
            print(
                f"run {n + 1}: api {api_rate:.1f} MiB/s, boto3 {boto_rate:.1f} MiB/s, "
                f"api RSS growth {growth / MIB:.1f} MiB",
                flush=True,
            )
    api_med, boto_med, growth_med = statistics.median(api_s), statistics.median(boto_s), max(growths)
    print(f"size: {args.size_mib} MiB, runs: {args.repeat}")
    print(f"API upload: {size / MIB / api_med:.1f} MiB/s (median {api_med:.1f} s)")
    print(f"boto3 upload_fileobj: {size / MIB / boto_med:.1f} MiB/s (median {boto_med:.1f} s)")
    ratios = sorted(b / a for a, b in zip(api_s, boto_s, strict=True))
    print(f"throughput ratio API/boto3: {boto_med / api_med:.2f} (medians); per run: "
          + ", ".join(f"{r:.2f}" for r in ratios) + f"; median of runs {statistics.median(ratios):.2f}")
    print(
        f"API peak RSS growth: {growth_med / MIB:.1f} MiB (limit 64 MiB): "
        f"{'PASS' if growth_med < 64 * MIB else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
