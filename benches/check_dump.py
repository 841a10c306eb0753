#!/usr/bin/env python3
"""Benchmark: `kube-verdict check` on a generated dump of 5,000 pods and 50,000 events.

    python3 benches/check_dump.py [--pods 5000] [--events-per-pod 10] [--runs 5]

Builds the release binary and examples/typed_decode.rs, writes the dump (kubectl cluster-info
dump layout, built with tests/fixtures/k8sgen.py) to a temporary directory, runs `check -o json`
on it several times and prints wall time, CPU time (user + sys of the child) and peak RSS (the
binary's own VmHWM) for each run and their median; beside it, in the same run, the floor: the
same files decoded into typed k8s-openapi lists and nothing else (typed_decode, on as many
threads as check), and examples/false-alarm as the baseline.
No timing is asserted anywhere: this prints figures.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))

import scenarios as sc  # noqa: E402
from k8sgen import Dump, digest, status_running, ready_conditions, unscheduled_conditions  # noqa: E402


def generate(out, pods, events_per_pod, per_deploy=5, namespaces=50):
    d = Dump()
    for i in range(1, 41):
        d.node("node-%d" % i, heartbeat=900)
    deployments = pods // per_deploy
    builds = 0
    for k in range(deployments):
        ns = "team-%02d" % (k % namespaces)
        name = "svc-%04d" % k
        image = "registry.example.com/%s/%s:1.%d.0" % (ns, name, k % 7)
        blocked = k % 10 == 0
        if k % 5 == 0:
            sc.kaniko_build(d, "ci", "build-%s" % name, [image], start=0, push_at=60 + k % 30,
                            digest_seed=image, fmt=("color", "text", "json")[k % 3])
            builds += 1
        dig = digest(image)
        dep, rs = sc.app(d, ns, name, image, replicas=per_deploy, rs_created=100,
                         ready=0 if blocked else per_deploy, available=0 if blocked else per_deploy)
        for i in range(per_deploy):
            if blocked:
                msg = "0/40 nodes are available: 12 Insufficient cpu, 28 Insufficient memory. preemption: 0/40 nodes are available: 40 No preemption victims found for incoming pod."
                p = sc.app_pod(d, rs, i, image, ("unscheduled", msg), created=100)
            else:
                p = sc.app_pod(d, rs, i, image, ("ready", "registry.example.com/%s/%s@%s" % (ns, name, dig), 150),
                               node="node-%d" % (1 + (k * per_deploy + i) % 40), created=100)
            for e in range(events_per_pod):
                if blocked:
                    sc.sched_fail(d, p, "0/40 nodes are available: %d Insufficient cpu, %d Insufficient memory." % (e, 40 - e), 101 + e, 600 + e, count=3)
                else:
                    sc.pod_event(d, p, ("Pulling", "Pulled", "Created", "Started", "Scheduled")[e % 5],
                                 "event %d for %s" % (e, p["metadata"]["name"]), 101 + e)
    d.write(out)
    return deployments, builds


def run(binary, dump, argv=None):
    """(wall s, CPU s, peak RSS MiB) of one run of `check` (or of `argv`)."""
    env = dict(os.environ, KUBE_VERDICT_PEAK_RSS="1")
    argv = argv or [binary, "check", "--dump", dump, "-o", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 3, 4):
        raise SystemExit("%s exited %d: %s" % (argv[0], proc.returncode, proc.stderr.decode()))
    # VmHWM of the binary itself (wait4's ru_maxrss would include this Python process).
    peak = [l for l in proc.stderr.decode().splitlines() if l.startswith("peak_rss_kib=")]
    return wall, cpu, int(peak[-1].split("=")[1]) / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--events-per-pod", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="write the dump here and keep it")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "kube-verdict",
                    "--example", "typed_decode"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "kube-verdict")
    floor_bin = os.path.join(ROOT, "target", "release", "examples", "typed_decode")
    tmp = a.keep or tempfile.mkdtemp(prefix="kv-bench-")
    try:
        t = time.perf_counter()
        deployments, builds = generate(tmp, a.pods, a.events_per_pod)
        gen = time.perf_counter() - t
        size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(tmp) for f in fs)
        print("dump: %d pods, %d events, %d deployments, %d kaniko builds, %.1f MB on disk (generated in %.1fs)"
              % (a.pods, a.pods * a.events_per_pod, deployments, builds, size / 1e6, gen))
        base = [run(binary, os.path.join(ROOT, "examples", "false-alarm")) for _ in range(a.runs)]
        big, floor = [], []
        for i in range(a.runs):
            w, c, rss = run(binary, tmp)
            big.append((w, c, rss))
            fw, fc, frss = run(None, None, [floor_bin, tmp])
            floor.append((fw, fc, frss))
            print("run %d: check %.3f s wall, %.3f s CPU, %.1f MiB peak RSS | typed decode %.3f s wall, "
                  "%.3f s CPU, %.1f MiB" % (i + 1, w, c, rss, fw, fc, frss))

        def med(rows):
            return (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
                    max(r[2] for r in rows))
        bw, bc, brss = med(big)
        fw, fc, frss = med(floor)
        sw, sc_, srss = med(base)
        print("check --dump (median): %.3f s wall, %.3f s CPU, peak RSS %.1f MiB" % (bw, bc, brss))
        print("typed decode (median): %.3f s wall, %.3f s CPU, peak RSS %.1f MiB" % (fw, fc, frss))
        print("check / typed decode:  %.2fx wall, %.2fx CPU" % (bw / fw, bc / fc))
        print("baseline examples/false-alarm: %.3f s wall, peak RSS %.1f MiB" % (sw, srss))
        print("%.0f objects/s" % ((a.pods * (1 + a.events_per_pod)) / bw))
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
