#!/usr/bin/env python3
"""explore's progress line: what a user sees when stderr is a terminal.

explore runs with stderr on a pseudo-terminal (the reading end kept by this test) and stdout
to a file. The bytes explore wrote to the terminal are checked as a sequence of redraws
(each "\\r\\033[K" then the line), and are also played through a small VT100 model (carriage
return, line feed, erase to end of line, wrap at the right margin) to see the screen the user
is left with. The same exploration with stderr a pipe must show no progress at all, print the
same report and exit with the same status.

Environment: SF_CLI (the sockfault command), SF_TARGETS (the built tests/targets).
"""
import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time
import unittest

from strays import main as strays_main  # noqa: E402  (sets this test's SF_TEST_TOKEN)

CLI = os.environ.get("SF_CLI", "")
TARGETS = os.environ.get("SF_TARGETS", "")
REDRAW = "\r\033[K"  # what explore writes before each state of the line
FRAME = re.compile(r"explore: (\d+)/(\d+) runs, (\d+) findings? so far, ETA (\d+):(\d\d)")
RUN_TIMEOUT = 120  # seconds for one whole exploration, ASan tree included


def target(name):
    return os.path.join(TARGETS, name)


class Run:
    """One explore with stderr on a pty (tty=True) or a pipe; stdout to a file."""

    def __init__(self, args, tty=True, cols=80):
        self.tmp = tempfile.mkdtemp(prefix="sf-progress-test.")
        runtmp = os.path.join(self.tmp, "tmp")
        os.mkdir(runtmp)
        self.json_path = os.path.join(self.tmp, "report.json")
        cmd = [CLI, "explore", "--json", self.json_path] + args
        env = dict(os.environ, TMPDIR=runtmp)
        with open(os.path.join(self.tmp, "stdout"), "w+b") as out:
            if tty:
                self.rc, err = self._on_pty(cmd, env, out, cols)
            else:
                self.rc, err = self._on_pipe(cmd, env, out)
            out.seek(0)
            self.out = out.read().decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")
        self.leftover = os.listdir(runtmp)
        self.report = None
        if os.path.exists(self.json_path):
            with open(self.json_path, encoding="utf-8") as f:
                self.report = json.load(f)
        shutil.rmtree(self.tmp, ignore_errors=True)

    @staticmethod
    def _reap(p):
        """Wait for explore by its pid; past the deadline kill its group and still reap it."""
        try:
            return p.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
            raise

    def _on_pipe(self, cmd, env, out):
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                             env=env, start_new_session=True)
        try:
            _, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate(timeout=30)
            raise
        return p.returncode, err

    def _on_pty(self, cmd, env, out, cols):
        master, slave = os.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
            # start_new_session: the pty is never explore's controlling terminal, only its fd 2
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=slave,
                                 env=env, start_new_session=True)
            os.close(slave)
            slave = -1
            err = b""
            try:
                deadline = time.monotonic() + RUN_TIMEOUT
                while time.monotonic() < deadline:
                    ready, _, _ = select.select([master], [], [], 0.2)
                    if not ready:
                        if p.poll() is not None:
                            break  # exited, and no one else holds the terminal's writing end
                        continue
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:  # EIO: every writing end closed
                        break
                    if not chunk:
                        break
                    err += chunk
            finally:
                rc = self._reap(p)
            return rc, err
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)

    def frames(self):
        """The states of the progress line, in order, as (done, total, findings)."""
        return [tuple(int(g) for g in m.groups()[:3]) for m in FRAME.finditer(self.err)]


def screen(data, cols):
    """The screen a VT100 shows after data (ONLCR already applied by the pty): the rows'
    text and the cursor's column. Fails on any escape sequence but erase-to-end-of-line."""
    rows, row, col = {0: []}, 0, 0
    i = 0
    while i < len(data):
        c = data[i]
        if c == "\033":
            if not data.startswith("\033[K", i):
                raise AssertionError(f"unexpected escape sequence {data[i:i + 8]!r}")
            line = rows.setdefault(row, [])
            del line[min(col, cols - 1):]
            i += 3
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            row += 1
        else:
            if col >= cols:  # the right margin: the line wraps
                row, col = row + 1, 0
            line = rows.setdefault(row, [])
            line.extend(" " * (col - len(line)))
            line[col:col + 1] = [c]
            col += 1
        rows.setdefault(row, [])
        i += 1
    return ["".join(rows.get(r, [])).rstrip() for r in range(row + 1)], col


class ProgressTest(unittest.TestCase):
    maxDiff = None
    # trivial with 3 sockets: 3 occurrences each of socket and close, 33 points, < 1 s
    # --errnos all: close's points too (it has no env errno), enough runs to redraw the line
    ARGS = ["--jobs", "2", "--timeout", "5", "--errnos", "all", "--", target("trivial"), "8"]

    @classmethod
    def setUpClass(cls):
        cls.tty = Run(cls.ARGS)
        cls.pipe = Run(cls.ARGS, tty=False)

    def test_line_on_terminal(self):
        x = self.tty
        self.assertIsNotNone(x.report, x.err)
        total = len(x.report["points"])
        self.assertGreater(total, 1)
        frames = x.frames()
        self.assertTrue(frames, f"no progress line on the terminal: {x.err!r}")
        for done, tot, _ in frames:
            self.assertEqual(tot, total, frames)
            self.assertLessEqual(done, tot, frames)
        dones = [d for d, _, _ in frames]
        self.assertEqual(dones, sorted(dones), "the count went backwards")
        self.assertEqual(frames[-1][:2], (total, total), "the last state is not all runs done")

    def test_redrawn_in_place(self):
        x = self.tty
        lines = [m.group(0) for m in FRAME.finditer(x.err)]
        self.assertGreaterEqual(len(lines), 2, f"the line was drawn once only: {x.err!r}")
        # each state is a redraw of the same line: preceded by "\r\033[K", no newline anywhere
        drawn = x.err.split(REDRAW)
        self.assertEqual([s for s in drawn if FRAME.fullmatch(s)], lines, repr(x.err))
        self.assertNotIn("\n", x.err, "a new line on the terminal")

    def test_terminal_left_clean(self):
        x = self.tty
        rows, col = screen(x.err, 80)
        self.assertEqual(col, 0, f"the cursor is left mid-line: {rows!r}")
        for r in rows:
            self.assertNotIn("runs,", r, f"the progress line is left on the screen: {rows!r}")
            self.assertTrue(r == "" or r.startswith("sockfault"), rows)

    def test_report_and_status_as_without_terminal(self):
        self.assertEqual(self.tty.rc, 0, self.tty.err)
        self.assertEqual(self.pipe.rc, self.tty.rc)

        def stable(out):  # the baseline's duration differs from run to run
            return re.sub(r"^baseline: .*$", "baseline:", out, flags=re.M)
        self.assertEqual(stable(self.tty.out), stable(self.pipe.out))
        total = len(self.tty.report["points"])
        self.assertTrue(self.tty.out.startswith("sockfault explore: "), self.tty.out)
        self.assertIn("findings: 0", self.tty.out)
        self.assertRegex(self.tty.out, rf"\nsummary: {total} runs, [^\n]*\n\Z")
        for x in (self.tty, self.pipe):
            self.assertNotIn("\r", x.out, "progress on stdout")
            self.assertNotIn("\033", x.out, "progress on stdout")
            self.assertEqual(x.leftover, [], "explore left files in TMPDIR")

    def test_nothing_off_a_terminal(self):
        x = self.pipe
        self.assertIsNotNone(x.report)
        self.assertEqual(x.frames(), [], x.err)
        self.assertNotIn("\r", x.err)
        self.assertNotIn("\033", x.err)
        self.assertNotIn(" so far", x.err)

    def test_quiet_keeps_the_line(self):
        """-q is "no text report on stdout": the stdout of a script; the terminal still shows
        how far the exploration is, and is left as clean."""
        x = Run(["-q"] + self.ARGS)
        self.assertEqual(x.rc, 0, x.err)
        self.assertIsNotNone(x.report, x.err)
        self.assertEqual(x.out, "")
        frames = x.frames()
        self.assertTrue(frames, repr(x.err))
        self.assertEqual(frames[-1][:2], (len(x.report["points"]),) * 2)
        rows, col = screen(x.err, 80)
        self.assertEqual(col, 0, rows)
        self.assertFalse([r for r in rows if "runs," in r], rows)


class StateTest(unittest.TestCase):
    def test_findings_so_far(self):
        """The findings on the line are those of the runs done: counted as each run ends,
        not when the whole phase is over (the line said 0 until the report)."""
        x = Run(["--jobs", "2", "--timeout", "5", "--fail-on", "fd-leak", "--",
                 target("connect_leak_bug")])
        self.assertEqual(x.rc, 1, x.err)
        self.assertIsNotNone(x.report, x.err)
        want = sum(p["finding"] for p in x.report["points"])
        self.assertGreater(want, 0)
        self.assertLess(want, len(x.report["points"]))
        frames = x.frames()
        self.assertTrue(frames, repr(x.err))
        found = [f for _, _, f in frames]
        self.assertEqual(found, sorted(found), frames)
        self.assertTrue(all(f <= d for d, _, f in frames), frames)
        self.assertEqual(frames[-1], (len(x.report["points"]), len(x.report["points"]), want))
        self.assertIn(f"findings: {want} ", x.out)

    def test_depth_2(self):
        """Pairs are counted on from the single faults: the total grows once they are known,
        the count goes on from where it was, and ends at every point."""
        # trivial's later calls (close) have bug-class errnos only: --errnos all makes pairs
        x = Run(["--depth", "2", "--budget", "12", "--jobs", "2", "--timeout", "5",
                 "--errnos", "all", "--", target("trivial"), "3"])
        self.assertEqual(x.rc, 0, x.err)
        self.assertIsNotNone(x.report, x.err)
        total = len(x.report["points"])
        singles = sum(len(p["faults"]) == 1 for p in x.report["points"])
        self.assertGreater(total, singles)
        frames = x.frames()
        self.assertEqual({t for _, t, _ in frames}, {singles, total}, frames)
        dones = [d for d, _, _ in frames]
        self.assertEqual(dones, sorted(dones), frames)
        self.assertTrue(all(d <= t for d, t, _ in frames), frames)
        self.assertIn((singles, singles, 0), frames)
        self.assertEqual(frames[-1], (total, total, 0))

    def test_baseline_failure(self):
        """The baseline's runs are not points: no line for them (it said 1/2, 2/2 runs, then
        counted the points from 1), and the reason the baseline failed starts its own line
        (it was glued to the end of the progress line)."""
        x = Run(["--expect-status", "3", "--timeout", "5", "--", target("trivial"), "3"],
                cols=200)
        self.assertEqual(x.rc, 6, x.err)
        self.assertEqual(x.frames(), [], repr(x.err))
        rows, col = screen(x.err, 200)
        self.assertEqual(col, 0, rows)
        self.assertTrue(rows[0].startswith("sockfault explore: the baseline (unfaulted) run "
                                           "failed: exited with status 0, expected 3"), rows)
        self.assertNotIn(REDRAW, x.err)
        self.assertEqual(x.out, "")

    def test_narrow_terminal(self):
        """A line wider than the terminal wraps, and "\r\033[K" erases only its last row: each
        redraw would leave a row behind. The line is cut to the terminal's width."""
        cols = 30
        x = Run(["--jobs", "2", "--timeout", "5", "--", target("trivial"), "3"], cols=cols)
        self.assertEqual(x.rc, 0, x.err)
        drawn = [s for s in x.err.split(REDRAW) if s]
        self.assertTrue(drawn, repr(x.err))
        for s in drawn:
            self.assertLess(len(s), cols, drawn)
            self.assertTrue(s.startswith("explore: "), drawn)
        rows, col = screen(x.err, cols)
        self.assertEqual((rows, col), ([""], 0), "rows left on a narrow terminal")


if __name__ == "__main__":
    strays_main(CLI, TARGETS)
