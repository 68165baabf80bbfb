#!/usr/bin/python3
"""SHA-256 of paste-testpmd's tcp-client pattern: byte i of the stream is
(uint8_t)((i * 7 + (i >> 12)) & 0xff).

  pattern.py BYTES          prints the hex digest
  pattern.py BYTES --write  writes the pattern itself to stdout
"""

import hashlib
import sys


def blocks(n):
    # Within block k (i >> 12 == k) byte j is (j*7 + k) & 0xff, because
    # k*4096*7 is a multiple of 256.
    base = [(j * 7) & 0xff for j in range(4096)]
    variants = [bytes((b + k) & 0xff for b in base) for k in range(256)]
    k = 0
    left = n
    while left > 0:
        blk = variants[k & 0xff]
        take = min(left, 4096)
        yield blk if take == 4096 else blk[:take]
        left -= take
        k += 1


def main():
    n = int(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2] == "--write":
        out = sys.stdout.buffer
        for b in blocks(n):
            out.write(b)
        return 0
    h = hashlib.sha256()
    for b in blocks(n):
        h.update(b)
    print(h.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
