#!/usr/bin/python3
"""The reset web pages in a real browser: Debian's chromium, headless,
driven through /usr/bin/chromedriver by Debian's python3-selenium.

Run by tests/web_browser.sh (which starts the test-bed and mailotpd);
not meant to be run alone.  Speaks a line protocol on stdout, one record
a line, fields separated by a TAB, which the shell turns into TAP:

  ok<TAB>NAME            a passed check
  not ok<TAB>NAME        a failed check
  diag<TAB>TEXT          a comment (diagnostics)
  bind<TAB>LOGIN<TAB>PW  LOGIN's password is now PW: the shell proves it
                         with ldapwhoami (and that the old one is refused)
  bail<TAB>REASON        nothing more can be checked

Scenarios: en (alice), ja (hanako, with Accept-Language ja), a mismatched
e-mail confirmation.  Every page seen is written as a PNG to --shots.
"""
import argparse
import base64
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "testbed"))
import mailtool  # noqa: E402  (tests/testbed/mailtool.py: the sink's mail)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Seconds for a page or a mail. Generous: waiting costs nothing when all
# is well, and CI runs this beside other tests under ASan on two CPUs.
WAIT = 60

# What is known to work with Debian's chromium on these machines: without
# the background-networking flags its own connections are refused by the
# closed network, many at a time.
CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1000,800",
]

# New passwords: 3+ kinds, 10+ characters, no part of the accounts' names
# or addresses, not a padded dictionary word.
NEW_PW = {"alice": "Tulip-Harbor-73!", "hanako": "Kumo7-Sora#Mizu"}
WEAK_PW = "abc12"  # too short and only 2 kinds


def out(*fields):
    print("\t".join(str(f).replace("\t", " ").replace("\n", " ") for f in fields),
          flush=True)


def diag(text):
    for line in str(text).splitlines() or [""]:
        out("diag", line)


def check(cond, name, detail=None):
    out("ok" if cond else "not ok", name)
    if not cond and detail is not None:
        diag("  " + str(detail))
    return bool(cond)



def replaced(html):
    """True once the <html> element of the page before is gone.

    EC.staleness_of catches only StaleElementReferenceException; when the
    navigation lands in the middle of its check, chromedriver answers
    "unknown error: unhandled inspector error: ... Node with given id does
    not belong to the document" instead (seen under ASan in CI). That, too,
    means the old document was replaced; any other error still fails.
    """
    try:
        html.is_enabled()
        return False
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise

class Bail(Exception):
    pass


class Browser:
    """One headless chromium with its own fresh profile."""

    def __init__(self, lang, profile_root):
        self.lang = lang
        self.profile = tempfile.mkdtemp(prefix="chromium-%s." % lang, dir=profile_root)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for f in CHROME_FLAGS:
            opts.add_argument(f)
        opts.add_argument("--user-data-dir=" + self.profile)
        opts.add_argument("--lang=" + lang)
        opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
        # the HTTP status of each page, read from the performance log
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        log = os.path.join(profile_root, "chromedriver-%s.log" % lang)
        try:  # selenium >= 4.11 (log_path is gone in 4.14)
            self.service = Service(CHROMEDRIVER, log_output=log)
        except TypeError:  # Debian 12's 4.8
            self.service = Service(CHROMEDRIVER, log_path=log)
        self.d = webdriver.Chrome(service=self.service, options=opts)
        self.d.set_page_load_timeout(WAIT)
        self.statuses = {}

    def quit(self):
        try:
            self.d.quit()
        except Exception as e:  # noqa: BLE001 - the browser may be gone already
            diag("driver.quit: %s" % e)

    def _drain_log(self):
        try:
            entries = self.d.get_log("performance")
        except WebDriverException:
            return
        for e in entries:
            try:
                m = json.loads(e["message"])["message"]
            except (KeyError, ValueError):
                continue
            if m.get("method") != "Network.responseReceived":
                continue
            p = m["params"]
            if p.get("type") == "Document":
                r = p["response"]
                self.statuses[r["url"]] = (r["status"], r.get("headers", {}),
                                           r.get("requestHeaders", {}))
                self.last = (r["url"], r["status"], r.get("headers", {}))

    def last_status(self):
        """(url, status, headers) of the newest document response."""
        self.last = (None, None, {})
        self._drain_log()
        return self.last

    def get(self, url):
        self.d.get(url)
        self.settle()

    def submit(self, button_css="form button[type=submit]"):
        """Click the form's button and wait for the next page."""
        html = self.d.find_element(By.TAG_NAME, "html")
        self.d.find_element(By.CSS_SELECTOR, button_css).click()
        WebDriverWait(self.d, WAIT).until(lambda _: replaced(html))
        self.settle()

    def settle(self):
        """Wait until the new document is complete and its <main> is there.

        Under load Chromium can report readyState of a document that is
        then replaced, and a handle taken too early goes stale ("node does
        not belong to the document"): also wait for two readings of the
        same <main> a moment apart."""
        def stable(d):
            try:
                if d.execute_script("return document.readyState") != "complete":
                    return False
                m1 = d.find_element(By.TAG_NAME, "main")
                time.sleep(0.15)
                m2 = d.find_element(By.TAG_NAME, "main")
                return m1.id == m2.id and m2.is_displayed()
            except WebDriverException:
                return False
        WebDriverWait(self.d, WAIT).until(stable)

    def fill(self, name, value):
        el = self.d.find_element(By.NAME, name)
        el.clear()
        el.send_keys(value)
        return el

    def text(self, css):
        try:
            return self.d.find_element(By.CSS_SELECTOR, css).text
        except NoSuchElementException:
            return None

    def h1(self):
        return self.text("h1")

    def html_lang(self):
        return self.d.find_element(By.TAG_NAME, "html").get_attribute("lang")

    def label_of(self, name):
        """The text of the <label for=NAME> (the visible label of the field)."""
        try:
            return self.d.find_element(By.CSS_SELECTOR, 'label[for="%s"]' % name).text
        except NoSuchElementException:
            return None

    def shot(self, shots, name):
        """The whole page (not only the window) as shots/NAME.png."""
        path = os.path.join(shots, "%s.png" % name)
        try:
            png = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True})["data"]
            with open(path, "wb") as f:
                f.write(base64.b64decode(png))
        except (WebDriverException, KeyError, OSError) as e:
            diag("screenshot %s failed (%s), taking the window only" % (path, e))
            self.d.save_screenshot(path)
        return path


def wait_mail(maildir, addr, count_before):
    """The newest message to addr, once there are more than count_before."""
    def attempt():
        msgs = mailtool.for_addr(maildir, addr)
        return msgs[-1] if len(msgs) > count_before else None
    return mailtool.poll(WAIT, attempt)


def link_in(body, public_url):
    for m in re.finditer(r"https?://[^\s<>\"']+", body):
        if m.group(0).startswith(public_url.rstrip("/") + "/reset?"):
            return m.group(0)
    return None


def has_japanese(s):
    return s is not None and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", s) is not None


# --------------------------------------------------------------------------
# the texts each language must show (as served by resetd/http_pages.c)

EXPECT = {
    "en": {
        "title_request": "Password reset",
        "label_email": "E-mail address",
        "title_sent": "Check your mail",
        "title_reset": "Set a new password",
        "label_password": "New password",
        "policy_short": "at least 10 characters",
        "policy_classes": "at least 3 of",
        "title_done": "Password set",
        "back": "Back to the start page",
        "title_bad": "This link cannot be used",
        "mail_subject": "Password reset",
    },
    "ja": {
        "title_request": "パスワードリセット申請",
        "label_email": "メールアドレス",
        "title_sent": "メールを送信しました",
        "title_reset": "パスワードの再設定",
        "label_password": "パスワード",
        "policy_short": "10文字以上",
        "policy_classes": "3種類以上",
        "title_done": "パスワード設定完了",
        "back": "最初の画面へ戻る",
        "title_bad": "このURLは使用できません",
        "mail_subject": "パスワードリセット",
    },
}


def scenario_reset(b, a, login, addr):
    """The whole reset in language b.lang for login: form, mail, link, policy, done."""
    lang, exp, base = b.lang, EXPECT[b.lang], a.base_url
    tag = "%s (%s)" % (lang, login)

    # 1. the request form
    b.get(base + "/")
    url, status, _ = b.last_status()
    b.shot(a.shots, "%s-1-request-form" % lang)
    if not check(status == 200 and b.h1() is not None,
                 "%s: GET / answers 200 with a page" % tag,
                 "status %s, url %s, h1 %r, page starts %r"
                 % (status, url, b.h1(), b.d.page_source[:300])):
        raise Bail("%s: the request form is not served" % tag)
    check(b.html_lang() == lang, "%s: <html lang=\"%s\">" % (tag, lang),
          "lang=%r" % b.html_lang())
    check(b.h1() == exp["title_request"], "%s: request form title is %r" % (tag, exp["title_request"]),
          "h1 %r" % b.h1())
    lab = b.label_of("email")
    check(lab is not None and lab.startswith(exp["label_email"]),
          "%s: the e-mail field has the label %r" % (tag, exp["label_email"]), "label %r" % lab)
    check(b.label_of("email_confirm") is not None,
          "%s: the confirmation field has a label" % tag)
    if lang == "ja":
        check(has_japanese(b.text("main")), "ja: the request form's texts are Japanese",
              b.text("main"))

    # 2. submit, see the "sent" page
    before = len(mailtool.for_addr(a.maildir, addr))
    b.fill("email", addr)
    b.fill("email_confirm", addr)
    b.submit()
    url, status, _ = b.last_status()
    b.shot(a.shots, "%s-2-sent" % lang)
    check(status == 200 and b.h1() == exp["title_sent"],
          "%s: POST /request shows the \"sent\" page %r" % (tag, exp["title_sent"]),
          "status %s, url %s, h1 %r, text %r" % (status, url, b.h1(), b.text("main")))
    check(b.html_lang() == lang, "%s: the sent page is in %s" % (tag, lang))

    # 3. the mail and its link
    got = wait_mail(a.maildir, addr, before)
    if not check(got is not None, "%s: a mail to %s arrives" % (tag, addr),
                 "%d message(s) to %s, none new after %d s" % (before, addr, WAIT)):
        raise Bail("%s: no reset mail" % tag)
    _, msg = got
    body = mailtool.body_text(msg)
    subject = str(msg.get("Subject", ""))
    check(exp["mail_subject"] in subject,
          "%s: the mail's subject is in %s (%r)" % (tag, lang, exp["mail_subject"]),
          "Subject: %r" % subject)
    if lang == "ja":
        check(has_japanese(body), "ja: the mail body is Japanese", body[:300])
    link = link_in(body, a.public_url)
    if not check(link is not None,
                 "%s: the mail has a link that begins with %s/reset?" % (tag, a.public_url),
                 "body: %r" % body[:600]):
        raise Bail("%s: no link in the mail" % tag)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query).get("token", [""])[0]
    check(len(token) >= 22, "%s: the token carries at least 128 bits (%d chars)" % (tag, len(token)))

    # 4. open the link: the set-password form
    b.get(link)
    url, status, headers = b.last_status()
    b.shot(a.shots, "%s-3-reset-form" % lang)
    if not check(status == 200 and b.h1() == exp["title_reset"],
                 "%s: the mailed link opens the form %r" % (tag, exp["title_reset"]),
                 "status %s, h1 %r, text %r" % (status, b.h1(), b.text("main"))):
        raise Bail("%s: the set-password form is not served" % tag)
    hl = {k.lower(): v for k, v in headers.items()}
    check(hl.get("referrer-policy") == "no-referrer" and "no-store" in hl.get("cache-control", ""),
          "%s: the form is sent with Referrer-Policy: no-referrer and Cache-Control: no-store" % tag,
          "headers %r" % hl)
    check(b.html_lang() == lang, "%s: the set-password form is in %s" % (tag, lang))
    lab = b.label_of("password")
    check(lab is not None and lab.startswith(exp["label_password"]),
          "%s: the password field has the label %r" % (tag, exp["label_password"]),
          "label %r" % lab)
    check(b.label_of("password_confirm") is not None,
          "%s: the confirmation field has a label" % tag)

    # 5. a weak password: the policy message says what is missing
    for name in ("password", "password_confirm"):
        el = b.fill(name, WEAK_PW)
        # the browser's own minlength check would stop the form before the
        # server is asked; the server must be the one that refuses
        b.d.execute_script("arguments[0].removeAttribute('minlength')", el)
    b.submit()
    url, status, _ = b.last_status()
    b.shot(a.shots, "%s-4-policy" % lang)
    err = b.text("#err") or ""
    check(status == 422, "%s: a weak password is refused (422)" % tag,
          "status %s, h1 %r, text %r" % (status, b.h1(), b.text("main")))
    check(exp["policy_short"] in err and exp["policy_classes"] in err,
          "%s: the policy message names what is missing (%r, %r)"
          % (tag, exp["policy_short"], exp["policy_classes"]), "error %r" % err)
    pw_el = b.d.find_elements(By.NAME, "password")
    check(pw_el and pw_el[0].get_attribute("aria-invalid") == "true"
          and "err" in (pw_el[0].get_attribute("aria-describedby") or "").split(),
          "%s: the password field is marked invalid and tied to the message" % tag)
    check(b.d.find_elements(By.CSS_SELECTOR, 'input[name="token"]')
          and b.d.find_element(By.CSS_SELECTOR, 'input[name="token"]').get_attribute("value") == token,
          "%s: the refused form still carries the token" % tag)

    # 6. a good password twice: the completion page
    notices = len(mailtool.for_addr(a.maildir, addr))
    b.fill("password", NEW_PW[login])
    b.fill("password_confirm", NEW_PW[login])
    b.submit()
    url, status, _ = b.last_status()
    b.shot(a.shots, "%s-5-done" % lang)
    done = check(status == 200 and b.h1() == exp["title_done"],
                 "%s: a good password shows the completion page %r" % (tag, exp["title_done"]),
                 "status %s, h1 %r, text %r" % (status, b.h1(), b.text("main")))
    check(b.html_lang() == lang, "%s: the completion page is in %s" % (tag, lang))
    links = b.d.find_elements(By.CSS_SELECTOR, "main a[href]")
    want = (a.public_url.rstrip("/") + "/", a.public_url.rstrip("/") + "/?lang=" + lang)
    check(any(l.get_attribute("href") in want and l.text == exp["back"] for l in links),
          "%s: the completion page links back to the start (%s)" % (tag, exp["back"]),
          "links %r" % [(l.get_attribute("href"), l.text) for l in links])
    if done:
        out("bind", login, NEW_PW[login])
    check(wait_mail(a.maildir, addr, notices) is not None,
          "%s: a \"password changed\" notice is mailed" % tag)

    # 7. the link is used up
    b.get(link)
    url, status, _ = b.last_status()
    b.shot(a.shots, "%s-6-used-link" % lang)
    check(status == 410 and b.h1() == exp["title_bad"],
          "%s: the link works once: opened again it says %r" % (tag, exp["title_bad"]),
          "status %s, h1 %r" % (status, b.h1()))

    # 8. the back link leads to the request form again
    b.get(want[0])
    check(b.h1() == exp["title_request"], "%s: the start page opens again" % tag)


def scenario_mismatch(b, a):
    """Mismatched e-mail confirmation: the form again, the error at the field, no mail."""
    before = len(mailtool.for_addr(a.maildir, None))
    b.get(a.base_url + "/")
    b.fill("email", "alice@example.org")
    b.fill("email_confirm", "bob@example.org")
    b.submit()
    url, status, _ = b.last_status()
    b.shot(a.shots, "en-7-mismatch")
    check(status == 400 and b.h1() == EXPECT["en"]["title_request"],
          "mismatch: the request form comes back (400)",
          "status %s, h1 %r" % (status, b.h1()))
    err_el = b.d.find_elements(By.ID, "err")
    check(err_el and err_el[0].is_displayed() and err_el[0].text.strip() != "",
          "mismatch: an error message is shown", b.text("main"))
    conf = b.d.find_elements(By.NAME, "email_confirm")
    ok_field = bool(conf) and conf[0].get_attribute("aria-invalid") == "true"
    check(ok_field, "mismatch: the confirmation field is marked invalid (aria-invalid)",
          conf[0].get_attribute("outerHTML") if conf else "no email_confirm field")
    check(ok_field and "err" in (conf[0].get_attribute("aria-describedby") or "").split(),
          "mismatch: the confirmation field is tied to the message (aria-describedby)")
    em = b.d.find_elements(By.NAME, "email")
    check(em and em[0].get_attribute("value") == "alice@example.org"
          and em[0].get_attribute("aria-invalid") != "true",
          "mismatch: the e-mail typed is kept, that field not marked")
    # next to the field: the message is no further from the field than its
    # own label is (on screen, above or below it)
    near = b.d.find_elements(By.ID, "err-email_confirm")
    if near and conf:
        e, f = near[0].rect, conf[0].rect
        lab = b.d.find_element(By.CSS_SELECTOR, 'label[for="email_confirm"]').rect
        gap = max(f["y"] - (e["y"] + e["height"]), e["y"] - (f["y"] + f["height"]))
        label_gap = f["y"] - lab["y"]
        check(gap <= label_gap + 8,
              "mismatch: the error is shown next to the confirmation field",
              "error at y=%d..%d, field at y=%d..%d: %d px apart (its label is %d px above)"
              % (e["y"], e["y"] + e["height"], f["y"], f["y"] + f["height"], gap, label_gap))
    else:
        check(False, "mismatch: the error is shown next to the confirmation field",
              "no message element err-email_confirm")
    time.sleep(0.5)
    check(len(mailtool.for_addr(a.maildir, None)) == before, "mismatch: no mail is sent")


def where(e):
    """Where an exception stopped a scenario, e.g. 'TimeoutException at
    line 357 b.submit() < line 148 WebDriverWait(...)': its class and this
    file's lines it passed through, innermost last."""
    here = [f for f in traceback.extract_tb(e.__traceback__)
            if os.path.abspath(f.filename) == os.path.abspath(__file__)
            and f.name != "main"]
    return " ".join([type(e).__name__, "at"] + [
        "%sline %d %s" % ("" if i == 0 else "> ", f.lineno, (f.line or "").strip()[:60])
        for i, f in enumerate(here)]) if here else type(e).__name__


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--public-url", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--shots", required=True)
    p.add_argument("--tmp", required=True, help="profiles and chromedriver logs")
    a = p.parse_args()

    rc = 0
    for lang, login, addr, fn in (
            ("en", "alice", "alice@example.org", scenario_reset),
            ("ja", "hanako", "hanako@example.org", scenario_reset),
            ("en", None, None, scenario_mismatch)):
        b = None
        try:
            b = Browser(lang, a.tmp)
            if fn is scenario_reset:
                fn(b, a, login, addr)
            else:
                fn(b, a)
        except Bail as e:
            out("diag", "stopped: %s" % e)
            rc = 1
        except Exception as e:  # noqa: BLE001 - reported as a failure, never hidden
            # where it stopped goes into the name: a CI summary that shows
            # only the names of failed checks still says what happened
            check(False, "%s scenario%s ran without a browser error (%s)"
                  % (lang, " (%s)" % login if login else " (mismatch)", where(e)),
                  "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
            if b is not None:
                try:
                    b.shot(a.shots, "%s-%s-error" % (lang, login or "mismatch"))
                except Exception:  # noqa: BLE001
                    pass
            rc = 1
        finally:
            if b is not None:
                b.quit()
                shutil.rmtree(b.profile, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
