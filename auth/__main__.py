"""`python -m auth hash`: print an argon2id hash for a [[user]]'s password_hash.

The password is read without echo (twice, to catch a typo), or from standard input with
`--stdin` for scripts; it is never taken as an argument, where `ps` and shell history see it.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from auth.passwords import hash_password

MIN_LENGTH = 12


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("hash", help="hash a password for callboard.toml")
    make.add_argument("--stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    if len(password) < MIN_LENGTH:
        print(f"error: use at least {MIN_LENGTH} characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
