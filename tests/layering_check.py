#!/usr/bin/env python3
"""Fails when a src/ directory includes a sibling at its own layer or a higher layer.

CMake tolerates cycles between static libraries, so this check is what keeps DESIGN.md's
layering true. Usage: layering_check.py SRC_DIR
"""
import os
import re
import sys

# Lowest first; a directory may include only directories of strictly lower layers, its own
# files, and its ancestors' files (a parent's shared headers). Generated protos count as "proto".
LAYERS = [
    ["base"],
    ["model", "net", "storage", "proto"],
    ["tsdb", "tracestore", "logstore"],
    ["promql", "logql", "ingest", "pipeline"],
    ["rules", "notify", "api"],
    ["server"],
]
# Sub-directories that may use a sibling inside the same top-level directory.
SUBLAYERS = {
    ("promql/engine", "promql/parser"),
    ("logql/engine", "logql/parser"),
}
PROTO_ROOTS = ("opentelemetry/", "prometheus/", "io/prometheus/", "loki/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(top):
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    return None


def unit_of(include):
    """The directory an include path names, or None for files outside src/ and protos."""
    if include.startswith(PROTO_ROOTS):
        return "proto"
    parts = include.split("/")
    return "/".join(parts[:-1]) if len(parts) > 1 else None


def check(src):
    errors = []
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, name)
            unit = os.path.relpath(root, src)
            top = unit.split("/")[0]
            own_layer = layer_of(top)
            if own_layer is None:
                errors.append(f"{path}: directory '{top}' is not in the layer table of {__file__}")
                continue
            text = open(path, encoding="utf-8", errors="replace").read()
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                target = unit_of(inc)
                if target is None:
                    continue
                line = text.count("\n", 0, m.start()) + 1
                target_top = target.split("/")[0]
                target_layer = layer_of(target_top)
                if target_layer is None:
                    continue  # a third-party header such as "fmt/format.h"
                if "/internal" in "/" + target and not (unit + "/").startswith(
                        target.split("/internal")[0] + "/"):
                    errors.append(f"{path}:{line}: includes {inc}, internal to another directory")
                    continue
                same_or_ancestor = unit == target or (unit + "/").startswith(target + "/")
                if same_or_ancestor or (unit, target) in SUBLAYERS:
                    continue
                if target_top == top:
                    errors.append(f"{path}:{line}: includes {inc} from sibling directory {target}")
                elif target_layer >= own_layer:
                    what = "a sibling at the same layer" if target_layer == own_layer else "a higher layer"
                    errors.append(f"{path}:{line}: includes {inc} from {target_top}, {what}")
    return errors


def self_test():
    """The check must catch what it exists to catch: a sideways and an upward include."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        files = {
            "base/ok.h": '#include "fmt/format.h"\n',
            "net/up.cc": '#include "server/server.h"\n',
            "tsdb/side.cc": '#include "logstore/x.h"\n',
            "promql/engine/ok.cc": '#include "promql/parser/ast.h"\n#include "tsdb/head.h"\n',
            "api/prom/side.cc": '#include "api/loki/x.h"\n',
            "api/prom/internal/a.h": "",
            "api/loki/peek.cc": '#include "api/prom/internal/a.h"\n',
        }
        for rel, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        errors = check(d)
        flagged = sorted({e.split(":")[0][len(d) + 1:] for e in errors})
        want = ["api/loki/peek.cc", "api/prom/side.cc", "net/up.cc", "tsdb/side.cc"]
        if flagged != want:
            print(f"self-test failed: flagged {flagged}, want {want}")
            return 1
    print("layering self-test: 1 passed, 0 failed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print("usage: layering_check.py SRC_DIR", file=sys.stderr)
        return 2
    errors = check(sys.argv[1])
    for e in errors:
        print(e)
    print(f"layering: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
