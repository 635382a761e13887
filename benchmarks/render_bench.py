"""Offer rendering benchmark (performance.md "PDF rendering", "PDF size").

    python benchmarks/render_bench.py --docs 200 --workers 1 2 [--repeat 3] [--json out.json]

Renders ``--docs`` demo offers (offers.demo: realistic figures, every segment, PV and no PV) and reports

* WeasyPrint alone: the same HTML rendered to PDF bytes in this process (warm), documents/s;
* per stage, per document: building the offer content + hash, Jinja, WeasyPrint layout, PDF writing;
* the pipeline (``render_offers``: planning, process pool, PDF writing, atomic file writes) with 1, 2 …
  processes: documents/s, overhead over WeasyPrint alone, speed-up over one process, pool start-up;
* memory: RSS of every worker sampled during the run (first sample after warm-up vs. last and peak);
* PDF size: median and maximum.

Absolute times on a shared machine are noisy: use ``--repeat`` (medians are reported) and compare the
ratios printed side by side from the same run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from offers.demo import demo_run  # noqa: E402
from offers.render import OfferPool, RenderJob, iter_plan, render_offers  # noqa: E402

DAY = dt.date(2025, 11, 22)


def plan_jobs(run, out: Path) -> tuple[list[RenderJob], float]:
    t0 = time.perf_counter()
    jobs = [j for j in iter_plan(run.accounts, run.results, run.scenarios, run.segments, run.playbooks,
                                 run.assumptions, run.run_id, run.rules_version, out, issue_date=DAY)
            if isinstance(j, RenderJob)]
    return jobs, time.perf_counter() - t0


def weasyprint_alone(jobs: list[RenderJob]) -> dict:
    """The same HTML as the pipeline, rendered sequentially in this (warm) process."""
    from weasyprint import HTML

    from offers.engine import get_renderer, html_to_pdf, render_offer_html
    from offers.pdffonts import compact_fonts
    r = get_renderer()
    html = []
    t0 = time.perf_counter()
    for job in jobs:
        html.append(render_offer_html(job.context))
    t_jinja = time.perf_counter() - t0
    for h in html[:3]:                        # warm-up: fonts, caches
        html_to_pdf(h)
    t0, c0 = time.perf_counter(), time.process_time()
    for h in html:
        html_to_pdf(h)
    t_pdf, c_pdf = time.perf_counter() - t0, time.process_time() - c0
    # layout vs. writing, on a sample
    sample = html[: max(5, len(html) // 10)]
    t_layout = t_write = 0.0
    for h in sample:
        a = time.perf_counter()
        doc = HTML(string=h, base_url=r.base_url, url_fetcher=r.fetcher).render(
            font_config=r.font_config, stylesheets=[r.css])
        b = time.perf_counter()
        doc.write_pdf(finisher=compact_fonts)
        t_write += time.perf_counter() - b
        t_layout += b - a
    return {"docs_per_s": len(html) / t_pdf, "s_per_doc": t_pdf / len(html), "cpu_s_per_doc": c_pdf / len(html),
            "jinja_s_per_doc": t_jinja / len(html),
            "layout_s_per_doc": t_layout / len(sample), "write_s_per_doc": t_write / len(sample)}


class RssSampler(threading.Thread):
    def __init__(self, pids: list[int], every: float = 0.25):
        super().__init__(daemon=True)
        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.samples: dict[int, list[int]] = {pid: [] for pid in pids}
        self.every = every
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid, proc in self.procs.items():
                try:
                    self.samples[pid].append(proc.memory_info().rss)
                except psutil.Error:
                    pass
            self.stop.wait(self.every)


def pipeline(run, workers: int, out: Path) -> dict:
    t0 = time.perf_counter()
    pool = OfferPool(workers)
    # start every worker (its initializer builds Jinja, fonts and CSS) before timing the run
    pids = sorted(pool.pids())                # the workers, for RSS sampling
    startup = time.perf_counter() - t0
    sampler = RssSampler(pids)
    sampler.start()
    procs = [psutil.Process(pid) for pid in pids]
    cpu = lambda: sum(sum(p.cpu_times()[:2]) for p in procs)  # noqa: E731  user + system of the workers
    try:
        t0, c0, p0 = time.perf_counter(), cpu(), time.process_time()
        offers = render_offers(run.accounts, run.results, run.scenarios, run.segments, run.playbooks,
                               run.assumptions, run.run_id, run.rules_version, out, None, pool=pool,
                               issue_date=DAY)
        wall = time.perf_counter() - t0
        cpu_used = cpu() - c0 + time.process_time() - p0     # workers + this (planning) process
    finally:
        sampler.stop.set()
        sampler.join()
        pool.close()
    rendered = offers.filter(offers["status"] == "rendered")
    if rendered.height < offers.height:
        first = offers.filter(offers["status"] == "failed").row(0, named=True)
        print(f"  {offers.height - rendered.height} offers failed, e.g. {first['account_id']}: {first['error']}")
    if rendered.height == 0:
        raise SystemExit("no offer rendered")
    mem = {}
    for pid, s in sampler.samples.items():
        if len(s) >= 8:   # medians of the first and the last quarter of the run: steady state, not one document's peak
            q = len(s) // 4
            mem[pid] = {"first_mib": statistics.median(s[:q]) / 2**20, "last_mib": statistics.median(s[-q:]) / 2**20,
                        "peak_mib": max(s) / 2**20}
    return {"workers": workers, "docs": offers.height, "failed": offers.height - rendered.height,
            "wall_s": wall, "docs_per_s": offers.height / wall, "startup_s": startup,
            "cpu_s_per_doc": cpu_used / offers.height,
            "median_kb": rendered["bytes"].median() / 1024, "max_kb": rendered["bytes"].max() / 1024,
            "pages": rendered["pages"].value_counts().sort("pages").rows(), "rss": mem}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="folder for the PDFs (default: a temporary one)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    run = demo_run(n=max(0, args.docs - 4))
    base = args.out or Path(tempfile.mkdtemp(prefix="render-bench-"))
    jobs, t_plan = plan_jobs(run, base / "plan")
    print(f"{len(jobs)} documents; cpu count {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")

    alone, pipes = [], {w: [] for w in args.workers}
    for rep in range(args.repeat):
        alone.append(weasyprint_alone(jobs))
        for w in args.workers:
            pipes[w].append(pipeline(run, w, base / f"r{rep}-w{w}"))

    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    a_rate = med(alone, "docs_per_s")
    print("\nper document (one process, warm):")
    print(f"  offer content + hash   {t_plan / len(jobs) * 1000:8.1f} ms")
    print(f"  Jinja                  {med(alone, 'jinja_s_per_doc') * 1000:8.1f} ms")
    print(f"  WeasyPrint layout      {med(alone, 'layout_s_per_doc') * 1000:8.1f} ms")
    print(f"  WeasyPrint PDF + fonts {med(alone, 'write_s_per_doc') * 1000:8.1f} ms")
    a_cpu = med(alone, "cpu_s_per_doc")
    print(f"\nWeasyPrint alone (same HTML, 1 process): {a_rate:.2f} docs/s, {a_cpu * 1000:.0f} ms CPU per document")
    one = med(pipes[args.workers[0]], "docs_per_s")
    report = {"docs": len(jobs), "weasyprint_alone": alone, "pipeline": pipes, "plan_s": t_plan}
    for w in args.workers:
        rows = pipes[w]
        rate = med(rows, "docs_per_s")
        line = f"pipeline, {w} process{'es' if w > 1 else '  '}: {rate:.2f} docs/s"
        line += f", {med(rows, 'cpu_s_per_doc') * 1000:.0f} ms CPU per document"
        if w == 1:
            line += (f"  overhead vs WeasyPrint alone: wall {(a_rate / rate - 1) * 100:+.1f}%, "
                     f"CPU {(med(rows, 'cpu_s_per_doc') / a_cpu - 1) * 100:+.1f}%")
        else:
            line += f"  speed-up vs {args.workers[0]} process: {rate / one:.2f}x"
        line += f"  (pool start {med(rows, 'startup_s'):.1f} s, not counted; failed {rows[-1]['failed']})"
        print(line)
        for pid, m in rows[-1]["rss"].items():
            print(f"    worker {pid}: RSS median {m['first_mib']:.0f} MiB in the first quarter of the run, "
                  f"{m['last_mib']:.0f} MiB in the last (peak {m['peak_mib']:.0f})")
    last = pipes[args.workers[0]][-1]
    print(f"\nPDF size: median {last['median_kb']:.0f} KB, max {last['max_kb']:.0f} KB; pages {last['pages']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
