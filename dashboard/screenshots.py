"""Screenshots of every dashboard page in headless chromium (1400×900), for ``docs/dashboard/``.

    python -m dashboard.screenshots http://127.0.0.1:8501 docs/dashboard
"""
from __future__ import annotations

import sys
from pathlib import Path

from dashboard.browser import Browser

# url path -> (file name, text that is on the page once it is drawn)
PAGES = {
    "": ("overview", "本次运行情况"),          # the default page lives at /
    "opportunities": ("opportunities", ("报价单 PDF", "没有光伏有收益")),
    "regions": ("regions", ("各省明细", "当前筛选下没有客户")),
    "segment-changes": ("segment_changes", ("客户明细", "还没有可比较的上一次运行", "没有客户改变细分")),
    "conversion": ("conversion", ("客户经理拨打清单", "还没有闭环数据", "还没有线索评分")),
}


def take(base_url: str, folder: Path, width: int = 1400, height: int = 900) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with Browser(width, height) as browser:
        for path, (name, text) in PAGES.items():
            browser.goto(f"{base_url.rstrip('/')}/{path}")
            browser.wait_until_done(text, timeout=180, settle=1.5)
            if browser.error_boxes():
                raise RuntimeError(f"{path}: the page shows an error")
            target = folder / f"{name}.png"
            browser.screenshot(target)
            written.append(target)
    return written


if __name__ == "__main__":
    for p in take(sys.argv[1], Path(sys.argv[2])):
        print(p)
