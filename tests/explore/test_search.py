#!/usr/bin/env python3
"""explore --search (issue 15): bugs that need two and three faults, found and minimised.

- conn_retry_bug needs two faults (connect fails, the retry's socket fails: a double free),
  degrade_bug three (accept fails, the spare's socket fails, the degraded mode's busy reply
  fails: a double free). --search finds each as one finding of class crash whose schedule
  has exactly that many faults; --depth 2 cannot reach the three-fault one.
- Every reproducer is minimal: run with any one of its rules dropped, the program no longer
  crashes; run whole, it does (SIGABRT), and 'sockfault replay' judges it crash again.
- The correct twins give no finding. The search is the same for a given --seed whatever
  --jobs, and the report (JSON, JUnit, text) carries the schedule; merge keeps it.
- The progress line off a terminal (--progress) shows the search's runs, kept schedules,
  signatures and findings.
- Bad --search / --max-faults / --seed values and --search with --depth 2 are refused.

Small selections (--calls, --errnos core, --max-per-call) keep each explore to seconds.
Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import html
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from strays import main as strays_main  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")

# the calls each bug's path goes through, so that the singles stay few
TWO = ["--kinds", "once", "--calls", "connect,socket", "--errnos", "core", "--max-per-call", "4"]
THREE = ["--kinds", "once", "--calls", "accept,socket,send", "--errnos", "core",
         "--max-per-call", "4"]


def target(name):
    return os.path.join(TARGETS, name)


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sf-search.")
        self.runtmp = os.path.join(self.tmp, "tmp")
        os.mkdir(self.runtmp)

    def tearDown(self):
        self.assertEqual(os.listdir(self.runtmp), [], "explore left files in TMPDIR")
        shutil.rmtree(self.tmp)

    def cli(self, *args, timeout=240):
        env = dict(os.environ, TMPDIR=self.runtmp)
        return subprocess.run([CLI] + list(args), capture_output=True, text=True, env=env,
                              timeout=timeout)

    def explore(self, prog, sel, *extra, name="r.json", status=None):
        path = os.path.join(self.tmp, name)
        p = self.cli("explore", "--json", path, "--jobs", "2", "--timeout", "5", *sel, *extra,
                     "--", target(prog))
        if status is not None:
            self.assertEqual(p.returncode, status, p.stderr)
        with open(path, encoding="utf-8") as f:
            return p, json.load(f), path

    def findings(self, rep):
        return [q for q in rep["points"] if q["finding"]]

    def check_minimal(self, prog, point, nfaults):
        """The reproducer crashes; without any one of its rules it does not."""
        rules = [f"{f['call']}:error={f['errno']}:when={f['when']}" +
                 (f":site={f['site']}" if f["site"] else "") for f in point["faults"]]
        self.assertEqual(len(rules), nfaults, point)
        argv = shlex.split(point["reproducer"])
        self.assertEqual(argv[:2], ["sockfault", "run"])
        self.assertEqual([argv[i + 1] for i, a in enumerate(argv) if a == "-e"], rules)
        self.assertEqual(argv[argv.index("--") + 1:], [target(prog)])

        def run(rs):
            cmd = [CLI, "run"] + [x for r in rs for x in ("-e", r)] + ["--", target(prog)]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).returncode

        self.assertEqual(run(rules), 128 + signal.SIGABRT, "the reproducer does not crash")
        for k in range(len(rules)):
            less = rules[:k] + rules[k + 1:]
            self.assertIn(run(less), (0, 1), f"still crashes without {rules[k]}: not minimal")


    def check_text(self, out, f, n=1):
        """The text report lists the multi-fault finding apart from the matrix's single ones:
        its class, its rules one a line, its reproducer; the single findings' list has not it."""
        self.assertIn(f"single faults only: {n} multi-fault finding", out)
        head = re.search(r"^multi-fault findings \(not in the matrix; each schedule is minimal[^\n]*"
                         r"\): (\d+)$", out, re.M)
        self.assertTrue(head, out)
        self.assertEqual(int(head.group(1)), n)
        before, after = out[:head.start()], out[head.end():]
        self.assertNotIn(f["reproducer"], before)   # not also among the single findings
        block = re.search(r"^  #" + re.escape(f["id"]) + r" +" + f["class"] + r" +" +
                          rf"{len(f['faults'])} faults, minimal schedule from --search "
                          rf"\(run {f['run']}\)[^\n]*\n((?:           \d\. [^\n]*\n)+)"
                          r"           ([^\n]*)$", after, re.M)
        self.assertTrue(block, out)
        self.assertEqual(block.group(1).split(), [x for k, r in enumerate(f["rules"].split(";"))
                                                  for x in (f"{k + 1}.", r)])
        self.assertEqual(block.group(2), f["reproducer"])


class Search(Case):
    def test_two_faults(self):
        p, rep, path = self.explore("conn_retry_bug", TWO, "--search", "60", "--progress",
                                    "0.05", status=1)
        found = self.findings(rep)
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEqual(f["class"], "crash")
        self.assertTrue(f["search"])
        self.assertEqual([x["call"] for x in f["faults"]], ["connect", "socket"])
        self.assertGreater(f["run"], rep["total_points"])  # found by the search's runs
        self.check_minimal("conn_retry_bug", f, 2)
        self.assertEqual(rep["options"]["search"], 60)
        self.assertEqual(rep["options"]["max_faults"], 3)
        st = rep["search"]
        self.assertEqual(st["findings"], 1)
        self.assertGreater(st["kept"], 0)
        self.assertGreaterEqual(st["signatures"], st["kept"])
        self.assertLessEqual(st["runs"], 60)
        # the progress line off a terminal: whole lines, the search's own after each batch
        lines = re.findall(r"^explore: search (\d+)/60 runs \(\+(\d+) minimising\), (\d+) kept, "
                           r"(\d+) signatures?, (\d+) findings?$", p.stderr, re.M)
        self.assertTrue(lines, p.stderr)
        self.assertLessEqual(int(lines[-1][0]), st["runs"])
        self.assertLessEqual(int(lines[-1][4]), 1)
        self.assertNotIn("\r", p.stderr)
        self.assertEqual(f["kind"], "schedule")
        self.check_text(p.stdout, f)
        # replayed from the report: the same class again
        r = self.cli("replay", path, "--point", f["id"], "--timeout", "5")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("now crash", r.stderr)

    def test_three_faults(self):
        _, rep, path = self.explore("degrade_bug", THREE, "--search", "60", status=1)
        found = self.findings(rep)
        self.assertEqual(len(found), 1, found)
        f = found[0]
        self.assertEqual(f["class"], "crash")
        self.assertEqual(sorted(x["call"] for x in f["faults"]), ["accept", "send", "socket"])
        self.check_minimal("degrade_bug", f, 3)
        # the JUnit report fails that testcase with its rules; merge keeps the point
        xml = os.path.join(self.tmp, "r.xml")
        m = self.cli("merge", "-q", "--junit", xml, "--json", os.path.join(self.tmp, "m.json"),
                     path)
        self.assertEqual(m.returncode, 1, m.stderr)
        fails = [tc for tc in ET.parse(xml).getroot().iter("testcase")
                 if tc.find("failure") is not None]
        self.assertEqual(len(fails), 1)
        self.assertIn(f["rules"], ET.tostring(fails[0], encoding="unicode"))
        with open(os.path.join(self.tmp, "m.json"), encoding="utf-8") as fh:
            merged = json.load(fh)
        self.assertEqual([q["faults"] for q in self.findings(merged)], [f["faults"]])
        self.assertEqual(merged["search"]["findings"], 1)

    def test_depth2_cannot_reach_three(self):
        _, rep, _ = self.explore("degrade_bug", THREE, "--depth", "2", "--budget", "60",
                                 status=0)
        self.assertEqual(self.findings(rep), [])

    def test_twins_clean(self):
        for prog, sel in (("conn_retry_ok", TWO), ("degrade_ok", THREE)):
            with self.subTest(prog=prog):
                _, rep, _ = self.explore(prog, sel, "--search", "60", status=0)
                self.assertEqual(self.findings(rep), [])
                self.assertEqual(rep["search"]["findings"], 0)
                self.assertGreater(rep["search"]["runs"], 0)

    def test_same_for_any_jobs(self):
        stats, rules = [], []
        for jobs in ("1", "2"):
            _, rep, _ = self.explore("conn_retry_bug", TWO, "--search", "30", "--seed", "7",
                                     "--jobs", jobs, name=f"j{jobs}.json", status=1)
            stats.append(rep["search"])
            rules.append([(q["id"], q["rules"], q["run"]) for q in self.findings(rep)])
        self.assertEqual(stats[0], stats[1])
        self.assertEqual(rules[0], rules[1])


class Reports(Case):
    """Multi-fault findings in every format, and merge keeping one of a bug two shards found."""

    def test_every_format(self):
        xml, page = os.path.join(self.tmp, "r.xml"), os.path.join(self.tmp, "r.html")
        p, rep, _ = self.explore("conn_retry_bug", TWO, "--search", "60", "--junit", xml,
                                 "--html", page, status=1)
        [f] = self.findings(rep)
        rules = f["rules"].split(";")
        # JSON: an honest kind, the faults listed; the single points stay "once"
        self.assertEqual((f["kind"], f["search"], len(f["faults"])), ("schedule", True, 2))
        self.assertEqual({q["kind"] for q in rep["points"] if "." not in q["id"]}, {"once"})
        self.check_text(p.stdout, f)
        # JUnit: grouped apart, the schedule one rule a line in the failure
        [tc] = [tc for tc in ET.parse(xml).getroot().iter("testcase")
                if tc.find("failure") is not None]
        self.assertEqual(tc.get("classname"), "sockfault.schedule")
        text = tc.find("failure").text
        self.assertIn(f"2 faults, minimal schedule from --search (run {f['run']}):\n" +
                      "".join(f"  {k + 1}. {r}\n" for k, r in enumerate(rules)), text)
        self.assertIn("reproduce: " + f["reproducer"] + "\n", text)
        # HTML: a section of its own, linked from the summary
        with open(page, encoding="utf-8") as fh:
            doc = fh.read()
        self.assertIn('<a href="#multi">1 finding of several faults</a>', doc)
        sec = re.search(r'<section id="multi".*?</section>', doc, re.S)
        self.assertTrue(sec, "no multi-fault section")
        art = re.search(r'<article class="run" id="multi-' + re.escape(f["id"]) +
                        r'">(.*?)</article>', sec.group(0), re.S)
        self.assertTrue(art, sec.group(0))
        self.assertIn("2 faults, minimal schedule from --search", art.group(1))
        self.assertEqual([html.unescape(c) for c in
                          re.findall(r"<li><code>(.*?)</code></li>", art.group(1))], rules)
        self.assertIn("<pre>" + html.escape(f["reproducer"], quote=False) + "</pre>",
                      art.group(1))

    def shards(self, sel):
        reps = []
        for s in (1, 2):
            _, rep, _ = self.explore("conn_retry_bug", sel, "--search", "60", "--shard",
                                     f"{s}/2", name=f"s{s}.json", status=1)
            reps.append(rep)
        return reps

    def save(self, rep, name):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(rep, fh)
        return path

    def merge(self, *paths, status=1):
        out = os.path.join(self.tmp, "m.json")
        m = self.cli("merge", "--json", out, *paths)
        self.assertEqual(m.returncode, status, m.stderr)
        if status in (0, 1):
            with open(out, encoding="utf-8") as fh:
                return m, json.load(fh)
        return m, None

    def test_merge_same_bug_once(self):
        one, two = self.shards(["--kinds", "once", "--calls", "connect,socket", "--errnos",
                                "EACCES", "--max-per-call", "4"])
        [f1], [f2] = self.findings(one), self.findings(two)
        self.assertNotEqual(f1["faults"], f2["faults"])
        # shard 2's search finding shard 1's schedule too, from a point of its own
        dup = dict(f1, index=f2["index"], sub=f2["sub"] + 1, id=f"{f2['index']}.{f2['sub'] + 1}",
                   run=99, faults=f1["faults"][::-1])
        two["points"].append(dup)
        two["search"]["findings"] += 1
        m, merged = self.merge(self.save(one, "a.json"), self.save(two, "b.json"))
        found = self.findings(merged)
        self.assertEqual(sorted(q["id"] for q in found), sorted([f1["id"], f2["id"]]))
        kept = next(q for q in found if q["id"] == f1["id"])
        self.assertEqual(kept["also"], [{"id": dup["id"], "shard": "2/2", "run": 99}])
        self.assertNotIn("also", next(q for q in found if q["id"] == f2["id"]))
        self.assertEqual(merged["search"]["findings"], 2)
        self.assertEqual(merged["summary"]["findings"], 2)
        self.assertEqual(m.stdout.count(f1["reproducer"]), 1)
        self.assertIn(f"shard 1/2; also found as #{dup['id']} shard 2/2", m.stdout)
        # the merged report reads back with its provenance
        _, again = self.merge(self.save(merged, "m1.json"))
        self.assertEqual(self.findings(again), found)

    def test_older_and_one_fault_reports(self):
        _, rep, _ = self.explore("conn_retry_bug", TWO, "--search", "60", status=1)
        [f] = self.findings(rep)
        f["kind"] = "pair"  # as written before "schedule": read by its faults, not its kind
        _, merged = self.merge(self.save(rep, "old.json"))
        self.assertEqual([q["kind"] for q in self.findings(merged)], ["schedule"])
        # a search finding may need one fault only (one no single point tried)
        f["faults"], f["rules"] = f["faults"][1:], f["rules"].split(";")[1]
        _, merged = self.merge(self.save(rep, "one.json"))
        [g] = self.findings(merged)
        self.assertEqual((g["id"], g["kind"], len(g["faults"])), (f["id"], "schedule", 1))
        del f["search"]  # a pair of one fault is malformed
        m, _ = self.merge(self.save(rep, "bad.json"), status=4)
        self.assertIn(f"(id {f['id']}): \"faults\" must list", m.stderr)


class Context(Case):
    """--context 2: fallback_bug's one helper, dial(), makes the normal path's connections and
    the fallback's; only a failure on the fallback path double-frees. With the call site
    alone the fallback's socket() is a site the baseline already reached, tried late; with
    its caller too it is a new site, tried first: the bug is found in the first batch."""

    SEL = ["--kinds", "once", "--calls", "connect,socket", "--errnos", "core",
           "--max-per-call", "4"]

    def test_helper_on_two_paths(self):
        _, two, _ = self.explore("fallback_bug", self.SEL, "--search", "8", "--context", "2",
                                 name="c2.json", status=1)
        self.assertEqual(two["options"]["context"], 2)
        socks = [t for t in two["baseline"]["timeline"] if t["call"] == "socket"]
        self.assertTrue(socks, two["baseline"]["timeline"])
        self.assertTrue(all(t.get("caller") not in (None, "?") for t in socks), socks)
        found = self.findings(two)
        self.assertTrue(found)
        f = found[0]
        self.assertEqual(f["class"], "crash")
        self.assertLessEqual(f["run"], two["total_points"] + 8)
        self.check_minimal("fallback_bug", f, len(f["faults"]))
        # the same budget with the call site alone: the fallback's dial() is not tried yet
        _, one, _ = self.explore("fallback_bug", self.SEL, "--search", "8", name="c1.json",
                                 status=0)
        self.assertEqual(self.findings(one), [])
        self.assertNotIn("caller", json.dumps(one["baseline"]["timeline"]))
        # the twin: nothing, however many runs
        _, ok, _ = self.explore("fallback_ok", self.SEL, "--search", "60", "--context", "2",
                                name="ok.json", status=0)
        self.assertEqual(self.findings(ok), [])


class Usage(Case):
    def test_context_needs_preload(self):
        p = self.cli("explore", "--backend", "seccomp", "--search", "5", "--context", "2", "--",
                     target("fallback_ok"))
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertIn("--context 2 needs the preload backend", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_refused(self):
        for args, token in ((["--search", "0"], "--search"), (["--search", "x"], "--search"),
                            (["--search", "5", "--max-faults", "9"], "--max-faults"),
                            (["--search", "5", "--max-faults", "1"], "--max-faults"),
                            (["--search", "5", "--seed", "-1"], "--seed"),
                            (["--search", "5", "--depth", "2"], "--depth 2"),
                            (["--search", "5", "--context", "3"], "--context"),
                            (["--search", "5", "--context", "0"], "--context"),
                            (["--context", "2"], "--context 2")):
            with self.subTest(args=args):
                p = self.cli("explore", *args, "--", target("conn_retry_ok"))
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(token, p.stderr)
                self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    strays_main(CLI, TARGETS)
