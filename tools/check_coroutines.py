#!/usr/bin/env python3
"""Flags the two coroutine patterns GCC 12 (Debian 12's compiler) miscompiles.

1. A braced temporary of an aggregate ({}, {...}, T{...}) inside a co_await expression is
   destroyed twice (ASan: double free). Name the value first.
2. A co_await inside &&, || or ?: can jump to __builtin_unreachable (SIGILL in the
   coroutine's actor). Await in a statement of its own.

Usage: check_coroutines.py ROOT. Checks src/ and tests/; exits 1 listing each hit.
"""
import pathlib
import re
import sys


def statements(text):
    text = re.sub(r"//[^\n]*", lambda m: " " * len(m.group(0)), text)
    text = re.sub(r'"(?:[^"\\\n]|\\.)*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', text)
    start = 0
    for i, c in enumerate(text):
        if c in ";{}" and not (c == "{" and re.search(r"[(,=]\s*$|\w$", text[start:i])) \
                and not (c == "}" and in_brace_init(text, i)):
            yield start, text[start:i]
            start = i + 1


def in_brace_init(text, i):
    # a '}' that closes a '{' opened right after '(' ',' or a name: part of the statement
    depth = 0
    for j in range(i, -1, -1):
        if text[j] == "}":
            depth += 1
        elif text[j] == "{":
            depth -= 1
            if depth == 0:
                return bool(re.search(r"[(,=]\s*$|\w$", text[:j]))
    return False


def split_control(expr):
    """An if/while statement's condition and its body, apart; else the expression."""
    m = re.match(r"(?:if|while)\s*\(", expr)
    if not m:
        return [expr]
    depth = 0
    for i in range(m.end() - 1, len(expr)):
        if expr[i] == "(":
            depth += 1
        elif expr[i] == ")":
            depth -= 1
            if depth == 0:
                return [expr[m.end():i]] + split_control(expr[i + 1:].strip())
    return [expr]


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    hits = []
    for path in sorted(list(root.glob("src/**/*.cc")) + list(root.glob("src/**/*.h")) +
                       list(root.glob("tests/**/*.cc")) + list(root.glob("tests/**/*.h"))):
        text = path.read_text()
        for pos, stmt in statements(text):
            if "co_await" not in stmt:
                continue
            line = text.count("\n", 0, pos) + 1 + len(stmt) - len(stmt.lstrip("\n"))
            # only the expression that contains the co_await (a control statement's
            # condition, or the statement itself)
            head = stmt.strip()
            for m in re.finditer(r"co_await\b", head):
                expr = head
                if re.search(r"[(,]\s*\{|\b\w+\s*\{[^}]*\}\s*[,)]", expr[m.start():]):
                    hits.append(f"{path.relative_to(root)}:{line}: braced temporary in a co_await "
                                f"expression: {' '.join(head.split())[:120]}")
                    break
                if any("co_await" in part and re.search(r"&&|\|\||\?", part)
                       for part in split_control(expr)):
                    hits.append(f"{path.relative_to(root)}:{line}: co_await inside &&, || or ?: "
                                f"{' '.join(head.split())[:120]}")
                    break
    for h in hits:
        print(h)
    if hits:
        print(f"{len(hits)} coroutine pattern(s) that GCC 12 miscompiles (tools/check_coroutines.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
