#!/usr/bin/env python3
"""scripts/deps.sh against a fake package manager (apt-get, dpkg-query, id on PATH): the
main job's set is only what it needs, and a held lock is waited for, not a failure.

Environment: SF_SOURCE (the source tree).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

DEPS = os.path.join(os.environ.get("SF_SOURCE", ""), "scripts", "deps.sh")
FAKES = {
    # nothing installed
    "dpkg-query": "#!/bin/sh\nexit 1\n",
    "id": "#!/bin/sh\necho 0\n",
    # 'update' fails while $LOCKED_TRIES > 0 (the lists lock held), counting down in a file
    "apt-get": """#!/bin/sh
echo "$@" >> "$FAKE_LOG"
case " $* " in
  *" update "*)
    n=$(cat "$FAKE_DIR/locked" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then
      echo $((n - 1)) > "$FAKE_DIR/locked"
      echo "E: Could not get lock /var/lib/apt/lists/lock" >&2
      exit 100
    fi ;;
esac
exit 0
""",
}


class Deps(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-deps.")
        for name, text in FAKES.items():
            path = os.path.join(self.dir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.log = os.path.join(self.dir, "log")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def deps(self, *args, locked=0, wait=60):
        with open(os.path.join(self.dir, "locked"), "w") as f:
            f.write(str(locked))
        env = dict(os.environ, PATH=f"{self.dir}:{os.environ['PATH']}", FAKE_LOG=self.log,
                   FAKE_DIR=self.dir, DEPS_RETRY_SECS="0.05", DEPS_LOCK_WAIT=str(wait))
        p = subprocess.run(["bash", DEPS, *args], capture_output=True, text=True, env=env,
                           timeout=60)
        calls = open(self.log).read().splitlines() if os.path.exists(self.log) else []
        return p, calls

    def test_main_set_is_small(self):
        p, calls = self.deps("main")
        self.assertEqual(p.returncode, 0, p.stderr)
        install = [c for c in calls if " install " in f" {c} "][0].split()
        for pkg in ("build-essential", "cmake", "python3"):
            self.assertIn(pkg, install)
        for pkg in ("chromium", "afl++", "clang", "fiu-utils", "strace"):
            self.assertNotIn(pkg, install)
        p, calls = self.deps()
        install = [c for c in calls if " install " in f" {c} "][-1].split()
        for pkg in ("build-essential", "chromium", "afl++", "clang"):
            self.assertIn(pkg, install)

    def test_waits_for_the_lock(self):
        p, calls = self.deps("main", locked=3)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sum(" update" in f" {c}" for c in calls), 4)  # 3 refused, then done
        self.assertIn("retrying", p.stderr)
        for c in calls:  # dpkg's own lock: apt waits for it
            self.assertIn("DPkg::Lock::Timeout=60", c)
        p, calls = self.deps("main", locked=1000, wait=1)
        self.assertEqual(p.returncode, 1)
        self.assertIn("still failing after 1s", p.stderr)


if __name__ == "__main__":
    unittest.main()
