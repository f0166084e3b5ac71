"""Review before import: the page a build writes, the API that keeps decisions, decisions
that survive regeneration, and the page in a real browser (headless Chromium)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner

from flashgen.cli import main
from flashgen.ledger import Ledger
from flashgen.review import DATA_NAME, PAGE_NAME, ReviewServer

from .fake_openai import FakeOpenAI
from .helpers import basic, build, mods, pasted

KAFKA = "Kafka по умолчанию хранит сообщения 168 часов, то есть 7 дней."
SEGMENT = "Размер сегмента лога в Kafka по умолчанию равен 1 ГБ."
HOSTILE = (
    'Тег <script>window.__pwned = 1</script> и <img src=x onerror="window.__pwned = 2"> '
    "рядом с фактом: Kafka держит 3 реплики каждой партиции по умолчанию."
)


def _build(source: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, ["build", str(source), *extra])
    assert result.exit_code == 0, result.output


def _notes(apkg: Path, tmp_path: Path) -> dict[str, str]:
    """GUID → first field of every note in a package."""
    import sqlite3
    import zipfile

    target = tmp_path / f"unpacked-{time.monotonic_ns()}"
    with zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", target)
    conn = sqlite3.connect(target / "collection.anki2")
    try:
        return {
            guid: flds.split("\x1f")[0]
            for guid, flds in conn.execute("select guid, flds from notes")
        }
    finally:
        conn.close()


@pytest.fixture
def built(tmp_path: Path) -> Path:
    source = pasted(tmp_path / "posts.txt", [KAFKA, SEGMENT, HOSTILE], channel="Data Notes")
    _build(source)
    return source


@pytest.fixture
def server(built: Path) -> Iterator[ReviewServer]:
    review = ReviewServer(Path("decks"))
    thread = threading.Thread(target=review.serve_forever, daemon=True)
    thread.start()
    yield review
    review.shutdown()
    review.server_close()


def _call(
    server: ReviewServer,
    method: str,
    path: str,
    body: object = None,
    *,
    token: str | None = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, object]:
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token or server.token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=payload, headers=sent)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode()


def _cards(server: ReviewServer) -> list[dict]:  # type: ignore[type-arg]
    status, data = _call(server, "GET", "/api/cards")
    assert status == 200
    return data["cards"]  # type: ignore[index]


# --- the page a build writes -------------------------------------------------------------


def test_a_build_writes_a_page_that_needs_no_network(built: Path) -> None:
    page = (Path("decks") / PAGE_NAME).read_text(encoding="utf-8")
    data = json.loads((Path("decks") / DATA_NAME).read_text(encoding="utf-8"))
    assert data["decks"] and all(
        card["guid"] for card in data["cards"] if card["status"] == "exported"
    )
    # Self-contained: nothing is fetched from anywhere (no src=, no stylesheet link).
    assert " src=" not in page.split('id="data"')[0] and "<link" not in page
    # The post's markup is data, never markup: only the page's own two script elements.
    assert page.count("<script") == 2 and "window.__pwned = 1</script>" not in page
    assert "\\u003cscript\\u003e" in page
    # Both are written in one pass, a card at a time: the page holds the same data, less
    # the ledger's path.
    embedded = page.split('id="data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded) == {k: v for k, v in data.items() if k != "ledger"}
    assert data["ledger"] and data["cards"]


def test_review_data_with_no_cards_is_still_a_document(tmp_path: Path) -> None:
    from flashgen.review import page_html, write_review

    data = {"version": 1, "built": 0, "ledger": None, "decks": {}, "cards": iter([])}
    write_review(tmp_path, data)
    assert json.loads((tmp_path / DATA_NAME).read_text(encoding="utf-8"))["cards"] == []
    assert '"cards": []' in page_html({"cards": []})


# --- the API -----------------------------------------------------------------------------


def test_every_call_needs_the_token_from_this_machine(server: ReviewServer) -> None:
    assert _call(server, "GET", "/api/cards", token=None)[0] == 401
    assert _call(server, "GET", "/api/cards", token="wrong")[0] == 401
    port = server.server_address[1]
    rebinding = {"Host": f"evil.example:{port}"}
    assert _call(server, "GET", "/api/cards", headers=rebinding)[0] == 403
    guid = quote(_cards(server)[0]["guid"], safe="")
    other_site = {"Origin": "http://evil.example"}
    assert (
        _call(server, "POST", f"/api/cards/{guid}", {"decision": "reject"}, headers=other_site)[0]
        == 403
    )
    assert _call(server, "POST", f"/api/cards/{guid}", {"decision": "reject"}, token=None)[0] == 401
    assert _call(server, "GET", "/?token=wrong", token=None)[0] == 401
    assert _call(server, "GET", f"/?token={server.token}", token=None)[0] == 200
    # Nothing was decided by any of the refused calls.
    with Ledger(server.data["ledger"]) as book:
        assert book.decisions() == {}


def test_bad_decisions_are_refused_with_a_reason(server: ReviewServer) -> None:
    card = next(c for c in _cards(server) if c["kind"] == "cloze")
    path = f"/api/cards/{quote(card['guid'], safe='')}"
    assert _call(server, "POST", path, {"decision": "maybe"})[0] == 400
    status, reply = _call(server, "POST", path, {"decision": "edit", "question": "{{c1::"})
    assert status == 400 and "error" in reply  # type: ignore[operator]
    assert _call(server, "POST", "/api/cards/nope", {"decision": "reject"})[0] == 404
    text = {"Content-Type": "text/plain"}
    assert _call(server, "POST", path, {"decision": "reject"}, headers=text)[0] == 415


def test_decisions_survive_regeneration_under_their_guids(
    server: ReviewServer, built: Path, tmp_path: Path
) -> None:
    exported = [c for c in _cards(server) if c["status"] == "exported"]
    rejected, edited = exported[0], exported[1]
    assert _call(server, "POST", f"/api/cards/{quote(rejected['guid'], safe='')}",
                 {"decision": "reject"})[0] == 200  # fmt: skip
    new_text = edited["question"].replace("Kafka", "Apache Kafka", 1)
    change = {"decision": "edit", "question": new_text, "extra": "моя заметка"}
    status, reply = _call(server, "POST", f"/api/cards/{quote(edited['guid'], safe='')}", change)
    assert status == 200 and reply["decision"] == "edit"  # type: ignore[index]

    _build(built)
    notes = _notes(Path("decks/flashgen.apkg"), tmp_path)
    assert rejected["guid"] not in notes
    assert "Apache Kafka" in notes[edited["guid"]]
    report = Path("decks/flashgen.rejected.jsonl").read_text(encoding="utf-8")
    assert "rejected-by-you" in report
    first = mods(Path("decks/flashgen.apkg"), tmp_path)[edited["guid"]]
    # Built again, nothing changes: the edit stays, its note's date with it.
    _build(built, "--timestamp", str(int(time.time()) + 1000))
    assert mods(Path("decks/flashgen.apkg"), tmp_path)[edited["guid"]] == first
    assert rejected["guid"] not in _notes(Path("decks/flashgen.apkg"), tmp_path)
    # Undone: «accept» brings the card back under its GUID.
    page = ReviewServer(Path("decks"))
    page.decide(rejected["guid"], {"decision": "accept"})
    page.server_close()
    _build(built)
    assert rejected["guid"] in _notes(Path("decks/flashgen.apkg"), tmp_path)


def test_a_rejected_card_stays_rejected_when_the_model_rewords_it(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    source = pasted(tmp_path / "posts.txt", [KAFKA])
    fake.enqueue(basic("Сколько часов по умолчанию Kafka хранит сообщения?", "168 часов", KAFKA))
    build(fake, source, tmp_path / "out")
    review = ReviewServer(tmp_path / "out")
    (card,) = [c for c in review.data["cards"] if c["status"] == "exported"]
    review.decide(card["guid"], {"decision": "reject"})
    review.server_close()
    asked = fake.count
    # Rebuilt from the cache: the decision applies and the model is not asked.
    build(fake, source, tmp_path / "out")
    assert fake.count == asked
    assert card["guid"] not in _notes(tmp_path / "out" / "flashgen.apkg", tmp_path)
    # The model rewords the card (no cache): the ledger knows it is the same fact.
    fake.enqueue(basic("Сколько часов Kafka хранит сообщения?", "168 часов", KAFKA))
    build(fake, source, tmp_path / "out", "--no-cache")
    assert not _notes(tmp_path / "out" / "flashgen.apkg", tmp_path)
    data = json.loads((tmp_path / "out" / DATA_NAME).read_text(encoding="utf-8"))
    (listed,) = [c for c in data["cards"] if c["guid"] == card["guid"]]
    assert listed["status"] == "rejected" and listed["reasons"] == ["rejected-by-you"]


def test_review_without_a_build_says_so_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["review", "--out", str(tmp_path / "none"), "--no-open"])
    assert result.exit_code == 1
    assert "no build to review here" in result.output and "Traceback" not in result.output


# --- in a real browser -------------------------------------------------------------------


def _chrome():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert binary and driver_path, "browser tests need Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1100,900"):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.mark.browser
def test_the_page_in_a_browser_rejects_edits_and_runs_nothing_of_a_post(
    server: ReviewServer, built: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _chrome()
    try:
        driver.get(server.url)
        wait = WebDriverWait(driver, 10)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.card"))
        # The post's <script> and onerror are shown as text and never run.
        assert driver.execute_script("return window.__pwned") is None
        assert (
            "<script>window.__pwned = 1</script>" in driver.find_element(By.TAG_NAME, "main").text
        )
        body = driver.find_element(By.TAG_NAME, "body")
        cards = [c for c in _cards(server) if c["status"] == "exported"]
        body.send_keys("j")  # the first card
        body.send_keys("r")
        wait.until(lambda d: "rejected" in d.find_element(By.ID, "status").text)
        body.send_keys("j")  # the next one, edited
        body.send_keys("e")
        box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".editor textarea"))
        box.send_keys(Keys.END, " (проверено)")
        box.send_keys(Keys.CONTROL, Keys.ENTER)
        wait.until(lambda d: "saved the edit" in d.find_element(By.ID, "status").text)
        for scheme in ("light", "dark"):
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
            )
            shot = driver.get_screenshot_as_png()
            assert shot.startswith(b"\x89PNG")
            # FLASHGEN_SCREENSHOTS=docs keeps them (docs/review-light.png, -dark.png).
            if os.environ.get("FLASHGEN_SCREENSHOTS"):
                folder = Path(os.environ["FLASHGEN_SCREENSHOTS"])
                (folder / f"review-{scheme}.png").write_bytes(shot)
    finally:
        driver.quit()
    with Ledger(server.data["ledger"]) as book:
        decisions = book.decisions()
    assert decisions[cards[0]["guid"]].decision == "reject"
    assert decisions[cards[1]["guid"]].decision == "edit"
    # The next build lacks the first and carries the second's edit under its old GUID.
    _build(built)
    notes = _notes(Path("decks/flashgen.apkg"), tmp_path)
    assert cards[0]["guid"] not in notes
    assert "(проверено)" in notes[cards[1]["guid"]]
    assert urlsplit(server.url).hostname == "127.0.0.1"


def test_an_edit_that_would_duplicate_another_card_keeps_the_build_whole(tmp_path: Path) -> None:
    two = "Размерность модели d_model равна 512, а число голов внимания равно 8."
    source = pasted(tmp_path / "posts.txt", [two])
    _build(source)
    review = ReviewServer(Path("decks"))
    first, second = [c for c in review.data["cards"] if c["status"] == "exported"]
    review.decide(second["guid"], {"decision": "edit", "question": first["question"]})
    review.server_close()
    result = CliRunner().invoke(main, ["build", str(source)])
    assert result.exit_code == 0, result.output
    assert "would make it another card" in result.stderr
    assert set(_notes(Path("decks/flashgen.apkg"), tmp_path)) == {first["guid"], second["guid"]}


def test_after_a_rebuild_an_edited_card_lists_the_generated_text_beside_the_edit(
    built: Path,
) -> None:
    review = ReviewServer(Path("decks"))
    card = next(c for c in review.data["cards"] if c["status"] == "exported")
    review.decide(card["guid"], {"decision": "edit", "question": card["question"] + " (мой)"})
    review.server_close()
    _build(built)
    again = ReviewServer(Path("decks"))
    listed = next(c for c in again.cards()["cards"] if c["guid"] == card["guid"])
    again.server_close()
    assert listed["question"] == card["question"]  # what «accept» would export
    assert listed["edited"]["question"] == card["question"] + " (мой)"


def test_a_request_the_server_cannot_take_is_answered_not_dropped(server: ReviewServer) -> None:
    guid = quote(_cards(server)[0]["guid"], safe="")
    bad_length = {"Content-Length": "abc"}
    assert (
        _call(server, "POST", f"/api/cards/{guid}", {"decision": "reject"}, headers=bad_length)[0]
        == 400
    )
    deep = {"decision": "reject", "x": json.loads("[" * 50 + "]" * 50)}
    assert _call(server, "POST", f"/api/cards/{guid}", deep)[0] == 200
    # A ledger another process holds locked: 503 with the reason, and the server lives on.
    import sqlite3

    holder = sqlite3.connect(server.data["ledger"], timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        status, reply = _call(server, "POST", f"/api/cards/{guid}", {"decision": "accept"})
    finally:
        holder.rollback()
        holder.close()
    assert status == 503 and "ledger" in reply["error"]  # type: ignore[index]
    assert _call(server, "GET", "/api/cards")[0] == 200


def test_the_server_serves_the_build_made_while_it_runs(
    server: ReviewServer, tmp_path: Path
) -> None:
    before = {c["guid"] for c in _cards(server)}
    source = pasted(
        tmp_path / "more.txt", [KAFKA, "Кластер Kafka держит 12 брокеров в каждой зоне."]
    )
    _build(source)
    assert {c["guid"] for c in _cards(server)} != before
