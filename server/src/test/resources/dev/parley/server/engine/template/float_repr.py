#!/usr/bin/env python3
"""Writes float-repr.csv: IEEE bits (hex) and Python's repr() of that double, for the float printing test."""
import random, struct
random.seed(7)
values = [0.1, 0.2, 0.30000000000000004, 1.0, 1.5, 2.5, 100.0, 1e15, 1e16, 1.2345e16, 9999999999999998.0, 1e-4,
          1e-5, 0.00012345, 123456789.125, 5e-324, 1.7976931348623157e308, 2.0 ** 53, 3.14159, -0.5, -1e-7, 1e22, 1e21]
values += [random.uniform(-1e6, 1e6) for _ in range(60)]
values += [random.uniform(0, 1) * 10 ** random.randint(-30, 30) for _ in range(60)]
values += [struct.unpack("<d", struct.pack("<Q", random.getrandbits(63)))[0] for _ in range(60)]
with open("float-repr.csv", "w") as f:
    f.write("bits,repr\n")
    for v in values:
        if v != v or v in (float("inf"), float("-inf")):
            continue
        f.write("%016x,%s\n" % (struct.unpack("<Q", struct.pack("<d", v))[0], repr(v)))
