"""Processes a test started that outlived it, told apart from other tests' by a token.

Importing this module puts a unique SF_TEST_TOKEN into os.environ; every explore, target and
check this test process starts inherits it. ctest runs several explore tests at once on the
same targets, so looking processes up by path alone would see the other tests' live ones.
"""
import os
import uuid

TOKEN = os.environ.setdefault("SF_TEST_TOKEN", uuid.uuid4().hex)
_NEEDLE = f"SF_TEST_TOKEN={TOKEN}".encode()


def strays(path=""):
    """Live (non-zombie) processes carrying our token whose command line holds path."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/stat", "rb") as f:  # a name need not be UTF-8
                state = f.read().rsplit(b")", 1)[1].split()[0].decode()
        except OSError:
            continue
        if _NEEDLE in env.split(b"\0") and path.encode() in cmd and state != "Z":
            found.append(int(pid))
    return found


def main(cli, targets):
    """unittest.main for a test of explore, then a failure if a target process outlived it."""
    import sys
    import unittest
    if not cli or not targets:
        sys.exit("set SF_CLI and SF_TARGETS")
    try:
        unittest.main()
    finally:
        stray = strays(targets)
        if stray:
            print("target processes outlived explore:", stray, file=sys.stderr)
            sys.exit(1)
