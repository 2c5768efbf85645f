#!/usr/bin/env python3
"""How early in `distill`'s life a SIGTERM (or SIGINT) gets its one-line message.

Starts `distill run --data D --out <temporary folder>` REPS times for each delay
in DELAYS (milliseconds after the process was spawned: Popen returns once exec
succeeded), sends the signal after that delay, and counts the runs that ended
with the one line ("Stopped (SIGTERM) while ...", status 143; for SIGINT
"Interrupted (SIGINT) while ...", status 130) against those the signal's default
action ended silently. Also prints, for scale, the median time from spawn to
the end of a run refused at once (a --data that does not exist): the process's
start-up, the parsing of its options and its error line.

    tools/early-signal-timing.py --binary .build/release/distill --data data/mnist \
        [--binary /path/to/other/distill] [--reps 20] [--delays 0,2,5,10,20,30] [--signal INT]

Uses only the standard library. Times are wall-clock on a shared machine, so a
delay is a lower bound on when the signal arrives; compare binaries within one
invocation (runs interleave), not across.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

# A reader that stops early (| head) ends the script quietly, without a BrokenPipeError.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def one(binary, data, delay_ms, sig, scratch):
    out = tempfile.mkdtemp(dir=scratch)
    shutil.rmtree(out)
    process = subprocess.Popen([binary, "run", "--data", data, "--out", out, "--steps", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.monotonic()
    while (time.monotonic() - start) * 1000 < delay_ms:
        pass
    process.send_signal(sig)
    _, err = process.communicate()
    text = err.decode(errors="replace")
    expected = 128 + sig
    prefix = "Stopped (SIGTERM) while " if sig == signal.SIGTERM else "Interrupted (SIGINT) while "
    with_message = process.returncode == expected and prefix in text
    silent = process.returncode == -sig
    return with_message, silent, process.returncode, text.strip().splitlines()[-1:] if text.strip() else []


def startup(binary):
    """Milliseconds from spawn until `distill run --data /nonexistent` has exited (main ran and refused it)."""
    times = []
    for _ in range(10):
        start = time.monotonic()
        subprocess.run([binary, "run", "--data", "/nonexistent-distill-data", "--out", "/nonexistent-distill-out"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(1000 * (time.monotonic() - start))
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", action="append", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--delays", default="0,2,5,10,20,30")
    parser.add_argument("--signal", default="TERM", choices=["TERM", "INT"])
    args = parser.parse_args()
    sig = signal.SIGTERM if args.signal == "TERM" else signal.SIGINT
    delays = [float(d) for d in args.delays.split(",")]
    scratch = tempfile.mkdtemp(prefix="early-signal-")
    try:
        results = {(b, d): [] for b in args.binary for d in delays}
        others = {}
        for _ in range(args.reps):
            for d in delays:
                for b in args.binary:  # interleaved, so load affects both alike
                    with_message, silent, code, last = one(b, args.data, d, sig, scratch)
                    results[(b, d)].append(with_message)
                    if not with_message and not silent:
                        others.setdefault((b, d), []).append((code, last))
        for b in args.binary:
            print(f"{b}: median {startup(b):.1f} ms from spawn to the end of a run refusing a missing --data")
            for d in delays:
                r = results[(b, d)]
                print(f"  SIG{args.signal} {d:g} ms after spawn: {sum(r)} of {len(r)} with the one-line message and status {128 + sig}")
                for code, last in others.get((b, d), []):
                    print(f"    other ending: status {code}, {last}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
