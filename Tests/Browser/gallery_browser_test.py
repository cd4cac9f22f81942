#!/usr/bin/env python3
"""The gallery of `photoseal serve` in Chromium, driven by Selenium (started by scripts/browser-test.sh).

Usage: gallery_browser_test.py BASE_URL SCREENSHOT_DIR

Checks, as a person would see them: the grid shows thumbnails; a country and a score slider
narrow the count and the grid; the photo view opens and moves with the arrow keys and closes
with Esc; the table sorts; the map shows clusters and a click on one shows its photos in the
grid, over basemap tiles (serve --tiles) with the file's attribution shown as text; the request
form (linked from the page) refuses a bad request field by field, keeping the
values given, and records a good one as a job whose page shows it queued. Every request the
browser made must stay on 127.0.0.1. Prints "browser checks: N ok, N failed".
"""
import json
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

BASE, SHOTS = sys.argv[1].rstrip("/"), sys.argv[2]
passed, failed = 0, 0


def check(condition, what):
    global passed, failed
    if condition:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)


def wait(driver, predicate, what, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if predicate():
                return True
        except Exception:  # the page may be re-rendering
            pass
        time.sleep(0.1)
    check(False, "waited for " + what)
    return False


def total(driver):
    return int(driver.find_element(By.ID, "count").get_attribute("data-total") or -1)


def cards(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#grid .card")


def api(driver, path):
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.json()).then(done, e => done({error: String(e)}));", path)


def main():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(20)
    try:
        run(driver)
        requests, tiles = [], []
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                requests.append(message["params"]["request"]["url"])
            elif message.get("method") == "Network.responseReceived":
                response = message["params"]["response"]
                if "/tiles/" in response["url"]:
                    tiles.append((response["url"], response["status"], response.get("mimeType")))
        loaded = [t for t in tiles if t[1] == 200 and t[2] == "image/png"]
        check(loaded and len(loaded) == len(tiles),
              "the map loaded %d basemap tiles from this server, none refused (%s)" % (len(loaded), tiles[:3]))
        foreign = [u for u in requests
                   if not (u.startswith("http://127.0.0.1:") or u.startswith("data:") or u.startswith("about:"))]
        check(len(requests) > 10 and not foreign,
              "all %d requests stayed on 127.0.0.1 (others: %s)" % (len(requests), foreign[:5]))
        # The refused form post is answered 400 on purpose; Chromium logs that as an error.
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                  and not ("/request" in e["message"] and "400" in e["message"])]
        check(not errors, "no errors in the browser console: %s" % errors[:3])
    finally:
        driver.quit()
    print("browser checks: %d ok, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def run(driver):
    driver.get(BASE + "/")
    wait(driver, lambda: total(driver) > 0 and len(cards(driver)) == total(driver), "the grid")
    everything = total(driver)
    check(everything == 5, "the grid counts the 5 photos (%d)" % everything)
    wait(driver, lambda: all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i)
                             for i in driver.find_elements(By.CSS_SELECTOR, "#grid .card img")), "thumbnails")
    shown = [driver.execute_script("return arguments[0].naturalWidth", i)
             for i in driver.find_elements(By.CSS_SELECTOR, "#grid .card img")]
    check(len(shown) >= 4 and all(0 < w <= 320 for w in shown), "the grid shows thumbnails, not originals: %s" % shown)
    driver.save_screenshot(SHOTS + "/grid.png")

    # A country: the count and the grid narrow, and the URL keeps the filter.
    driver.find_element(By.CSS_SELECTOR, "input[data-facet='cc'][value='IT']").click()
    wait(driver, lambda: total(driver) == 4 and len(cards(driver)) == 4, "the country filter")
    check("cc=IT" in driver.current_url, "the country filter is in the URL")

    # A score slider: the count follows the photos whose score reaches it.
    page = api(driver, "/api/photos?cc=IT&limit=500")
    labels = sorted({label for p in page["photos"] for label in p["scores"]})
    check(bool(labels), "the scored photos have labels: %s" % labels)
    if labels:
        label = max(labels, key=lambda l: sum(1 for p in page["photos"] if l in p["scores"]))
        values = sorted(p["scores"][label] for p in page["photos"] if label in p["scores"])
        threshold = values[-1]
        expected = sum(1 for v in values if v >= round(threshold, 2))
        slider = driver.find_element(By.CSS_SELECTOR, ".score-slider[data-label='%s']" % label)
        driver.execute_script(
            "arguments[0].step = 'any'; arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input')); arguments[0].dispatchEvent(new Event('change'));",
            slider, str(round(threshold, 2)))
        wait(driver, lambda: total(driver) == expected and len(cards(driver)) == expected, "the score filter")
        check(total(driver) == expected and expected < 4 or len(set(values)) == 1,
              "the %s slider at %.2f leaves %d photos" % (label, threshold, expected))
        check(urllib.parse.quote("score." + label) in driver.current_url or ("score." + label) in driver.current_url,
              "the score filter is in the URL")
        driver.save_screenshot(SHOTS + "/filters.png")
        driver.back()
        wait(driver, lambda: total(driver) == 4 and len(cards(driver)) == 4, "going back to the country filter")

    # The photo view: arrows move, Esc closes.
    ids = [c.get_attribute("data-id") for c in cards(driver)]
    cards(driver)[0].click()
    viewer = driver.find_element(By.ID, "viewer")
    wait(driver, lambda: viewer.is_displayed() and viewer.get_attribute("data-id") == ids[0], "the photo view")
    wait(driver, lambda: driver.execute_script("return document.getElementById('viewer-img').naturalWidth") > 0,
         "the large image")
    driver.save_screenshot(SHOTS + "/photo.png")
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT)
    wait(driver, lambda: viewer.get_attribute("data-id") == ids[1], "ArrowRight to the next photo")
    body.send_keys(Keys.ARROW_LEFT)
    wait(driver, lambda: viewer.get_attribute("data-id") == ids[0], "ArrowLeft back")
    body.send_keys(Keys.ESCAPE)
    wait(driver, lambda: not viewer.is_displayed(), "Esc closes the photo view")
    check(not viewer.is_displayed(), "the photo view opened, moved and closed")

    # The table: sortable by a column.
    driver.find_element(By.ID, "tab-table").click()
    wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#table tbody tr")) == 4, "the table")
    driver.find_element(By.CSS_SELECTOR, "#table th[data-sort='title']").click()
    wait(driver, lambda: "sort=title" in driver.current_url and
         driver.find_elements(By.CSS_SELECTOR, "#table th.sorted-asc[data-sort='title']"), "sorting the table")
    check(driver.find_element(By.ID, "download-csv").get_attribute("href").find("cc=IT") > 0,
          "the CSV download carries the filter")
    driver.save_screenshot(SHOTS + "/table.png")

    # The map: clusters; a click on one shows its photos in the grid.
    driver.get(BASE + "/?view=map")
    wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, ".marker-cluster"), "map clusters")
    time.sleep(1.0)  # fitBounds animates; clusters are redrawn until it ends
    clusters = driver.find_elements(By.CSS_SELECTOR, ".marker-cluster")
    check(len(clusters) >= 1, "the map shows clusters (%d)" % len(clusters))
    # The basemap (serve --tiles): tiles drawn under the outlines, the file's attribution as text.
    wait(driver, lambda: driver.execute_script(
        "return [...document.querySelectorAll('img.leaflet-tile')].some(i => i.complete && i.naturalWidth === 256)"),
        "basemap tiles")
    attribution = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-attribution")
    check(attribution and "© photoseal test tiles" in attribution[0].text
          and not attribution[0].find_elements(By.CSS_SELECTOR, "a, img"),
          "the basemap's attribution shows as text: %r" % (attribution[0].text if attribution else None))
    driver.save_screenshot(SHOTS + "/map.png")
    if clusters:
        size = int(clusters[0].text.strip() or 0)
        clusters[0].click()
        wait(driver, lambda: "bbox=" in driver.current_url and "view=grid" in driver.current_url, "the cluster click")
        wait(driver, lambda: total(driver) == size and len(cards(driver)) == size, "the cluster's photos")
        check(total(driver) == size and size > 1, "the cluster's %d photos fill the grid" % size)
        driver.save_screenshot(SHOTS + "/cluster.png")


    request_form(driver)


def request_form(driver):
    """The request form: a refused post shows the problems by field, a good one becomes a job."""
    driver.get(BASE + "/")
    wait(driver, lambda: driver.find_element(By.ID, "request-link").is_displayed(), "the request link")
    driver.find_element(By.ID, "request-link").click()
    wait(driver, lambda: driver.find_elements(By.ID, "request-form"), "the request form")

    def fill(values):
        for name, value in values.items():
            field = driver.find_element(By.ID, name)
            field.clear()
            if value:
                field.send_keys(value)

    fill({"terms": "", "bbox": "5,35,20", "images": "12", "email": "browser.test@example.org"})
    driver.find_element(By.ID, "submit").click()
    wait(driver, lambda: driver.find_elements(By.ID, "terms-error"), "the refused request")
    shown = {e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, ".field-error")}
    check(shown == {"terms-error", "bbox-error"}, "the refused request names the bad fields only: %s" % sorted(shown))
    check(driver.find_element(By.ID, "email").get_attribute("value") == "browser.test@example.org"
          and driver.find_element(By.ID, "images").get_attribute("value") == "12",
          "the refused request keeps the values given")
    driver.save_screenshot(SHOTS + "/request-refused.png")

    fill({"terms": "monkey, sea", "bbox": "5,35,20,48"})
    driver.find_element(By.ID, "submit").click()
    wait(driver, lambda: "/request/" in driver.current_url, "the recorded request's page")
    job_id = driver.current_url.rsplit("/", 1)[-1]
    check(driver.find_element(By.ID, "job-state").text == "queued", "the request's page shows it queued")
    job = api(driver, "/api/job?id=" + job_id)
    check(job.get("state") == "queued" and job.get("terms") == ["monkey", "sea"] and job.get("limit") == 12
          and [e["step"] for e in job.get("log", [])] == ["queued"], "the job is recorded: %s" % job)
    check("browser.test@example.org" not in driver.page_source, "the request's page does not show the address")
    driver.save_screenshot(SHOTS + "/request-recorded.png")


if __name__ == "__main__":
    main()
