#!/usr/bin/env python3
"""Writes the seed corpora (corpus/<target>/) and the dictionaries (fuzz/*.dict).

    corpus/make_seeds.py [--check] [--help]

--check writes nothing: it exits 1 naming every generated file that differs from what is
committed (ctest runs it, so a table change without a re-run fails the suite).

Seeds are small and meaningful: every command and rule form, the edge cases of the limits,
a few fault schedules. The rule dictionary is generated from shim/calls.def and
shim/errnos.def, so it follows the call table. Output is deterministic; re-run it after
changing the table or the protocol and commit the result. Regression inputs
(corpus/regressions/) are never touched here.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


CHECK = "--check" in sys.argv[1:]
STALE = []


def write(path, data):
    if isinstance(data, str):
        data = data.encode()
    if CHECK:
        try:
            with open(path, "rb") as f:
                same = f.read() == data
        except OSError:
            same = False
        if not same:
            STALE.append(os.path.relpath(path, ROOT))
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def table():
    """(call, [errno, ...]) in calls.def order, and every errno name."""
    text = open(os.path.join(ROOT, "shim/calls.def")).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    calls = []
    for m in re.finditer(r"SF_CALL\((\w+),(.*?)\)\s*(?=SF_CALL|\Z)", text, flags=re.S):
        calls.append((m.group(1), re.findall(r"E\((\w+),", m.group(2))))
    names = re.findall(r"SF_ERRNO(?:_ALIAS)?\((\w+)", open(os.path.join(ROOT, "shim/errnos.def")).read())
    return calls, names


# ---- the rule language ---------------------------------------------------------------------

def rule_seeds(calls):
    s = {}
    for call, errs in calls:  # every call, with its first and last documented errno
        s[f"call-{call}"] = f"{call}:error={errs[0]}"
        s[f"call-{call}-last"] = f"{call}:error={errs[-1]}:when=2"
    s.update({
        "when-forms": "recv:error=EINTR:when=3;send:error=EPIPE:when=2+;accept:error=EMFILE:when=1+3;"
                      "connect:error=ECONNREFUSED:when=2..5;read:error=EIO:when=1..9+2",
        "prob-forms": "recv:error=EAGAIN:prob=0.25;send:error=EAGAIN:prob=.5;accept:error=EINTR:prob=25%;"
                      "close:error=EIO:prob=1;write:error=EPIPE:prob=0;recv:error=EINTR:prob=0.000000001",
        "seed-forms": "recv:error=any:prob=0.5:seed=42;send:error=any:seed=0xdeadBEEF",
        "filters": "connect:error=ECONNREFUSED:family=inet:type=stream:port=80;"
                   "recv:error=ECONNRESET:family=inet6:type=dgram:fd=7;"
                   "socket:error=EMFILE:family=unix:type=seqpacket;socket:error=EACCES:type=raw",
        "site": "recv:error=EINTR:site=libc.so.6+0x1234;send:error=EPIPE:site=/usr/bin/prog+0xABCDEF",
        "force": "recv:error=ENOSPC:force;close:error=EPIPE:when=2:force",
        "for-forms": "accept4:error=EMFILE:when=2+:for=2s;socket:error=ENOBUFS:for=250ms;"
                     "accept:error=ENFILE:for=1",
        "err-for": "accept:error=EMFILE:for=0;accept:error=EMFILE:for=2m",
        "per-thread": "send:error=EPIPE:when=2:per=thread;recv:error=EINTR:per=process",
        "per-tree": "read:error=ECONNRESET:when=1:per=tree",
        "sets": "recv,send,read:error=EINTR;%net:error=any;%network:error=EBADF;all:error=any",
        "numeric-errno": "recv:error=104;send:error=32:when=1",
        "strace-prefix": "inject=recv:error=EINTR:when=2;fault=send:error=EPIPE",
        "file": "# a rules file\nrecv:error=EINTR:when=2   # trailing comment\n\n  send : error = EPIPE \n"
                "accept4:error=EMFILE:when=1..3\r\n",
        "spaces": "  recv:error=EINTR ; send:error=EPIPE:when=2 ;",
        "aliases": "recv:error=EWOULDBLOCK;send:error=EAGAIN",
        # errors: each must give a message, never crash
        "err-unknown-call": "recvv:error=EINTR",
        "err-unknown-errno": "recv:error=ECONNRESTE",
        "err-undocumented": "recv:error=ENOSPC",
        "err-twice": "recv:error=EINTR:error=EAGAIN",
        "err-empty-field": "recv:error=EINTR::when=1",
        "err-no-error": "recv:when=1",
        "err-when": "recv:error=EINTR:when=0;recv:error=EINTR:when=5..2;recv:error=EINTR:when=1..4+",
        "err-prob": "recv:error=EINTR:prob=1.5",
        "err-prob-fine": "recv:error=EINTR:prob=0.0000000001",
        "err-overflow": "recv:error=EINTR:when=18446744073709551616",
        "err-strace-only": "recv:retval=0",
        "err-any-force": "recv:error=any:force",
        "err-site": "recv:error=EINTR:site=nooffset",
        "err-nul": b"recv:error=EINTR\x00;send:error=EPIPE",
        "err-port": "connect:error=EPERM:port=65536",
        "err-too-many": ";".join(["recv:error=EINTR"] * 65),
        "max-rules": ";".join(f"{c}:error=any:when={i + 1}" for i, (c, _) in
                              enumerate((calls * 3)[:64])),
    })
    return s


def rules_dict(calls, names):
    words = [c for c, _ in calls] + names
    words += ["error=", "when=", "prob=", "seed=", "family=", "type=", "port=", "fd=", "site=",
              "for=", "ms", "force", "any", "all", "%net", "%network", "inject=", "fault=", "inet", "inet6",
              "unix", "stream", "dgram", "seqpacket", "raw", "..", "+0x", "0x", ":", ";", "#",
              "\n", "%", "retval=", "per=", "thread", "process", "tree"]
    return words


# ---- the request protocol -----------------------------------------------------------------

def request_stream_seeds():
    """Client streams (no control byte): each command, each error, the limits."""
    key64, val512 = "k" * 64, "v" * 512
    return {
        "ping": "PING\n",
        "every-command": "PING\nECHO hello world\nSET k v\nGET k\nDEL k\nGET k\nSTATS\nQUIT\n",
        "case-crlf": "ping\r\nEcHo  two  spaces \r\nset K value with spaces\r\nget K\r\nstats\r\n",
        "arity": "PING x\nSTATS x\nQUIT x\nECHO\nSET\nSET k\nSET  v\nGET\nGET \nGET a b\nDEL\n",
        "errors": "\n\r\nNOPE\n" + "X" * 40 + " arg\nPI\x01NG\nECHO tab\tok\nECHO del\x7f\n",
        "limits-key": f"SET {key64} ok\nGET {key64}\nSET {key64}k no\nGET {key64}k\nDEL {key64}\n",
        "limits-value": f"SET k {val512}\nGET k\nSET k {val512}v\nGET k\n",
        "line-1024": "ECHO " + "a" * 1019 + "\nPING\n",
        "line-1024-crlf": "ECHO " + "a" * 1019 + "\r\nPING\n",
        "line-1025": "ECHO " + "a" * 1020 + "\nPING\n",
        "line-1026-nonl": "ECHO " + "a" * 1021 + "bbbb\nPING\n",
        "line-long-then-more": "x" * 3000 + "\nPING\n",
        "quit-then-more": "PING\nQUIT\nPING\nSET a b\n",
        "partial-last": "PING\nPIN",
        "pipelined-gets": "SET k " + val512 + "\n" + "GET k\n" * 40 + "PING\n",
        "too-many-keys": "".join(f"SET k{i} v\n" for i in range(1025)) + "STATS\nDEL k7\nSET new v\n",
        "del-middle": "SET a 1\nSET b 2\nSET c 3\nDEL a\nGET c\nGET b\nSTATS\n",
    }


def request_dict():
    return ["PING", "ECHO ", "SET ", "GET ", "DEL ", "STATS", "QUIT", "ping", "echo ", "set ",
            "\n", "\r\n", " ", "\t", "\x00", "\x7f", "+PONG", "-ERR "]


# ---- fault schedules (<sockfault/fuzz.h> format 1, then fuzz_faults' own byte) -------------

SCHED_CALLS = ["recv", "send", "accept4", "accept", "setsockopt", "shutdown", "close"]
CHUNKS = [1, 2, 3, 5, 8, 13, 16, 32, 64, 100, 200, 512, 1024, 1500, 4096, 16384]


def schedule(calls, faults, stream, loopback=False, chunk=16384):
    """faults: (call, errno, when, onward)."""
    errs = dict(calls)
    out = bytes([len(faults)])
    for call, err, when, onward in faults:
        out += bytes([SCHED_CALLS.index(call), (when - 1) | (0x80 if onward else 0),
                      errs[call].index(err)])
    own = (1 if loopback else 0) | (CHUNKS.index(chunk) << 1)
    return out + bytes([own]) + stream.encode()


def fault_seeds(calls):
    every = "PING\nECHO hello\nSET k v\nGET k\nDEL k\nSTATS\n"
    S = lambda *a, **k: schedule(calls, *a, **k)
    return {
        "none": S([], every),
        "none-loopback": S([], every, loopback=True, chunk=5),
        "recv-reset-2": S([("recv", "ECONNRESET", 2, False)], every, chunk=3),
        "recv-eintr": S([("recv", "EINTR", 1, False)], every, chunk=8),
        "recv-eagain-twice": S([("recv", "EAGAIN", 1, False), ("recv", "EAGAIN", 3, False)], every,
                               chunk=2),
        "recv-eintr-2": S([("recv", "EINTR", 2, False)], every, chunk=13),
        "send-epipe": S([("send", "EPIPE", 1, False)], every),
        "send-eagain": S([("send", "EAGAIN", 2, False)], "GET x\n" * 20, chunk=13),
        "accept4-emfile": S([("accept4", "EMFILE", 1, False)], every, loopback=True),
        "accept4-einval": S([("accept4", "EINVAL", 1, False), ("accept", "ECONNABORTED", 1, False)],
                            every, loopback=True),
        "accept4-enobufs": S([("accept4", "ENOBUFS", 1, False)], every, loopback=True, chunk=8),
        "setsockopt": S([("setsockopt", "ENOPROTOOPT", 1, False)], every, loopback=True),
        "quit-shutdown": S([("shutdown", "ENOTCONN", 1, False)], "PING\nQUIT\nPING\n", chunk=5),
        "close-eio": S([("close", "EIO", 1, False)], "PING\nQUIT\n"),
        "mixed": S([("recv", "EINTR", 1, False), ("send", "EAGAIN", 1, False),
                    ("recv", "ETIMEDOUT", 5, False)], every, chunk=5),
        "long-line": S([("recv", "ENOMEM", 3, False)], "x" * 1500 + "\nPING\n", chunk=512),
    }


def schedule_prefixes():
    """<sockfault/fuzz.h> format 1 schedules alone, for any target: to put in front of its own
    seeds. Faults on the first four calls of a target's list, once or from N on."""
    out = {"none": bytes([0])}
    for k in range(4):
        out[f"call{k}-once-1"] = bytes([1, k, 0, 0])
        out[f"call{k}-once-2"] = bytes([1, k, 1, 0])
        out[f"call{k}-from-1"] = bytes([1, k, 0x80, 1])
    out["call0-once-1-call1-once-1"] = bytes([2, 0, 0, 0, 1, 0, 0])
    return out


def schedule_dict():
    """Fault triples (call, when, errno) and heads, as bytes for a libFuzzer/AFL++ dictionary."""
    words = [bytes([n]) for n in range(1, 4)]
    for k in range(4):
        for when in (0, 1, 0x80):
            words.append(bytes([k, when, 0]))
    return [w.decode("latin-1") for w in words]


def main():
    if sys.argv[1:] not in ([], ["--check"]):
        print(__doc__.strip())
        return 0 if sys.argv[1] in ("-h", "--help") else 2
    calls, names = table()
    for name, text in rule_seeds(calls).items():
        write(os.path.join(ROOT, "corpus/rules", name), text)
    # fuzz_request's byte 0 steers delivery: chunk size (bits 0-5) and reading (bits 6-7).
    controls = [0x00, 0x01, 0x47, 0x85, 0xc3, 0x40]
    for i, (name, text) in enumerate(sorted(request_stream_seeds().items())):
        ctl = controls[i % len(controls)]
        write(os.path.join(ROOT, "corpus/request", name), bytes([ctl]) + text.encode())
        write(os.path.join(ROOT, "corpus/refserver", name), text)  # the real binary: the stream
    for name, data in fault_seeds(calls).items():
        write(os.path.join(ROOT, "corpus/faults", name), data)
    for name, data in schedule_prefixes().items():
        write(os.path.join(ROOT, "corpus/schedules", name), data)

    def dict_file(path, words, title):
        lines = [f"# {title} (generated by corpus/make_seeds.py)"]
        for w in dict.fromkeys(words):
            esc = "".join(c if 0x20 <= ord(c) < 0x7f and c not in '"\\' else f"\\x{ord(c):02x}"
                          for c in w)
            lines.append(f'"{esc}"')
        write(os.path.join(ROOT, path), "\n".join(lines) + "\n")
    dict_file("fuzz/rules.dict", rules_dict(calls, names), "the rule language: calls, errnos, keys")
    dict_file("fuzz/request.dict", request_dict(), "the refserver protocol")
    dict_file("fuzz/schedule.dict", schedule_dict(),
              "<sockfault/fuzz.h> format 1: schedule heads and fault triples")
    if STALE:
        print("stale, re-run corpus/make_seeds.py and commit: " + " ".join(STALE), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
