#!/usr/bin/env python3
"""Times mlpc against KFP 1.8, KFP 2 and Hera on the same pipeline, side by
side, and writes BENCHMARKS.md.

    python3 benches/peers/compare.py            # N = 10, 1000, 5000 (+ mlpc at 20000)
    python3 benches/peers/compare.py --quick    # N = 10, 1000 only

Every tool builds the pipeline of benches/shape.rs with its own idiomatic
API (benches/peers/*_pipeline.py). Each measurement is a whole process
(interpreter start, imports, compile, write), timed with a monotonic clock
from spawn to exit; peak RSS is the process's own `ru_maxrss` (what
`/usr/bin/time -f %M` prints), read by `wait4` so no wrapper process is
timed. The tools alternate within each round, so load on the machine falls
on all of them alike; the table shows medians. mlpc runs take milliseconds,
so it gets more rounds (`--mlpc-reps`): a median of 5 is at the mercy of
one slow round.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / "target" / "peers"
HERE = Path(__file__).resolve().parent
VERSIONS = {"kfp1": "kfp==1.8.24", "kfp2": "kfp==2.17.3", "hera": "hera[yaml]==7.1.0"}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def install():
    PEERS.mkdir(parents=True, exist_ok=True)
    for name, spec in VERSIONS.items():
        venv = PEERS / name
        python = venv / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
                       check=True)


def version_of(name):
    pkg = "hera" if name == "hera" else "kfp"
    out = sh([str(PEERS / name / "bin" / "python"), "-m", "pip", "show", pkg])
    return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Version:"))


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "mlpc", "--example", "gen_pipeline"],
                   cwd=ROOT, check=True)
    # A copy, so that rebuilding during a long run does not change what is measured.
    binary = PEERS / "mlpc-bench"
    shutil.copy(ROOT / "target" / "release" / "mlpc", binary)
    return binary


def measure(cmd, out_file):
    """Runs one whole process; returns (seconds, peak RSS in KiB, output bytes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Read stderr before waiting, so a chatty tool cannot block on a full pipe.
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(map(str, cmd)), stderr.decode()[-2000:]))
    return seconds, usage.ru_maxrss, Path(out_file).stat().st_size if out_file else 0


def tools(n, work, mlpc, with_peers):
    gen = ROOT / "target" / "release" / "examples" / "gen_pipeline"
    files = {}
    for variant in ("inline", "uses", "tracked"):
        f = work / ("scale-%d-%s.mlp" % (n, variant))
        f.write_text(sh([str(gen), str(n), variant]))
        files[variant] = f
    runs = {}

    def add(name, cmd, out_file):
        runs[name] = (cmd, out_file)

    def out(name):
        return str(work / ("%s-%d.yaml" % (name, n)))

    add("mlpc", [str(mlpc), "compile", str(files["inline"]), "-o", out("mlpc")], out("mlpc"))
    add("mlpc (uses)", [str(mlpc), "compile", str(files["uses"]), "-o", out("mlpc-uses")], out("mlpc-uses"))
    if n <= 5000:
        add("mlpc (tracked)", [str(mlpc), "compile", str(files["tracked"]), "-o", out("mlpc-tracked")],
            out("mlpc-tracked"))
    if with_peers:
        def py(name):
            return str(PEERS / name / "bin" / "python")
        add("KFP 1.8", [py("kfp1"), str(HERE / "kfp1_pipeline.py"), str(n), out("kfp1")], out("kfp1"))
        add("KFP 2", [py("kfp2"), str(HERE / "kfp2_pipeline.py"), str(n), out("kfp2")], out("kfp2"))
        for mode, label in (("per-stage", "Hera, template per stage"), ("shared", "Hera, shared template")):
            add(label, [py("hera"), str(HERE / "hera_pipeline.py"), str(n), out("hera-" + mode), mode],
                out("hera-" + mode))
    return runs


def run_all(sizes, reps_for, work, mlpc, peer_max):
    results = {}
    for n in sizes:
        runs = tools(n, work, mlpc, with_peers=n <= peer_max)
        samples = {name: [] for name in runs}
        for r in range(max(reps_for(n, name) for name in runs)):
            for name, (cmd, out_file) in runs.items():
                if r >= reps_for(n, name):
                    continue
                t, rss, size = measure(cmd, out_file)
                samples[name].append((t, rss, size))
                print("N=%-6d %-26s %9.4f s %8.1f MiB %10d bytes" % (n, name, t, rss / 1024, size), flush=True)
        results[n] = {name: {"seconds": [s[0] for s in v], "rss_kib": [s[1] for s in v], "bytes": v[0][2]}
                      for name, v in samples.items() if v}
    return results


def check_flagship(mlpc, reps=50):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run([str(mlpc), "check", str(ROOT / "examples" / "terraform_optimization.mlp")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0")
    return "%s, %d cores, %.0f GiB, %s %s" % (cpu, os.cpu_count(), int(mem) / 1024 / 1024, platform.system(),
                                            platform.release())


def med(xs):
    return statistics.median(xs)


def ratio(r):
    return "%.0f×" % r if r >= 10 else "%.2f×" % r


def write_report(results, check_times, versions, args):
    lines = ["# Benchmarks", "",
             "Whole-process compile times of mlpc and the Python SDKs on the same pipeline, measured side by side",
             "by `benches/peers/compare.py` (%s)." % time.strftime("%Y-%m-%d"), "",
             "- Machine: %s; load average at the start: %s." % (machine(), args.load),
             "- Versions: %s." % ", ".join("%s %s" % kv for kv in versions.items()),
             "- Pipeline (`benches/shape.rs`, and each SDK's own API in `benches/peers/`): prepare -> (N-3) training",
             "  stages -> register -> deploy; each stage a container with image, command, args reading two pipeline",
             "  parameters, cpu/memory requests and limits, one env var and one output parameter. `mlpc` compiles",
             "  `job`/`prep` stages written out; `mlpc (uses)` calls one `template` with `uses`; `mlpc (tracked)` makes",
             "  the training stages tracked `train` stages (MLflow injected into each).",
             "- Medians of the repetitions shown; time is wall-clock for the whole process (start-up included),",
             "  RSS the peak resident set (the process's `ru_maxrss`, as `/usr/bin/time -f %M` reports it). KFP 2",
             "  writes a PipelineSpec, the others Argo YAML.",
             ""]
    for n, tools_ in results.items():
        lines += ["## N = %d" % n, "", "| tool | median time | runs | peak RSS | output | time / mlpc |", "|---|---|---|---|---|---|"]
        base = med(tools_["mlpc"]["seconds"])
        for name, r in tools_.items():
            t = med(r["seconds"])
            lines.append("| %s | %.4f s | %d | %.1f MiB | %s bytes | %s |" % (
                name, t, len(r["seconds"]), med(r["rss_kib"]) / 1024, format(r["bytes"], ","),
                ratio(t / base)))
        lines.append("")
    t = lambda n, tool: med(results[n][tool]["seconds"]) if n in results and tool in results[n] else None  # noqa: E731
    def verdict(ok):
        return "met" if ok else "**not met**"
    targets = []
    # (N, peer, how many times faster mlpc must be), from issue 5.
    speedups = [(1000, "Hera, template per stage", 100), (1000, "KFP 2", 200),
                (5000, "KFP 2", 1000), (5000, "Hera, template per stage", 100)]
    for n, peer, factor in speedups:
        if t(n, peer):
            r = t(n, peer) / t(n, "mlpc")
            targets.append(("N=%d: ≥ %d× faster than %s" % (n, factor, peer), "%.0f×" % r, verdict(r >= factor)))
    if t(20000, "mlpc") and t(1000, "mlpc"):
        r = t(20000, "mlpc") / t(1000, "mlpc")
        targets.append(("time(N=20000) / time(N=1000) ≤ 25", "%.1f" % r, verdict(r <= 25)))
        rss = med(results[20000]["mlpc"]["rss_kib"]) / 1024
        targets.append(("peak RSS at N=20000 ≤ 256 MiB", "%.0f MiB" % rss, verdict(rss <= 256)))
    c = med(check_times) * 1000
    targets.append(("`mlpc check examples/terraform_optimization.mlp` < 5 ms", "%.2f ms" % c, verdict(c < 5)))
    if 5000 in results and "Hera, shared template" in results[5000]:
        a, b = results[5000]["mlpc (uses)"]["bytes"], results[5000]["Hera, shared template"]["bytes"]
        targets.append(("N=5000 with `uses`: YAML no larger than Hera's shared-template output",
                        "%s vs %s bytes" % (format(a, ","), format(b, ",")), verdict(a <= b)))
    lines += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % row for row in targets]
    lines += ["", "## Raw numbers", "", "```json", json.dumps({"results": results, "check_flagship_seconds": check_times},
                                                             indent=1), "```", "",
              "## Reproduce", "", "```sh",
              "python3 benches/peers/compare.py          # installs the peers in target/peers/, about 20 minutes",
              "cargo bench                               # per-phase criterion benchmarks",
              "```", ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N = 10 and 1000 only")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of the peers for N <= 1000")
    ap.add_argument("--mlpc-reps", type=int, default=21, help="repetitions of mlpc, at every N")
    ap.add_argument("--large-reps", type=int, default=3, help="repetitions of Hera for N >= 5000")
    ap.add_argument("--kfp-large-reps", type=int, default=1,
                    help="repetitions of KFP at N=5000 (each takes minutes)")
    ap.add_argument("--report", action="store_true",
                    help="rewrite BENCHMARKS.md from the last run's target/peers/results.json")
    args = ap.parse_args()
    saved = PEERS / "results.json"
    if args.report:
        data = json.loads(saved.read_text())
        args.load = data["load"]
        results = {int(n): r for n, r in data["results"].items()}
        write_report(results, data["check_flagship_seconds"], data["versions"], args)
        print("wrote", ROOT / "BENCHMARKS.md")
        return
    args.load = open("/proc/loadavg").read().split()[0]
    install()
    mlpc = build()
    versions = {"mlpc": sh([str(mlpc), "--version"]).split()[1], "Python": platform.python_version(),
                "KFP 1.8": version_of("kfp1"), "KFP 2": version_of("kfp2"), "Hera": version_of("hera")}
    sizes = [10, 1000] if args.quick else [10, 1000, 5000, 20000]

    def reps_for(n, name):
        if name.startswith("mlpc"):
            return args.mlpc_reps
        if n <= 1000:
            return args.reps
        if name.startswith("KFP"):
            return args.kfp_large_reps
        return args.large_reps

    with tempfile.TemporaryDirectory() as work:
        results = run_all(sizes, reps_for, Path(work), mlpc, peer_max=5000)
    check_times = check_flagship(mlpc)
    saved.write_text(json.dumps({"results": results, "check_flagship_seconds": check_times,
                                 "versions": versions, "load": args.load}))
    write_report(results, check_times, versions, args)
    print("wrote", ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
