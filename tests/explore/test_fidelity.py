#!/usr/bin/env python3
"""explore judges the program as it is, whatever it does to the shim (issue 19), end to end.

  readiness   sandboxed_server closes the shim's log where the shim cannot reopen it (a
              read-only seccomp sandbox) and listens in a worker process: explore still sees
              it listen (/proc: the process tree's listening sockets), says its log went
              silent, and explores the calls the log did show
  fd table    pool_leak_bug exits with its fd table full of sockets after a failed send:
              fd-leak with the sockets counted (the shim's exit record cannot list
              /proc/self/fd then); its twin closes them: ok
  FIFOs       a FIFO given as a report to write (--json, --junit, --html) or to read (merge,
              replay) is refused with a message naming it, never waited on; an open pipe
              (>(...), <(...)) is not a FIFO to wait on and is taken
  fork        fork_server forks a child per connection: explore counts over the process
              tree (:per=tree), so a point fails one request, not the first recv of every
              child (which would look like a server that stopped serving); and the rule
              itself under `sockfault run`: per=tree fails the 1st recv of the tree once,
              per=process the 1st recv of every child
  --force     recorded in the report's options (and --errnos all's): kept by merge, which
              refuses to mix forced and unforced shards, and by replay (:force in its rules)

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from strays import main  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")


def target(name):
    return os.path.join(TARGETS, name)


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sf-fidelity.")
        self.env = dict(os.environ, TMPDIR=self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def sockfault(self, *args, timeout=120):
        return subprocess.run([CLI, *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout)

    def explore(self, name, *args, timeout=120):
        path = os.path.join(self.tmp, name + ".json")
        p = self.sockfault("explore", "-q", "--kinds", "once", "--json", path, *args,
                           timeout=timeout)
        report = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
        return p, report, path


class ForkPerConnection(Tmp):
    def test_explore_counts_over_the_tree(self):
        p, r, _ = self.explore("fork", "--calls", "recv", "--max-per-call", "2", "--errnos",
                               "ECONNRESET,ETIMEDOUT", "--check",
                               f"{target('ping_client')} {{port}}", "--",
                               target("fork_server"), "{port}")
        msg = f"rc={p.returncode}\nstderr:\n{p.stderr}"
        self.assertEqual(p.returncode, 0, msg)
        self.assertIn("more than one process (it forks)", p.stderr)
        self.assertEqual(len(r["points"]), 4, msg)
        for pt in r["points"]:
            self.assertTrue(pt["rules"].endswith(":per=tree"), pt)
            self.assertTrue(pt["faults"][0].get("per_tree"), pt)
            self.assertTrue(pt["fired"], pt)
            self.assertEqual(pt["class"], "ok", pt)

    def test_search_and_pairs_count_over_the_tree(self):
        """--search's and --depth 2's faults count over the tree too: per process, a fault
        the search added on a child's recv failed every child's, a false stopped-serving."""
        common = ["--calls", "recv,send,close", "--max-per-call", "2", "--check",
                  f"{target('ping_client')} {{port}}", "--", target("fork_server"), "{port}"]
        # --depth 2: close's EINTR (forced: a socket's close never gives it) is the only
        # second fault a failed recv or send leaves in the child
        for mode in (["--search", "40", "--max-faults", "2", "--errnos", "ECONNRESET,EPIPE"],
                     ["--depth", "2", "--budget", "8", "--force", "--errnos",
                      "ECONNRESET,EPIPE,EINTR"]):
            p, r, _ = self.explore("fork-more", *mode, *common)
            msg = f"{mode} rc={p.returncode}\nstderr:\n{p.stderr}"
            self.assertIn(p.returncode, (0, 1), msg)
            self.assertTrue(r and r["points"], msg)
            for pt in r["points"]:
                self.assertTrue(all(f.get("per_tree") for f in pt["faults"]), pt)
                self.assertNotEqual(pt["class"], "stopped-serving", pt)
            if mode[0] == "--search":
                self.assertEqual(r["summary"]["findings"], 0, msg)
            else:
                self.assertTrue([pt for pt in r["points"] if len(pt["faults"]) > 1], msg)

    def test_per_tree_across_exec(self):
        """A program the tree execs counts on with it, under both backends (the shim maps
        the tree's page again, even when Python's subprocess closed the inherited fd)."""
        prog = os.path.join(self.tmp, "exec_child.py")
        with open(prog, "w", encoding="utf-8") as f:
            f.write("import socket, subprocess, sys\n"
                    "if len(sys.argv) > 1:\n"
                    "    try:\n"
                    "        socket.socket(); print('child ok')\n"
                    "    except OSError as e:\n"
                    "        print('child fail', e.errno)\n"
                    "    sys.exit(0)\n"
                    "socket.socket()\n"
                    "subprocess.run([sys.executable, sys.argv[0], 'child'])\n")
        # per process, the exec'd shim starts afresh (under seccomp an exec keeps the
        # process's count: sockfault(1) BACKENDS). family=inet: without HOME (as in CI)
        # Python's start-up and the pyenv shim look the user up through NSS, whose AF_UNIX
        # socket() to nscd would take the count's 2nd place.
        for backend, rule, want in (
                ("preload", "socket:error=EMFILE:when=2:per=tree:family=inet", "child fail 24"),
                ("seccomp", "socket:error=EMFILE:when=2:per=tree:family=inet", "child fail 24"),
                ("preload", "socket:error=EMFILE:when=2:family=inet", "child ok")):
            p = self.sockfault("run", "--backend", backend, "-e", rule, "--", "python3", prog)
            self.assertEqual(p.stdout.strip(), want, (backend, rule, p.stderr))

    def test_run_per_tree_and_per_process(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # the readiness probe's child races the first ping's child for the tree's 1st recv:
        # per=tree fails at most one of the pings, per process every one
        for rule, most, least in (("recv:error=ECONNRESET:when=1:per=tree", 1, 0),
                                  ("recv:error=ECONNRESET:when=1", 3, 3)):
            srv = subprocess.Popen([CLI, "run", "-e", rule, "--", target("fork_server"),
                                    str(port)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=self.env)
            try:
                # a server that never listened would fail every ping: per process, a pass
                deadline = time.monotonic() + 10
                while True:
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        self.assertIsNone(srv.poll(), (rule, "the server exited"))
                        self.assertLess(time.monotonic(), deadline, (rule, "never listened"))
                        time.sleep(0.05)
                failed = sum(subprocess.run([target("ping_client"), str(port)],
                                            timeout=10).returncode != 0 for _ in range(3))
                self.assertTrue(least <= failed <= most, (rule, failed))
                # the failures were the children's: the server itself still serves
                self.assertIsNone(srv.poll(), (rule, "the server died"))
            finally:
                srv.terminate()
                srv.wait(timeout=10)


class Readiness(Tmp):
    def test_silent_log_still_listening(self):
        p, r, _ = self.explore("sandboxed", "--timeout", "5", "--calls", "bind",
                               "--check", f"{target('ping_client')} {{port}}", "--",
                               target("sandboxed_server"), "{port}")
        msg = f"rc={p.returncode}\nstderr:\n{p.stderr}"
        if p.returncode == 6 and "sandbox: " in p.stderr:  # its own seccomp filter refused
            self.skipTest("the kernel refuses the target's seccomp sandbox here: " + msg)
        self.assertEqual(p.returncode, 0, msg)
        self.assertIn("its log never showed a listen", p.stderr)
        self.assertIn("seen listening in /proc", p.stderr)
        # the log showed socket, setsockopt and bind, then nothing (no exit record)
        self.assertEqual([c["call"] for c in r["baseline"]["timeline"]],
                         ["socket", "setsockopt", "bind"])
        self.assertIsNone(r["baseline"]["sockets"])
        # bind's points: each fired, each an error exit before listening
        self.assertTrue(r["points"])
        for pt in r["points"]:
            self.assertEqual(pt["faults"][0]["call"], "bind")
            self.assertTrue(pt["fired"], pt)
            self.assertEqual(pt["class"], "error-exit", pt)
            self.assertIn("before listening", pt["detail"])


class FullFdTable(Tmp):
    def test_fd_leak_at_the_limit(self):
        args = ("--calls", "send", "--max-per-call", "1", "--fail-on", "fd-leak")
        p, bug, _ = self.explore("bug", *args, "--", target("pool_leak_bug"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(bug["baseline"]["sockets"], 0)
        leaks = [pt for pt in bug["points"] if pt["fired"]]
        self.assertTrue(leaks)
        for pt in leaks:
            # 64 fds: stdio, the pool and its listener (the shim's log may hold one more)
            self.assertEqual(pt["class"], "fd-leak", pt)
            self.assertGreaterEqual(pt["sockets"], 59, pt)
            self.assertLessEqual(pt["sockets"], 61, pt)
            self.assertTrue(pt["finding"])
        p, ok, _ = self.explore("ok", *args, "--", target("pool_leak_ok"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue([pt for pt in ok["points"] if pt["fired"]])
        self.assertTrue(all(pt["class"] in ("ok", "not-reached") for pt in ok["points"]))


class Fifos(Tmp):
    def test_fifo_reports_refused(self):
        fifo = os.path.join(self.tmp, "fifo")
        os.mkfifo(fifo)
        for opt in ("--json", "--junit", "--html"):
            p = self.sockfault("explore", opt, fifo, "--", target("trivial"), "1", timeout=20)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(f"{opt} '{fifo}': a FIFO (refused: it would be waited on", p.stderr)
        _, report, path = self.explore("trivial", "--max-per-call", "1", "--",
                                       target("trivial"), "1")
        self.assertIsNotNone(report)
        p = self.sockfault("merge", "--json", fifo, path, timeout=20)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"--json '{fifo}': a FIFO", p.stderr)
        for verb in ("merge", "replay"):
            p = self.sockfault(verb, fifo, timeout=20)
            self.assertEqual(p.returncode, 4, p.stderr)
            self.assertIn(f"{fifo}: a FIFO (refused: it would be waited on", p.stderr)
        # an open pipe is read or written, not waited on
        sh = f'"$0" merge -q --json >(cat > "$1/piped.json") <(cat "$2") && wait'
        p = subprocess.run(["bash", "-c", sh, CLI, self.tmp, path], capture_output=True,
                           text=True, env=self.env, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.tmp, "piped.json"), encoding="utf-8") as f:
            self.assertEqual(len(json.load(f)["points"]), len(report["points"]))


class Force(Tmp):
    def test_force_kept_by_merge_and_replay(self):
        base = ("--max-per-call", "1", "--calls", "socket")
        prog = ("--", target("trivial"), "1")
        shards = []
        for i, extra in ((1, ("--force",)), (2, ("--force",)), (2, ())):
            _, r, path = self.explore(f"s{i}{len(extra)}", *base, *extra, "--shard",
                                      f"{i}/2", *prog)
            self.assertEqual(r["options"]["force"], bool(extra))
            for pt in r["points"]:
                self.assertEqual(pt["rules"].endswith(":force"), bool(extra), pt["rules"])
            shards.append(path)
        merged = os.path.join(self.tmp, "merged.json")
        p = self.sockfault("merge", "-q", "--json", merged, shards[0], shards[1])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(merged, encoding="utf-8") as f:
            m = json.load(f)
        self.assertTrue(m["options"]["force"])
        self.assertTrue(m["points"])
        self.assertTrue(all(pt["rules"].endswith(":force") for pt in m["points"]))
        p = self.sockfault("merge", "-q", "--json", merged + "2", shards[0], shards[2])
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("one was explored with --force (or --errnos all), the other without",
                      p.stderr)
        p = self.sockfault("replay", merged, "--point", m["points"][0]["id"])
        self.assertIn(m["points"][0]["rules"], p.stderr)
        self.assertIn(":force", m["points"][0]["rules"])
        # --errnos all implies --force: both recorded
        _, r, _ = self.explore("all", *base, "--errnos", "all", *prog)
        self.assertEqual((r["options"]["errnos"], r["options"]["force"]), ("all", True))


if __name__ == "__main__":
    main(CLI, TARGETS)
