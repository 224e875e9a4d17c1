#!/usr/bin/env python3
"""The README's Quick start works as printed right after the set-up: its commands use only
what the set-up leaves (build/bin, build/lib, the packages scripts/deps.sh installs), and the
bare LD_PRELOAD example, run as printed (build/ being this build tree), fails Python's first
socket() with EMFILE.

Environment: SF_SOURCE (the source tree), SF_BUILD (the build tree).
"""
import os
import re
import shutil
import subprocess
import unittest

SOURCE = os.environ.get("SF_SOURCE", "")
BUILD = os.environ.get("SF_BUILD", "")


def quick_start():
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


class QuickStart(unittest.TestCase):
    def test_paths_exist(self):
        block = quick_start()
        self.assertIn('export PATH="$PWD/build/bin:$PATH"', block)
        for path in re.findall(r"\$PWD/(build/[\w./-]+)", block):
            self.assertTrue(os.path.exists(os.path.join(BUILD, path[len("build/"):])), path)
        with open(os.path.join(SOURCE, "scripts", "deps.sh"), encoding="utf-8") as f:
            deps = f.read()
        for tool in ("socat", "curl", "python3"):
            self.assertIn(tool, block)
            self.assertRegex(deps, rf"packages=\([^)]*\b{tool}\b", tool)

    def test_preload_example_as_printed(self):
        block = quick_start()
        cmd = block[block.index("SOCKFAULT='socket"):].split("\n\n", 1)[0].replace("\\\n", " ")
        # $PWD/build is where the set-up builds; here it is this build tree
        cmd = cmd.replace('"$PWD/build/', f'"{BUILD}/')
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOCKFAULT")}
        p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("[Errno 24] Too many open files", p.stderr)


if __name__ == "__main__":
    if not SOURCE or not BUILD or not shutil.which("sh"):
        raise SystemExit("set SF_SOURCE and SF_BUILD")
    unittest.main()
