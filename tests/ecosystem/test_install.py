#!/usr/bin/env python3
"""sockfault as another project sees it: `cmake --install` into a temp prefix, then
find_package(SockFault) from tests/ecosystem/consumer and examples/echo, pkg-config, and
the installed command finding its relocated shim. The echo example's ctest (one
sockfault_add_explore_test line) must pass, and must fail once the server has a bug.

Environment from ctest: SF_BUILD_DIR, SF_SOURCE_DIR, SF_CMAKE, SF_CTEST.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

BUILD = os.environ["SF_BUILD_DIR"]
SOURCE = os.environ["SF_SOURCE_DIR"]
CMAKE = os.environ.get("SF_CMAKE", "cmake")
CTEST = os.environ.get("SF_CTEST", "ctest")
T = 240  # seconds any single step may take
# The example is code we ship: it builds warning-free.
WARN = "-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Werror"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOCKFAULT") and k not in ("LD_PRELOAD", "PKG_CONFIG_PATH",
                                                          "CMAKE_PREFIX_PATH")}
    # ctest's own settings must not leak into the nested ctest runs
    env = {k: v for k, v in env.items() if not k.startswith("CTEST_")}
    env.update(extra)
    return env


def run(*cmd, check=True, **kw):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=T,
                       env=kw.pop("env", clean_env()), **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return p


class InstalledPrefix(unittest.TestCase):
    """sockfault installed into a fresh temp prefix for the class's tests (no tests of its
    own: tests/fuzz/test_fuzz_example.py builds on it too)."""
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sf-eco-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        run(CMAKE, "--install", BUILD, "--prefix", cls.prefix)
        # the layout the build was configured with (GNUInstallDirs: lib or lib64 …)
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            cache = f.read()
        cls.libdir = next((line.split("=", 1)[1] for line in cache.splitlines()
                           if line.startswith("CMAKE_INSTALL_LIBDIR:")), "lib")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.prefix, *parts)


class Installed(InstalledPrefix):
    def test_layout(self):
        for rel in ["bin/sockfault", "bin/sockfault-fuzz", f"{self.libdir}/libsockfault.so",
                    "include/sockfault/sockfault.h", "include/sockfault/exit.h",
                    f"{self.libdir}/cmake/SockFault/SockFaultConfig.cmake",
                    f"{self.libdir}/cmake/SockFault/SockFaultConfigVersion.cmake",
                    f"{self.libdir}/cmake/SockFault/SockFaultExplore.cmake",
                    f"{self.libdir}/cmake/SockFault/SockFaultFuzz.cmake",
                    f"{self.libdir}/cmake/SockFault/SockFaultFuzzRun.cmake",
                    "include/sockfault/fuzz.h", f"{self.libdir}/libsockfault_fuzz.a",
                    f"{self.libdir}/libsockfault_fuzz_main.a",
                    "share/sockfault/fuzz/schedule.dict", "share/sockfault/fuzz/schedules/none",
                    f"{self.libdir}/pkgconfig/sockfault.pc",
                    "share/man/man1/sockfault.1", "share/man/man7/sockfault-rules.7",
                    "share/bash-completion/completions/sockfault"]:
            self.assertTrue(os.path.isfile(self.path(rel)), rel)
        if os.path.exists(os.path.join(BUILD, "bin", "sockfault-refserver")):
            self.assertTrue(os.path.isfile(self.path("bin/sockfault-refserver")))

    def test_man_finds_the_installed_pages(self):
        # scripts/deps.sh installs man-db: its absence is a broken set-up, not a skip
        self.assertTrue(shutil.which("man"), "man (man-db) is not installed: scripts/deps.sh")
        for section, page in (("1", "sockfault"), ("7", "sockfault-rules")):
            p = run("man", "-M", self.path("share", "man"), "-P", "cat", section, page,
                    env=clean_env(MANWIDTH="80"))
            self.assertIn(page.upper(), p.stdout.splitlines()[0])

    def test_relocated_command_finds_its_shim(self):
        # no SOCKFAULT_SHIM: the command finds the shim from its own place in the prefix.
        # family=inet: the count is of the program's own socket, never an AF_UNIX one that
        # Python's start-up or a pyenv shim's user lookup (NSS, nscd) might make first
        p = run(self.path("bin/sockfault"), "run", "-e", "socket:error=EMFILE:when=1:family=inet",
                "--", "python3", "-c",
                "import socket\ntry:\n socket.socket()\nexcept OSError as e:\n print(e.errno)",
                check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "24")

    def test_pkg_config(self):
        self.assertTrue(shutil.which("pkg-config"), "pkg-config is not installed: scripts/deps.sh")
        env = clean_env(PKG_CONFIG_PATH=self.path(self.libdir, "pkgconfig"))
        shim = run("pkg-config", "--variable=shim", "sockfault", env=env).stdout.strip()
        cmd = run("pkg-config", "--variable=sockfault", "sockfault", env=env).stdout.strip()
        # tidy: the paths as they are, no "lib/pkgconfig/../.." to resolve
        self.assertEqual(shim, self.path(self.libdir, "libsockfault.so"))
        self.assertEqual(cmd, self.path("bin/sockfault"))
        cflags = run("pkg-config", "--cflags", "sockfault", env=env).stdout.split()
        self.assertEqual(cflags, ["-I" + self.path("include")])
        version = run("pkg-config", "--modversion", "sockfault", env=env).stdout.strip()
        self.assertEqual(version, run(self.path("bin/sockfault"), "--version").stdout.split()[1])

    def build(self, src, name, *defs):
        out = os.path.join(self.tmp, name)
        run(CMAKE, "-S", src, "-B", out, f"-DCMAKE_PREFIX_PATH={self.prefix}",
            f"-DCMAKE_C_FLAGS={WARN}", *defs)
        run(CMAKE, "--build", out)
        return out

    def test_consumer(self):
        out = self.build(os.path.join(SOURCE, "tests", "ecosystem", "consumer"), "consumer")
        run(CTEST, "--test-dir", out, "--output-on-failure")
        self.assertTrue(os.path.isfile(os.path.join(out, "sockfault", "explore_socket.junit.xml")))
        # what sockfault_add_explore_test made of its arguments
        shown = json.loads(run(CTEST, "--test-dir", out, "--show-only=json-v1").stdout)
        tests = {t["name"]: t for t in shown["tests"]}
        cmd = tests["explore_socket"]["command"]
        sockfault = os.path.join(self.prefix, "bin", "sockfault")
        self.assertTrue(os.path.samefile(cmd[0], sockfault))
        self.assertEqual(cmd[1], "explore")
        opts = cmd[2:cmd.index("--")]
        for pair in (["--calls", "socket"], ["--errnos", "EMFILE,ENFILE"],
                     ["--fail-on", "crash,hang,sanitizer"], ["--timeout", "5"], ["--jobs", "2"],
                     ["--max-per-call", "1"], ["--expect-status", "0"],
                     ["--require-points", "1"]):
            i = opts.index(pair[0])
            self.assertEqual(opts[i:i + 2], pair)
        self.assertIn("--quiet", opts)
        self.assertEqual(cmd[cmd.index("--") + 1:], [os.path.join(out, "control"), "socket"])
        props = {p["name"]: p["value"] for p in tests["explore_socket"]["properties"]}
        self.assertEqual(props["LABELS"], ["consumer"])
        self.assertEqual(props["PROCESSORS"], 2)
        shim = [e for e in props["ENVIRONMENT"] if e.startswith("SOCKFAULT_SHIM=")]
        self.assertTrue(shim and os.path.samefile(shim[0].split("=", 1)[1],
                                                  self.path(self.libdir, "libsockfault.so")))
        # an exploration of nothing (none of the selected calls made) fails the test
        nothing = tests["explore_nothing"]["command"]
        self.assertIn("--require-points", nothing)
        env = dict(os.environ, SOCKFAULT_SHIM=shim[0].split("=", 1)[1])
        p = subprocess.run(nothing, capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(p.returncode, 9, p.stderr)
        self.assertIn("tested nothing", p.stderr)
        check = tests["explore_check_words"]["command"]
        self.assertEqual(check[check.index("--check") + 1],
                         os.path.join(out, "control") + " 'it'\\''s two words'")

    def test_version_mismatch_refused(self):
        src = os.path.join(self.tmp, "wants-99")
        os.makedirs(src)
        with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.16)\nproject(x NONE)\n"
                    "find_package(SockFault 99 REQUIRED)\n")
        p = run(CMAKE, "-S", src, "-B", os.path.join(self.tmp, "wants-99-build"),
                f"-DCMAKE_PREFIX_PATH={self.prefix}", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SockFault", p.stderr)

    def test_example_echo(self):
        out = self.build(os.path.join(SOURCE, "examples", "echo"), "echo")
        p = run(CTEST, "--test-dir", out, "--output-on-failure", check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        junit = os.path.join(out, "sockfault", "echo-server-socket-errors.junit.xml")
        root = ET.parse(junit).getroot()
        cases = root.findall(".//testcase")
        self.assertGreater(len(cases), 10)
        self.assertEqual(root.findall(".//failure"), [])
        self.assertTrue(os.path.isfile(junit.replace(".junit.xml", ".json")))

    def test_example_lineclient(self):
        # with the default compiler: no fuzzing engine, so a replay-only target; its replay
        # test runs the corpus with the shim preloaded
        out = self.build(os.path.join(SOURCE, "examples", "lineclient"), "lineclient")
        p = run(CTEST, "--test-dir", out, "--output-on-failure", check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("fuzz_lineclient_replay", p.stdout)
        shown = json.loads(run(CTEST, "--test-dir", out, "--show-only=json-v1").stdout)
        tests = {t["name"]: t for t in shown["tests"]}
        props = {p["name"]: p["value"] for p in tests["fuzz_lineclient_replay"]["properties"]}
        pre = [e for e in props["ENVIRONMENT"] if e.startswith("LD_PRELOAD=")]
        self.assertTrue(pre and os.path.samefile(pre[0].split("=", 1)[1],
                                                 self.path(self.libdir, "libsockfault.so")))
        # the replay-only program runs each input it is given, once
        one = os.path.join(self.tmp, "lineclient-input")
        with open(one, "wb") as f:  # no fault, one line
            f.write(b"\x00hello\n")
        env = clean_env(LD_PRELOAD=self.path(self.libdir, "libsockfault.so"))
        exe = os.path.join(out, "fuzz_lineclient")
        p = run(exe, one, check=False, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Running: " + one, p.stderr)
        # and without the shim it refuses rather than run unfaulted
        p = run(exe, one, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("libsockfault.so is not preloaded", p.stderr)
        # the installed campaign runner will not "fuzz" a replay-only build, and names a bad
        # argument (tests/fuzz/test_fuzz_example.py runs its campaigns)
        fuzz = self.path("bin/sockfault-fuzz")
        camp = os.path.join(self.tmp, "lineclient-campaign")
        p = run(fuzz, exe, "--time", "1", "--out", camp, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("built without a fuzzing engine", p.stderr)
        self.assertFalse(os.path.exists(camp))
        for args, bad in ((["--time", "1m"], "--time 1m"), (["--time", "0"], "--time 0"),
                          (["--jobs", "0"], "--jobs 0"),
                          (["--seed-dir", "/nonexistent"], "/nonexistent"),
                          (["--engine", "honggfuzz"], "honggfuzz"), (["--bogus"], "--bogus")):
            p = run(fuzz, *args, exe, check=False)
            self.assertEqual(p.returncode, 2, f"{args}: {p.stderr}")
            self.assertIn(bad, p.stderr)
        p = run(fuzz, "--help")
        self.assertIn("--seed-dir", p.stdout)
        # a libFuzzer target that cannot start runs no input: an error, not "no crash"
        dead = os.path.join(self.tmp, "dead_fuzzer")
        with open(dead, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\n# -max_total_time\necho 'ERROR: cannot start' >&2\nexit 1\n")
        os.chmod(dead, 0o755)
        camp = os.path.join(self.tmp, "dead-campaign")
        p = run(fuzz, dead, "--time", "1", "--out", camp, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("libFuzzer ran no input", p.stderr)
        self.assertIn("ERROR: cannot start", p.stderr)

    def test_example_echo_with_a_bug_fails(self):
        out = self.build(os.path.join(SOURCE, "examples", "echo"), "echo-bug", "-DECHO_BUG=ON")
        p = run(CTEST, "--test-dir", out, "--output-on-failure", check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        junit = os.path.join(out, "sockfault", "echo-server-socket-errors.junit.xml")
        failures = ET.parse(junit).getroot().findall(".//failure")
        self.assertGreater(len(failures), 0)
        self.assertIn("accept", " ".join(ET.tostring(f, encoding="unicode") for f in failures)
                      + p.stdout)


if __name__ == "__main__":
    unittest.main()
