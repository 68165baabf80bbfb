#!/usr/bin/python3
"""make_tree.py DIR N MAXBYTES SEED: N files under DIR in nested
directories (names with spaces, '+' and UTF-8), of sizes from 0 to
MAXBYTES: one empty, one of MAXBYTES, eight of 1 to 3 MB, the rest up to
64 KiB; random bytes, reproducible from SEED. Prints the total size."""
import os
import random
import sys

root, n, top, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
total = 0
for i in range(n):
    if i == 0:
        size = 0
    elif i == n - 1:
        size = top
    elif i % (n // 8 or 1) == 1:
        size = rng.randrange(1000000, 3000000)
    else:
        size = rng.randrange(0, 65537)
    d = os.path.join(root, 'd%d' % (i % 7), 'sub %d' % (i % 3), 'caf\u00e9+%d' % (i % 2))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'f %04d+x.bin' % i), 'wb') as f:
        f.write(rng.randbytes(size))
    total += size
print(total)
