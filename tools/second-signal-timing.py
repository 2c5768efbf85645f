#!/usr/bin/env python3
"""How long `distill run` takes to end after a second Ctrl-C, and what it leaves.

Starts `distill run --steps 1000000 --checkpoint-every 0 OPTIONS...`, waits for its
first line and WAIT seconds more, sends SIGINT, waits for the acknowledgement on
standard error, sends SIGINT again and times the exit. Repeats REPS times for
each binary given and prints every time, the median, and the files each run left.

    tools/second-signal-timing.py --data D --binary .build/debug/distill \
        [--binary /path/to/other/distill] [--reps 3] [--wait 1.5] -- --model ntk --images-per-class 30

Uses only the standard library. Timings are wall-clock seconds on a shared
machine: compare binaries within one invocation (runs interleave), not across.
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


def one_run(binary, data, options, out, wait):
    process = subprocess.Popen([binary, "run", "--data", data, "--out", out, "--steps", "1000000",
                                "--checkpoint-every", "0"] + options,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    time.sleep(wait)
    process.send_signal(signal.SIGINT)
    while True:
        line = process.stderr.readline().decode()
        if not line or line.startswith("stopping after this step"):
            break
    start = time.time()
    process.send_signal(signal.SIGINT)
    process.communicate()
    return process.returncode, time.time() - start, sorted(os.listdir(out)) if os.path.isdir(out) else []


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--binary", action="append", required=True)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--wait", type=float, default=1.5)
    parser.add_argument("options", nargs="*")
    arguments = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="second-signal-")
    times = {binary: [] for binary in arguments.binary}
    try:
        for rep in range(arguments.reps):
            for index, binary in enumerate(arguments.binary):
                out = os.path.join(scratch, f"out-{index}-{rep}")
                status, seconds, files = one_run(binary, arguments.data, arguments.options, out, arguments.wait)
                times[binary].append(seconds)
                print(f"{binary}: status {status}, ended {seconds:.3f} s after the second SIGINT, left {files}")
        for binary, values in times.items():
            print(f"{binary}: median {statistics.median(values):.3f} s over {len(values)} runs "
                  f"({', '.join(f'{v:.3f}' for v in values)})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
