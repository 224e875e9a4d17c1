#!/usr/bin/env python3
"""A run that tested nothing must not pass (issue 13, items 1-3, 11, 12).

- --check with --jobs > 1 and no {port} in PROG's arguments: refused (exit 2); with the
  default --jobs, one run at a time, said on stderr.
- most points not-reached: exit 8 ("could not judge"), not 0.
- nothing explored (none of the selected calls made): exit 9; --require-points raises or
  lowers the floor.
- merge with a missing shard: exit 4 unless --allow-partial; the merged report keeps the
  true shard count and names the shards it holds.
- --progress: off a terminal, whole lines on stderr every SECS; none with 0.
- --shard auto: the shard from SOCKFAULT_SHARD, GitLab's CI_NODE_INDEX/CI_NODE_TOTAL or
  Kubernetes' JOB_COMPLETION_INDEX (+ SOCKFAULT_SHARD_COUNT).

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from strays import main as strays_main  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")
CI_VARS = ("SOCKFAULT_SHARD", "SOCKFAULT_SHARD_COUNT", "CI_NODE_INDEX", "CI_NODE_TOTAL",
           "JOB_COMPLETION_INDEX")


def target(name):
    return os.path.join(TARGETS, name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sf-cisafe.")
        self.runtmp = os.path.join(self.tmp, "tmp")
        os.mkdir(self.runtmp)

    def tearDown(self):
        self.assertEqual(os.listdir(self.runtmp), [], "explore left files in TMPDIR")
        shutil.rmtree(self.tmp)

    def cli(self, *args, env=None, timeout=120):
        if args[:1] == ("explore",) and "--kinds" not in args:
            args = ("explore", "--kinds", "once") + args[1:]  # the point counts below
        e = {k: v for k, v in os.environ.items() if k not in CI_VARS}
        e.update(env or {}, TMPDIR=self.runtmp)
        return subprocess.run([CLI] + list(args), capture_output=True, text=True, env=e,
                              timeout=timeout)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def report(self, name):
        with open(self.path(name), encoding="utf-8") as f:
            return json.load(f)


class Judged(Case):
    def test_parallel_runs_without_port_refused(self):
        port = str(free_port())  # the same fixed port in every run: they would collide
        check = f"{target('ping_client')} {port}"
        p = self.cli("explore", "--jobs", "2", "--check", check, "--",
                     target("second_accept_ok"), port)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("{port}", p.stderr)
        self.assertIn("--jobs 1", p.stderr)
        self.assertEqual(p.stdout, "")
        # without --jobs: one run at a time, said, and every point judged
        p = self.cli("explore", "--json", self.path("r.json"), "--errnos", "EMFILE",
                     "--max-per-call", "1", "--timeout", "8", "--check", check, "--",
                     target("second_accept_ok"), port)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("running one at a time (--jobs 1)", p.stderr)
        classes = [q["class"] for q in self.report("r.json")["points"]]
        self.assertTrue(classes)
        self.assertNotIn("not-reached", classes)

    def test_most_points_not_reached(self):
        """trivial opens 4 sockets in its first run (the baseline), 1 in every other run:
        3 of the 4 points never fire."""
        state = self.path("ran")
        p = self.cli("explore", "--jobs", "1", "--json", self.path("r.json"), "--calls",
                     "socket", "--errnos", "EMFILE", "--", target("trivial"), "4", state)
        self.assertEqual(p.returncode, 8, p.stdout + p.stderr)
        self.assertIn("3 of 4 runs were not-reached", p.stderr)
        self.assertIn("summary: 4 runs, 3 not-reached", p.stdout)
        self.assertEqual(len(self.report("r.json")["points"]), 4)  # the report is written

    def test_nothing_explored(self):
        p = self.cli("explore", "--calls", "accept", "--", target("trivial"), "2")
        self.assertEqual(p.returncode, 9, p.stderr)
        self.assertIn("tested nothing", p.stderr)
        p = self.cli("explore", "--require-points", "0", "--calls", "accept", "--",
                     target("trivial"), "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        # 2 sockets, 2 closes, one errno: 4 points, fewer than 5
        p = self.cli("explore", "--require-points", "5", "--errnos", "EMFILE,EBADF", "--",
                     target("trivial"), "2")
        self.assertEqual(p.returncode, 9, p.stdout + p.stderr)
        self.assertIn("4 failure point(s) in all, fewer than --require-points 5", p.stderr)
        p = self.cli("explore", "--require-points", "x", "--", target("trivial"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--require-points 'x'", p.stderr)


class Merge(Case):
    def shards(self, n):
        for i in range(1, n + 1):
            p = self.cli("explore", "-q", "--jobs", "1", "--shard", f"{i}/{n}", "--json",
                         self.path(f"s{i}.json"), "--", target("swallow_bug"))
            self.assertEqual(p.returncode, 1, p.stderr)
        return [self.path(f"s{i}.json") for i in range(1, n + 1)]

    def test_missing_shard(self):
        s1, s2, s3 = self.shards(3)
        full = self.cli("merge", "-q", "--json", self.path("full.json"), s3, s1, s2)
        self.assertEqual(full.returncode, 1, full.stderr)
        self.assertEqual(self.report("full.json")["options"]["shard"], "1-3/3")

        p = self.cli("merge", "--json", self.path("m.json"), s1, s3)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("shard 2/3 is missing", p.stderr)
        self.assertIn("--allow-partial", p.stderr)

        p = self.cli("merge", "--allow-partial", "--json", self.path("m.json"), s1, s3)
        self.assertEqual(p.returncode, 1, p.stderr)  # the findings of the shards it has
        self.assertIn("warning: shard 2/3 is missing", p.stderr)
        self.assertIn("(shards 1,3/3 of ", p.stdout)
        self.assertIn("; 1 missing)", p.stdout)
        partial = self.report("m.json")
        self.assertEqual(partial["options"]["shard"], "1,3/3")
        self.assertTrue(partial["points"])
        self.assertTrue(all(int(q["id"]) % 3 != 2 for q in partial["points"]))

        # the partial report is a report: merged with the missing shard, it is whole
        p = self.cli("merge", "-q", "--json", self.path("m2.json"), self.path("m.json"), s2)
        self.assertEqual(p.returncode, 1, p.stderr)
        key = lambda r: [(q["id"], q["class"]) for q in r["points"]]
        self.assertEqual(key(self.report("m2.json")), key(self.report("full.json")))
        self.assertEqual(self.report("m2.json")["options"]["shard"], "1-3/3")
        p = self.cli("merge", "-q", self.path("m.json"), s1)
        self.assertEqual(p.returncode, 4)
        self.assertIn("shard 1/3 given twice", p.stderr)

    def test_bad_shard_sets(self):
        (s1,) = self.shards(1)
        with open(s1, encoding="utf-8") as f:
            text = f.read()
        for bad in ("1,/1", "2/1", "1,1/1", "/1", "1-/1", "0/1"):
            path = self.path("bad.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace('"shard":"1/1"', f'"shard":"{bad}"'))
            p = self.cli("replay", path, "--point", "1")
            self.assertEqual(p.returncode, 4, (bad, p.stderr))
            self.assertIn("options.shard", p.stderr)


class Progress(Case):
    def test_lines_off_a_terminal(self):
        p = self.cli("explore", "-q", "--jobs", "1", "--progress", "0.05", "--", target("trivial"),
                     "20")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [ln for ln in p.stderr.splitlines() if ln.startswith("explore: ")]
        self.assertTrue(lines, p.stderr)
        self.assertRegex(lines[0], r"^explore: \d+/56 runs, 0 findings so far, ETA \d+:\d\d$")
        self.assertNotIn("\r", p.stderr)
        self.assertNotIn("\033", p.stderr)
        p = self.cli("explore", "-q", "--jobs", "1", "--progress", "0", "--", target("trivial"),
                     "20")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        p = self.cli("explore", "--progress", "-1", "--", target("trivial"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("--progress '-1'", p.stderr)


class ShardAuto(Case):
    def shard_of(self, env):
        p = self.cli("explore", "-q", "--jobs", "1", "--shard", "auto", "--json",
                     self.path("r.json"), "--", target("trivial"), "2", env=env)
        return p, (self.report("r.json")["options"]["shard"] if p.returncode == 0 else None)

    def test_engines(self):
        for env, want in (({"SOCKFAULT_SHARD": "2/3"}, "2/3"),  # GitHub Actions: env from the matrix
                          ({"CI_NODE_INDEX": "3", "CI_NODE_TOTAL": "4"}, "3/4"),  # GitLab parallel:
                          ({"CI_NODE_TOTAL": "1"}, "1/1"),  # GitLab without parallel:
                          ({"JOB_COMPLETION_INDEX": "0", "SOCKFAULT_SHARD_COUNT": "2"}, "1/2"),
                          ({"SOCKFAULT_SHARD": "1/2", "CI_NODE_INDEX": "2",
                            "CI_NODE_TOTAL": "2"}, "1/2")):  # the explicit one wins
            p, got = self.shard_of(env)
            self.assertEqual((p.returncode, got), (0, want), (env, p.stderr))
            self.assertIn(f"shard {want} (from ", p.stderr)

    def test_errors(self):
        for env, says in (({}, "no shard in the environment"),
                          ({"SOCKFAULT_SHARD": "3/2"}, "SOCKFAULT_SHARD '3/2'"),
                          ({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "2"}, "CI_NODE_INDEX"),
                          ({"CI_NODE_TOTAL": "2"}, "(unset)"),
                          ({"JOB_COMPLETION_INDEX": "1"}, "SOCKFAULT_SHARD_COUNT"),
                          ({"JOB_COMPLETION_INDEX": "-1", "SOCKFAULT_SHARD_COUNT": "2"},
                           "JOB_COMPLETION_INDEX '-1'"),
                          ({"JOB_COMPLETION_INDEX": "2", "SOCKFAULT_SHARD_COUNT": "2"},
                           "'3/2'")):
            p, _ = self.shard_of(env)
            self.assertEqual(p.returncode, 2, (env, p.stderr))
            self.assertIn(says, p.stderr, env)


class Docs(unittest.TestCase):
    """docs/ci.md's ready examples: each YAML block parses, and each engine's example sets
    what --shard auto reads."""

    def blocks(self):
        # python3-yaml comes from scripts/deps.sh: without it the examples go unchecked,
        # so an ImportError fails the test rather than skipping it
        import yaml
        with open(os.environ["SF_CI_DOC"], encoding="utf-8") as f:
            text = f.read()
        parts = text.split("```yaml\n")[1:]
        return [yaml.safe_load(p.split("```", 1)[0]) for p in parts]

    def test_examples(self):
        github, gitlab, k8s = self.blocks()
        steps = github["jobs"]["explore"]["steps"]
        step = [st for st in steps if "--shard auto" in st.get("run", "")][0]
        self.assertIn("SOCKFAULT_SHARD", step["env"])
        self.assertEqual(gitlab["explore"]["parallel"], 4)
        self.assertIn("--shard auto", " ".join(gitlab["explore"]["script"]))
        spec = k8s["spec"]
        self.assertEqual(spec["completionMode"], "Indexed")
        env = {e["name"]: e["value"] for e in spec["template"]["spec"]["containers"][0]["env"]}
        self.assertEqual(env["SOCKFAULT_SHARD_COUNT"], str(spec["completions"]))


if __name__ == "__main__":
    strays_main(CLI, TARGETS)
