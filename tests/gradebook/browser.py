"""Open a page in headless Chromium: did it render, did its images load, any console message?

Drives Debian's ``chromium`` from the command line: a probe script injected into a copy of the
page marks, on ``load``, how many images there are and how many failed to decode; ``--dump-dom``
returns the DOM with that mark; console messages come back on stderr as ``INFO:CONSOLE`` lines
(the pages have no script of their own, so any console line is a fault).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length;
  document.documentElement.setAttribute('data-probe', 'images=' + imgs.length + ' broken=' + broken);
});
</script>"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=5000"]


@dataclass(frozen=True)
class Rendered:
    dom: str
    images: int
    broken: int
    console: list[str]


def find_chromium() -> str | None:
    """The chromium binary; tries ``apt-get install chromium`` once when root and it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found or not shutil.which("apt-get") or not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid():
        return found
    subprocess.run("apt-get update -qq && apt-get install -y -qq chromium", shell=True, capture_output=True,
                   timeout=900, check=False)
    return shutil.which("chromium")


def _run(chromium: str, profile: Path, extra: list[str], url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *extra, url], capture_output=True,
                          text=True, timeout=120, check=False)


def render(chromium: str, page: Path, scratch: Path, screenshot: Path | None = None) -> Rendered:
    """Load a probed copy of ``page`` (same folder, so relative links resolve) and report."""
    probed = page.with_name(f".probe-{page.name}")
    probed.write_text(page.read_text(encoding="utf-8").replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    try:
        run = _run(chromium, scratch / "profile", ["--dump-dom"], probed.as_uri())
        if screenshot is not None:
            _run(chromium, scratch / "profile-shot", ["--window-size=1100,1800", f"--screenshot={screenshot}"],
                 page.as_uri())
    finally:
        probed.unlink()
    mark = re.search(r'data-probe="images=(\d+) broken=(\d+)"', run.stdout)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(run.stdout, int(mark.group(1)) if mark else -1, int(mark.group(2)) if mark else -1, console)
