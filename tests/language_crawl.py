"""Crawls the site as a signed-in member of staff, a citizen or the public, in one language, and
reports every text of a page that belongs to the other language.

English mode: a word with a Vietnamese letter (ă â đ ê ô ơ ư or a tone mark) is a leak unless it
is part of a proper name or a datum (applicant, agency, procedure and fee names, staff names:
taken from the database, ``allowed``). Vietnamese mode: a common English UI word, or a code such
as ``user:ketoan`` or ``reference_partial``, is a leak.
"""
from __future__ import annotations

import re
import unicodedata
from collections import deque
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

VIETNAMESE_LETTERS = set("ăâđêôơưĂÂĐÊÔƠƯ")
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# Words of an English UI that no Vietnamese text has (Vietnamese syllables never end in -s, -d,
# -l, -r or -f, so none of these is a Vietnamese word by accident).
ENGLISH_WORDS = {
    "the", "is", "are", "was", "must", "after", "before", "found", "requested", "error", "errors", "invalid",
    "required", "month", "from", "please", "server", "internal", "not", "none", "true", "false", "null", "submit",
    "cancel", "save", "search", "back", "next", "previous", "download", "export", "status", "amount", "date",
    "user", "password", "login", "logout", "home", "reports", "report", "settings", "open", "closed", "paid",
    "unpaid", "pending", "page", "url", "should", "cannot", "field", "value", "unknown", "missing", "by",
    "matched", "manual", "rule", "confidence", "refund", "refunds", "transaction", "transactions", "day",
    "close", "run", "statement", "statements", "agency", "dossier", "receipt", "receipts", "total", "filter",
}
# Always allowed in English: the currency's name, the language switcher's own name, the
# identifiers of legal documents and forms (``766/QĐ-TTg``, ``BC26/BLĐT``) and masked names.
ALWAYS_ALLOWED = ["Tiếng Việt"]
ALLOWED_WORDS = {"đồng"}
IDENTIFIER = re.compile(r"\S*\d\S*/\S+|\b\w+\*+")
CODE = re.compile(r"\b(?:user|rule|cli|portal):[\w.-]+|\b[a-z]+_[a-z]+(?:_[a-z]+)*\b")
SKIP_PATHS = ("/api/docs", "/logout", "/lang/", "/callbacks/", "/api/", "/metrics", "/readyz", "/healthz", "/static/",
              "/simulator", "/bank/")
SKIP_SUFFIXES = (".pdf", ".png", ".svg", ".csv", ".xlsx", ".json", ".txt", ".ics")


def is_vietnamese(word: str) -> bool:
    if any(c in VIETNAMESE_LETTERS for c in word):
        return True
    return any(c in TONE_MARKS for c in unicodedata.normalize("NFD", word))


def visible_text(document, locale: str | None = None) -> list[str]:
    """The texts a person reads: element text, titles, placeholders, labels of controls. An
    element that declares its own language (``lang="en"`` on a verbatim technical record) is
    read as that language, not the page's."""
    for bad in document.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    if locale:
        for other in document.xpath(f"//body//*[@lang and @lang != '{locale}']"):
            other.drop_tree()
    # Code and data shown as they are (a JSON payload, a command line) are in no language.
    for verbatim in document.xpath("//body//*[@translate='no']"):
        verbatim.drop_tree()
    texts = [t for t in document.xpath("//body//text()") if t.strip()]
    texts += document.xpath("//title/text()")
    for attribute in ("title", "placeholder", "aria-label", "alt", "data-label"):
        texts += document.xpath(f"//@{attribute}")
    texts += document.xpath("//input[@type='submit' or @type='button']/@value")
    return [" ".join(t.split()) for t in texts]


def strip_allowed(text: str, allowed: list[str]) -> str:
    for name in allowed:
        if name and name in text:
            text = text.replace(name, " ")
    for name in ALWAYS_ALLOWED:
        text = text.replace(name, " ")
    return IDENTIFIER.sub(" ", text)


def leaks(texts: list[str], locale: str, allowed: list[str]) -> list[str]:
    found = []
    for text in texts:
        rest = strip_allowed(text, allowed)
        if locale == "en":
            words = [w for w in re.findall(r"\w+", rest) if is_vietnamese(w) and w.lower() not in ALLOWED_WORDS]
        else:
            words = [w for w in re.findall(r"[A-Za-z]+", rest) if w.lower() in ENGLISH_WORDS and not w.isupper()]
            words += CODE.findall(rest)
        if words:
            found.append(f"{' '.join(sorted(set(words)))!s}  «{text[:120]}»")
    return found


def crawl(client, start: list[str], locale: str, allowed: list[str], *, limit: int = 400,
          pages: list[str] | None = None) -> dict[str, list[str]]:
    """{url: [leaks]} for every HTML page reachable from ``start`` on this site (GET links only);
    the HTML pages read are appended to ``pages``."""
    allowed = sorted(set(allowed), key=len, reverse=True)
    seen, queue, problems, shapes = set(), deque(start), {}, {}
    while queue and len(seen) < limit:
        url = queue.popleft()
        key = urlsplit(url)._replace(fragment="").geturl()
        if key in seen:
            continue
        seen.add(key)
        # Pages of one shape (a dossier, a day, a filter's variants) say the same words: a few
        # of each are enough, and the start pages are always visited.
        shape = re.sub(r"\d+", "0", urlsplit(key).path)
        shapes[shape] = shapes.get(shape, 0) + 1
        if shapes[shape] > 3 and url not in start:
            continue
        response = client.get(key)
        if response.status_code in (301, 302, 303, 307, 308):
            queue.append(urlsplit(response.headers["Location"])._replace(scheme="", netloc="").geturl())
            continue
        if "text/html" not in response.content_type:
            continue
        body = response.get_data(as_text=True)
        if pages is not None:
            pages.append(key)
        document = lxml_html.fromstring(body)
        for href in document.xpath("//a/@href"):
            target = urlsplit(urljoin(key, href))
            if target.netloc and target.netloc != "localhost":
                continue
            path = target.path
            if path.startswith(SKIP_PATHS) or path.endswith(SKIP_SUFFIXES):
                continue
            link = path + (f"?{target.query}" if target.query else "")
            if "lang=" in link:
                continue
            queue.append(link)
        found = leaks(visible_text(document, locale), locale, allowed)
        if found:
            problems[f"{key} [{response.status_code}]"] = found
    return problems
