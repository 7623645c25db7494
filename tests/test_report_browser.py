"""The report in a real headless browser: Debian's chromium driven through chromedriver by Selenium.

Checks what a reader sees: the page loads without console errors, every section heading is there,
every figure renders with a non-zero size, and the page makes no request outside its own file.
Skipped, with a message, only when no browser (or Selenium) is installed.
"""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("matplotlib")
webdriver = pytest.importorskip("selenium.webdriver", reason="Selenium is not installed (pip install selenium)")

from cli import cli  # noqa: E402

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
#: The sections the report must have (the list of the report's specification).
HEADINGS = ["Summary", "The network", "Contagion hubs", "Stress scenarios", "Supervisory metrics",
            "Liquidation curves", "Concentration", "Data and provenance", "Method notes and references"]

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no browser installed: apt-get install -y chromium chromium-driver (as .ci/run does)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    out = tmp_path_factory.mktemp("browser") / "report"
    result = CliRunner().invoke(cli, ["report", str(GRAPHS / "defi.json"), str(GRAPHS / "scenarios.json"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path_factory.mktemp('profile')}", "--window-size=1280,2000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.get((out / "report.html").as_uri())
        yield driver, out
    finally:
        driver.quit()


def test_no_console_errors(page):
    driver, _ = page
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def test_every_section_heading_present(page):
    driver, _ = page
    headings = [h.text for h in driver.find_elements("tag name", "h2")]
    for heading in HEADINGS:
        assert heading in headings


def test_every_image_renders(page):
    driver, _ = page
    sizes = driver.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
        " i.getBoundingClientRect().width, i.getBoundingClientRect().height, i.alt]);")
    assert sizes, "the report has figures"
    for complete, nw, nh, w, h, alt in sizes:
        assert complete and nw > 0 and nh > 0 and w > 0 and h > 0, alt
        assert alt


def test_no_external_requests(page):
    driver, out = page
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    assert [u for u in urls if not u.startswith(("data:", "file:"))] == []
    assert driver.current_url == (out / "report.html").as_uri()
