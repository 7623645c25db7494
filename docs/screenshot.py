"""Screenshots of reports for the docs, taken with the browser of the report's browser test.

    python3 docs/screenshot.py REPORT_DIR OUT.png [--height PIXELS]

Opens REPORT_DIR/report.html in Debian's headless chromium (through chromedriver and Selenium, as
tests/test_report_browser.py does) at 1280 pixels wide and saves the top of the page as a PNG.
"""

import argparse
import pathlib
import shutil
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=pathlib.Path)
    parser.add_argument("png", type=pathlib.Path)
    parser.add_argument("--height", type=int, default=1600)
    args = parser.parse_args()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    with tempfile.TemporaryDirectory() as profile:
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", f"--window-size=1280,{args.height}", "--hide-scrollbars"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            driver.get((args.report.resolve() / "report.html").as_uri())
            driver.save_screenshot(str(args.png))
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
