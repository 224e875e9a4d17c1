#!/usr/bin/env python3
"""harness/ keeps its rooms in layers and its files free of include cycles.

Rooms, from the top: cli -> engine -> report -> util. A file may include headers of its
own room and of rooms below it, never above (the report model must not reach into the run
engine for a signal name; the engine must not reach into the verbs). And no cycle among
the modules (a .c and its .h count as one module): outcome.c <-> report.c was one.
The shim's headers (table.h, rules.h, ...) and the public include/ are below every room.
"""
import os
import re
import sys
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HARNESS = os.path.join(ROOT, "harness")
ROOMS = ["util", "report", "engine", "cli"]  # bottom to top
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules():
    """{module name: (room, set of included header names)} for every room's files."""
    mods = {}
    for room in ROOMS:
        d = os.path.join(HARNESS, room)
        for f in sorted(os.listdir(d)):
            if not f.endswith((".c", ".h")):
                continue
            name = f[:-2]
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                incs = set(INCLUDE.findall(fh.read()))
            r, prev = mods.get(name, (room, set()))
            if r != room:
                raise AssertionError(f"{name} is in two rooms: {r} and {room}")
            mods[name] = (room, prev | incs)
    return mods


class Layers(unittest.TestCase):
    def setUp(self):
        self.mods = modules()
        self.room_of = {m + ".h": r for m, (r, _) in self.mods.items()}

    def test_rooms_exist(self):
        for room in ROOMS:
            self.assertTrue(os.path.isdir(os.path.join(HARNESS, room)), room)
        self.assertTrue(os.path.isdir(os.path.join(HARNESS, "refserver")))
        self.assertFalse([f for f in os.listdir(HARNESS) if f.endswith((".c", ".h"))],
                         "source files left in harness/ itself")

    def test_includes_point_down(self):
        # the rooms' own headers must be found included, or there is nothing to judge
        self.assertTrue([h for _, incs in self.mods.values() for h in incs
                         if os.path.basename(h) in self.room_of], "no include of a room's header")
        bad = []
        for m, (room, incs) in self.mods.items():
            for h in incs:
                target = self.room_of.get(os.path.basename(h))
                if target and ROOMS.index(target) > ROOMS.index(room):
                    bad.append(f"{room}/{m} includes {target}/{h}")
        self.assertEqual(bad, [])

    def test_no_cycles(self):
        graph = {m: {h[:-2] for h in incs if h.endswith(".h") and h[:-2] in self.mods
                     and h[:-2] != m}
                 for m, (_, incs) in self.mods.items()}
        state, stack, cycles = {}, [], []

        def visit(m):
            state[m] = 1
            stack.append(m)
            for n in sorted(graph[m]):
                if state.get(n) == 1:
                    cycles.append(" -> ".join(stack[stack.index(n):] + [n]))
                elif n not in state:
                    visit(n)
            stack.pop()
            state[m] = 2

        for m in sorted(graph):
            if m not in state:
                visit(m)
        self.assertEqual(cycles, [])

    def test_detects_a_cycle(self):
        # the checker itself: a planted upward include is seen
        room, incs = self.mods["report"]
        self.mods["report"] = (room, incs | {"runner.h"})
        with self.assertRaises(AssertionError):
            self.test_includes_point_down()


if __name__ == "__main__":
    sys.exit(unittest.main())
