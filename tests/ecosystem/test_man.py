#!/usr/bin/env python3
"""The man pages render without a warning (man -l), sockfault-rules(7) carries the call
table the command prints, and sockfault(1) documents exactly the verbs and options that
`sockfault --help` and `sockfault VERB --help` list.

Environment from ctest: SF_CLI (sockfault), SF_MAN_DIR (the build tree's man/).
"""
import json
import os
import re
import shutil
import subprocess
import unittest

CLI = os.environ["SF_CLI"]
MAN_DIR = os.environ["SF_MAN_DIR"]
MAN1 = os.path.join(MAN_DIR, "man1", "sockfault.1")
MAN7 = os.path.join(MAN_DIR, "man7", "sockfault-rules.7")
T = 60
# -h/--help is every verb's; a verb's help text need not list it.
IMPLICIT = {"-h", "--help"}


def render(page):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-P", "cat", "-l", page],
                       capture_output=True, text=True, timeout=T, env=env)
    return p


def read(path):
    with open(path) as f:
        return f.read()


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=T)


def help_verbs():
    out = cli("--help").stdout
    block = out.split("verbs:", 1)[1].split("\n\n", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\s+([a-z][a-z-]*)\s", block, re.M)]


def help_options(verb):
    """Options a verb's --help names: in its usage lines and at the start of option lines."""
    text = cli(verb, "--help").stdout
    usage = text.split("\n\n", 1)[0]
    opts = set(re.findall(r"\[(--?[A-Za-z][A-Za-z0-9-]*)", usage))
    for line in text.splitlines():
        m = re.match(r"^\s+(-[A-Za-z])?(?:,\s+)?(--[A-Za-z][A-Za-z0-9-]*)?\b", line)
        if m and (m.group(1) or m.group(2)) and line.lstrip().startswith("-"):
            opts.update(g for g in m.groups() if g)
    return opts


def man_sections(source):
    """{verb: [set of spellings per .TP tag]} from the .SS "sockfault VERB" sections."""
    sections, cur, lines = {}, None, source.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'^\.SS\s+"sockfault ([a-z-]+)"', line)
        if m:
            cur = sections.setdefault(m.group(1), [])
            continue
        if line.startswith(".SH"):
            cur = None
        if cur is not None and line.startswith(".TP") and i + 1 < len(lines):
            tag = lines[i + 1].replace("\\-", "-")
            spellings = set(re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)", tag))
            if spellings:
                cur.append(spellings)
    return sections


class ManPages(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # scripts/deps.sh installs man-db: without it the set-up is broken, the test fails
        if not shutil.which("man"):
            raise AssertionError("man (man-db) is not installed: scripts/deps.sh")

    def check_renders(self, page, title):
        p = render(page)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", f"{page}: groff warnings")
        self.assertIn(title, p.stdout.splitlines()[0])
        self.assertNotRegex(p.stdout, r"@[A-Z_]+@", "an unexpanded marker")
        return p.stdout

    def test_sockfault_1_renders(self):
        text = self.check_renders(MAN1, "SOCKFAULT(1)")
        for head in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT",
                     "EXAMPLES", "SEE ALSO"):
            self.assertRegex(text, rf"(?m)^{head}$")
        version = cli("--version").stdout.split()[1]
        self.assertIn(f"sockfault {version}", text.splitlines()[-1])

    def test_rules_7_has_the_call_table(self):
        text = self.check_renders(MAN7, "SOCKFAULT-RULES(7)")
        table = json.loads(cli("errnos", "--json").stdout)
        flat = " ".join(text.split())
        for call in table:
            name = call["call"]
            errnos = ", ".join(f"{e['errno']} ({e['source']}, {e['why']})"
                               for e in call["errnos"])
            self.assertIn(f"documented errnos: {errnos}.", flat, name)
            self.assertIn(f"{call['returns']} {name}(", flat, name)
        for e in {e["errno"]: e for c in table for e in c["errnos"]}.values():
            self.assertIn(f"{e['errno']} ({e['value']})", flat)
        for env in ("SOCKFAULT", "SOCKFAULT_FILE", "SOCKFAULT_LOG", "SOCKFAULT_SHIM"):
            self.assertRegex(text, rf"(?m)^\s+{env}$")

    def test_verbs_match_help(self):
        source = read(MAN1)
        sections = man_sections(source)
        verbs = help_verbs()
        # parsers that found nothing on both sides would agree: the verbs every build has
        self.assertLessEqual({"run", "errnos", "explore", "replay", "merge"}, set(verbs), verbs)
        self.assertEqual(sorted(sections), sorted(verbs),
                         "sockfault(1) sections vs the verbs of `sockfault --help`")
        synopsis = source.split(".SH SYNOPSIS", 1)[1].split(".SH", 1)[0]
        for verb in verbs:
            self.assertIn(f"\\fBsockfault {verb}\\fR", synopsis, verb)

    def test_options_match_help(self):
        sections = man_sections(read(MAN1))
        verbs = help_verbs()
        self.assertIn("explore", verbs)  # an empty list would check nothing
        for verb in verbs:
            with self.subTest(verb=verb):
                in_help = help_options(verb)
                self.assertTrue(in_help - IMPLICIT, f"no option found in `sockfault {verb} --help`")
                tags = sections.get(verb, [])
                in_man = set().union(*tags) if tags else set()
                self.assertEqual(sorted(in_help - in_man), [],
                                 f"options of `sockfault {verb} --help` missing in sockfault(1)")
                for spellings in tags:
                    if spellings <= IMPLICIT:
                        continue
                    self.assertTrue(spellings & in_help,
                                    f"sockfault(1) documents {sorted(spellings)} for {verb}, "
                                    f"which `sockfault {verb} --help` does not list")
                # and the command accepts every spelling the man page gives
                for spellings in tags:
                    for opt in spellings - IMPLICIT:
                        p = cli(verb, opt, "x", "--help") if self.takes_value(verb, opt) \
                            else cli(verb, opt, "--help")
                        self.assertNotIn(f"'{opt}'", p.stderr, f"{verb} {opt}: {p.stderr}")

    @staticmethod
    def takes_value(verb, opt):
        text = cli(verb, "--help").stdout
        return re.search(rf"{re.escape(opt)}[ =][A-Z]", text) is not None or \
            re.search(rf"\[{re.escape(opt)} [A-Za-z0-9]", text) is not None


if __name__ == "__main__":
    unittest.main()
