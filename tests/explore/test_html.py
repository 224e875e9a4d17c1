#!/usr/bin/env python3
"""sockfault explore --html (and merge --html): the page's structure, its escaping, and —
when Debian's chromium is installed — the page rendered headless, after its script ran.

Structure (html.parser): one table#sf-grid with a column header per call and a row header per
errno explored, one linked cell per call x errno explored carrying its class (colour) and its
class's letter, a details element with the runs of every cell, the legend, the baseline's
calls as a timeline matching the JSON, nothing fetched from anywhere. Escaping: a program
printing <script> on stderr and given markup as arguments adds no element to the page.
Rendering: chromium --dump-dom shows the grid marked ready by the page's script and the
first finding's runs in the side panel; chromium --screenshot writes a 1400x1000 PNG.

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import html.parser
import json
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import unittest

from strays import main as strays_main  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")
CLASSES = ["ok", "not-reached", "error-exit", "mute-exit", "fd-leak", "late-exit",
           "request-stalled", "request-lost", "silent", "stopped-serving", "no-recovery",
           "spin", "hang", "crash", "sanitizer"]
MARKS = dict(zip(CLASSES, ".-eMLTWDQXRPHCS"))
VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
T = 120


def target(name):
    return os.path.join(TARGETS, name)


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids = tag, dict(attrs), parent, []

    def text(self):
        return "".join(k if isinstance(k, str) else k.text() for k in self.kids)

    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def walk(self):
        yield self
        for k in self.kids:
            if isinstance(k, Node):
                yield from k.walk()

    def find_all(self, tag=None, **attrs):
        return [n for n in self.walk() if (tag is None or n.tag == tag) and
                all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None


class Tree(html.parser.HTMLParser):
    """A DOM of the page; unbalanced end tags are recorded, not repaired."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {}, None)
        self.errors = []
        self.feed(text)
        self.close()
        if self.cur is not self.root:
            self.errors.append(f"unclosed <{self.cur.tag}>")

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.cur.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.cur.tag}>")
            return
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.kids.append(data)


def run(cmd, tmp, timeout=T):
    env = dict(os.environ, TMPDIR=tmp)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def chromium(args, timeout=T):
    """chromium headless in its own process group (killed whole on timeout) and profile."""
    profile = tempfile.mkdtemp(prefix="sf-chromium.")
    cmd = [shutil.which("chromium")] + CHROMIUM_FLAGS + [f"--user-data-dir={profile}"] + args
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return p.returncode, out, err


class Page:
    """One explore run of accept_crash_bug (accept only) with --html and --json."""

    def __init__(self, tmp):
        self.tmp = tmp
        runtmp = os.path.join(tmp, "run")
        os.mkdir(runtmp)
        self.html_path = os.path.join(tmp, "report.html")
        self.json_path = os.path.join(tmp, "report.json")
        p = run([CLI, "explore", "--timeout", "3", "--kinds", "once", "--calls", "accept",
                 "--html", self.html_path,
                 "--json", self.json_path, "--check", f"{target('ping_client')} {{port}}",
                 "--", target("accept_crash_bug"), "{port}"], runtmp)
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr
        self.leftover = os.listdir(runtmp)
        with open(self.html_path, encoding="utf-8") as f:   # strict: valid UTF-8
            self.html = f.read()
        with open(self.json_path, encoding="utf-8") as f:
            self.report = json.load(f)


def grid_of(tree):
    """{(call, errno): (classes, letter, href)} of the linked cells, and the headers."""
    grid = tree.root.find("table", id="sf-grid")
    cols = [th.text() for th in grid.find("thead").find_all("th", scope="col")]
    rows, cells = [], {}
    for tr in grid.find("tbody").find_all("tr"):
        ths = tr.find_all("th", scope="row")
        assert len(ths) == 1, "one row header per row"
        errno = ths[0].text()
        rows.append(errno)
        tds = tr.find_all("td")
        assert len(tds) == len(cols), (errno, len(tds), len(cols))
        for call, td in zip(cols, tds):
            a = td.find("a")
            if a is not None:
                cells[(call, errno)] = (td.classes(), a.text(), a.attrs.get("href"))
    return cols, rows, cells


def chip(li):
    """A timeline entry: (its mark's classes and letter, or None; the words of the rest)."""
    spans = [k for k in li.kids if isinstance(k, Node) and "mark" in k.classes()]
    rest = "".join(k if isinstance(k, str) else k.text() for k in li.kids
                   if not (isinstance(k, Node) and "mark" in k.classes()))
    return ((spans[0].classes(), spans[0].text()) if spans else None), rest.split()


def worst_by_cell(report):
    worst = {}
    for p in report["points"]:
        if len(p["faults"]) != 1:
            continue
        key = (p["faults"][0]["call"], p["faults"][0]["errno"])
        c = CLASSES.index(p["class"])
        worst[key] = max(worst.get(key, -1), c)
    return {k: CLASSES[v] for k, v in worst.items()}


class HtmlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sf-html-test.")
        cls.page = Page(cls.tmp)
        cls.tree = Tree(cls.page.html)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_run(self):
        p = self.page
        self.assertEqual(p.rc, 1, p.err)
        self.assertEqual(p.leftover, [], "explore left files in TMPDIR")
        self.assertIn("findings: ", p.out)          # the text report still goes to stdout

    def test_well_formed_and_self_contained(self):
        self.assertEqual(self.tree.errors, [])
        self.assertTrue(self.page.html.startswith("<!DOCTYPE html>"))
        self.assertEqual(len(self.tree.root.find_all("script")), 1)
        for n in self.tree.root.walk():
            self.assertNotIn("src", n.attrs, n.tag)
            href = n.attrs.get("href")
            if href is not None:
                self.assertTrue(href.startswith("#"), href)
            self.assertNotEqual(n.tag, "link")
        for s in ["http://", "https://", "url(", "@import", "@font-face"]:
            self.assertNotIn(s, self.page.html)
        ids = [n.attrs["id"] for n in self.tree.root.walk() if "id" in n.attrs]
        self.assertEqual(len(ids), len(set(ids)), "duplicate ids")

    def test_grid(self):
        cols, rows, cells = grid_of(self.tree)
        want = worst_by_cell(self.page.report)
        self.assertEqual(cols, ["accept"])
        self.assertEqual(set(rows), {e for _, e in want})
        self.assertEqual(set(cells), set(want), "one cell per call x errno explored")
        fail_on = set(self.page.report["options"]["fail_on"])
        for key, cls in want.items():
            classes, letter, href = cells[key]
            self.assertIn(f"k-{cls}", classes, key)
            self.assertEqual(letter, MARKS[cls], key)
            self.assertEqual("f" in classes, cls in fail_on, key)
            self.assertEqual(href, f"#cell-{key[0]}-{key[1]}")
        # every class has a letter and a colour in the legend
        legend = self.tree.root.find("ul", **{"class": "legend"})
        items = legend.find_all("li")
        self.assertEqual(len(items), len(CLASSES))
        for li, cls in zip(items, CLASSES):
            mark = li.find("span")
            self.assertIn(f"k-{cls}", mark.classes())
            self.assertEqual(mark.text(), MARKS[cls])
            self.assertIn(cls, li.text())
            self.assertIn(f".k-{cls}{{", self.page.html)  # each class has a colour rule

    def test_cell_runs(self):
        """Each cell opens a details element holding exactly its points' runs."""
        _, _, cells = grid_of(self.tree)
        points = {}
        for p in self.page.report["points"]:
            points.setdefault((p["faults"][0]["call"], p["faults"][0]["errno"]), []).append(p)
        for key, (_, _, href) in cells.items():
            d = self.tree.root.find("details", id=href[1:])
            self.assertIsNotNone(d, href)
            self.assertIsNotNone(d.find("summary"))
            runs = d.find_all("article")
            self.assertEqual([a.attrs["id"] for a in runs],
                             [f"run-{p['id']}" for p in points[key]])
            for art, p in zip(runs, points[key]):
                text = art.text()
                self.assertIn(p["class"], text)
                self.assertIn(p["rules"], text)
                self.assertIn(p["reproducer"], text)
                self.assertIn(p["detail"], text)
                self.assertIsNotNone(art.find("pre", **{"class": "stderr"}))
        findings = self.tree.root.find("table", id="sf-findings")
        self.assertEqual(len(findings.find("tbody").find_all("tr")),
                         self.page.report["summary"]["findings"])
        verdict = self.tree.root.find(id="sf-verdict").text()
        self.assertEqual(verdict, f"{self.page.report['summary']['findings']} findings")

    def test_timeline(self):
        base = self.page.report["baseline"]
        tl = base["timeline"]
        self.assertEqual(base["timeline_total"], len(tl))
        self.assertEqual([c["call"] for c in tl[:4]], ["socket", "setsockopt", "bind", "listen"])
        for c in tl:
            self.assertEqual(list(c), ["proc", "call", "n", "ret", "errno", "site"])
        items = self.tree.root.find("ol", id="sf-timeline").find_all("li")
        shown = 0
        for li in items:
            words = chip(li)[1]
            shown += int(words[-1][1:]) if words[-1].startswith("\u00d7") else 1
        self.assertEqual(shown, len(tl))
        # the accepts' occurrences are points that crashed: their entries say so, in colour
        # and letter; the other calls were not explored (--calls accept): no mark
        self.assertTrue([li for li in items if chip(li)[1][0] == "accept"], "no accept shown")
        for li in items:
            mark, words = chip(li)
            if words[0] == "accept":
                self.assertEqual(mark, ({"mark", "k-crash"}, "C"))
            else:
                self.assertIsNone(mark, words)

    def test_merge_html(self):
        """merge writes the same grid, and the timeline read back from the JSON."""
        out = os.path.join(self.tmp, "merged.html")
        p = run([CLI, "merge", "-q", "--html", out, self.page.json_path], self.tmp)
        self.assertEqual(p.returncode, 1, p.stderr)
        with open(out, encoding="utf-8") as f:
            merged = Tree(f.read())
        self.assertEqual(merged.errors, [])
        self.assertEqual(grid_of(merged), grid_of(self.tree))
        a = merged.root.find("ol", id="sf-timeline").text()
        self.assertEqual(a, self.tree.root.find("ol", id="sf-timeline").text())

    def test_same_file_twice_refused(self):
        p = run([CLI, "explore", "--json", "x", "--html", "x", "--", target("trivial")], self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--json and --html both name 'x'", p.stderr)


class EscapeTest(unittest.TestCase):
    """A program writing markup on stderr, and markup in its arguments, adds no element."""

    EVIL = "<script>alert(1)</script> & \"q\" 'x' <b>bold</b>"

    def test_escaped(self):
        tmp = tempfile.mkdtemp(prefix="sf-html-esc.")
        try:
            runtmp = os.path.join(tmp, "run")
            os.mkdir(runtmp)
            page = os.path.join(tmp, "e.html")
            script = ('printf \'%s\\377\\001\\n\' "$SF_EVIL" >&2; exec "$0" "$@"')
            env = dict(os.environ, TMPDIR=runtmp, SF_EVIL=self.EVIL)
            p = subprocess.run([CLI, "explore", "-q", "--timeout", "3", "--calls", "recv",
                                "--html", page, "--", "/bin/sh", "-c", script,
                                target("swallow_bug"), "<img src=x onerror=alert(2)>"],
                               capture_output=True, text=True, env=env, timeout=T)
            self.assertIn(p.returncode, (0, 1), p.stderr)
            self.assertEqual(os.listdir(runtmp), [])
            with open(page, encoding="utf-8") as f:      # \377 became U+FFFD: valid UTF-8
                text = f.read()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        tree = Tree(text)
        self.assertEqual(tree.errors, [])
        tags = {n.tag for n in tree.root.walk()}
        self.assertNotIn("img", tags)
        self.assertEqual(len(tree.root.find_all("script")), 1)
        self.assertFalse([n for n in tree.root.walk() if n.tag == "b" and n.text() == "bold"])
        self.assertNotIn("<script>alert", text)
        self.assertNotIn("<img", text)
        tails = [pre.text() for pre in tree.root.find_all("pre", **{"class": "stderr"})]
        self.assertTrue(tails)
        for t in tails:
            self.assertIn(self.EVIL + "\ufffd?", t)   # shown as text, byte for byte
        self.assertIn("<img src=x onerror=alert(2)>", tree.root.find("header").text())


class ChromiumTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # scripts/deps.sh installs chromium, and CI runs it: missing, the page would go
        # unrendered while the test passed, so its absence fails instead of skipping
        if not shutil.which("chromium"):
            raise AssertionError("chromium is not installed (scripts/deps.sh installs it): "
                                 "the page cannot be rendered")
        cls.tmp = tempfile.mkdtemp(prefix="sf-html-chromium.")
        cls.page = Page(cls.tmp)
        cls.url = "file://" + cls.page.html_path

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_dom_after_script(self):
        rc, out, err = chromium(["--dump-dom", self.url])
        self.assertEqual(rc, 0, err[-2000:])
        dom = Tree(out)
        grid = dom.root.find("table", id="sf-grid")
        self.assertIsNotNone(grid, out[:2000])
        self.assertEqual(grid.attrs.get("data-js"), "ready", "the page's script did not run")
        _, _, cells = grid_of(dom)
        self.assertEqual(set(cells), set(worst_by_cell(self.page.report)))
        # the first finding is shown in the panel: its runs, its cell selected
        panel = dom.root.find(id="sf-panel")
        first = grid.attrs["data-first"]
        self.assertEqual(panel.attrs.get("data-cell"), first)
        shown = dom.root.find(id="sf-panel-body").find_all("article")
        self.assertEqual(len(shown), len(self.page.report["points"]) // len(cells))
        self.assertIn("crash", shown[0].text())
        sel = [a for a in grid.find_all("a") if "sel" in a.classes()]
        self.assertEqual([a.attrs["href"] for a in sel], ["#" + first])

    def test_screenshot(self):
        png = os.path.join(self.tmp, "report.png")
        rc, _, err = chromium([f"--screenshot={png}", "--window-size=1400,1000", self.url])
        self.assertEqual(rc, 0, err[-2000:])
        with open(png, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", head[16:24]), (1400, 1000))
        self.assertGreater(os.path.getsize(png), 20000, "an empty page?")


if __name__ == "__main__":
    strays_main(CLI, TARGETS)
