#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/seed-*) from the project's
fixtures: build logs, event messages, image references and imageIDs, dump files and report
bodies. Seeds are small real-format inputs; libFuzzer grows the corpus from them. Run from the
repository root; `scripts/fuzz.sh` runs the targets."""
import hashlib
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCEN = ROOT / "tests/fixtures/scenarios"
OUT = ROOT / "fuzz/corpus"


def write(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    (d / name).write_bytes(data)


def dumps():
    for p in sorted(SCEN.glob("*/**/*.json")) + sorted((ROOT / "examples").glob("**/*.json")):
        yield p


def main():
    logs, messages, images, ids = set(), set(), set(), set()
    for p in sorted(SCEN.glob("**/logs.txt")) + sorted((ROOT / "examples").glob("**/logs.txt")):
        text = p.read_text(errors="replace")
        # Small pieces: one container's log each, cut to 4 KiB.
        logs.add(text[:4096])
    for p in dumps():
        try:
            doc = json.loads(p.read_text())
        except ValueError:
            continue
        small = json.dumps(doc)
        if len(small) < 16 * 1024:
            write("dump_document", b"\x00" + small.encode())
        for item in doc.get("items", []) if isinstance(doc, dict) else []:
            if not isinstance(item, dict):
                continue
            for k in ("message", "note"):
                if isinstance(item.get(k), str):
                    messages.add(item[k])
            status = item.get("status") if isinstance(item.get("status"), dict) else {}
            for c in status.get("conditions") or []:
                if isinstance(c, dict) and c.get("message"):
                    messages.add(c["message"])
            spec = item.get("spec") if isinstance(item.get("spec"), dict) else {}
            template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
            inner = template.get("spec") if isinstance(template.get("spec"), dict) else {}
            containers = [c for c in (spec.get("containers"), inner.get("containers")) if isinstance(c, list)]
            for c in [c for cs in containers for c in cs]:
                if isinstance(c, dict) and c.get("image"):
                    images.add(c["image"])
            for s in status.get("containerStatuses") or []:
                if isinstance(s, dict):
                    ids.add(s.get("imageID", ""))
                    waiting = (s.get("state") or {}).get("waiting") or {}
                    if waiting.get("message"):
                        messages.add(waiting["message"])
    for l in logs:
        write("build_log", l)
    for m in messages:
        write("event_message", m)
    for i in images | ids:
        write("image_reference", i)
    write("dump_document", b"\x01kind: List\nitems:\n- kind: Pod\n  metadata: {name: p, namespace: a}\n")
    write("report_body", json.dumps({"version": "4", "alerts": [
        {"status": "firing", "labels": {"alertname": "PlatformDeploymentFailed", "namespace": "shop",
                                         "deployment": "checkout", "platform": "argo"},
         "startsAt": "2026-11-20T10:00:00Z"}]}))
    write("report_body", json.dumps({"platform": "gitlab", "namespace": "shop", "deployment": "checkout",
                                     "image": "registry.example.com/shop/checkout:1.8.0",
                                     "time": "2026-11-20T10:01:00Z", "id": "pipeline-4711"}))
    for t in sorted(os.listdir(OUT)):
        print(f"{t}: {len(os.listdir(OUT / t))} seeds")


if __name__ == "__main__":
    main()
