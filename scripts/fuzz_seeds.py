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
    d = "sha256:" + "4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
    img = "registry.example.com/shop/web:1.0"
    for argv, message in [
        (["quay.io/buildah/stable:v1.28.2", "/bin/bash", "-c",
          f"buildah --storage-driver=vfs bud -t {img} .\nbuildah push --digestfile /tmp/d {img} docker://{img}"],
         json.dumps([{"key": "IMAGE_DIGEST", "value": d, "type": 1}, {"key": "IMAGE_URL", "value": img, "type": 1}])),
        (["moby/buildkit:v0.19.0-rootless", "buildctl-daemonless.sh", "build", "--frontend", "dockerfile.v0",
          "--output", f"type=image,name={img},push=true", "--metadata-file", "/dev/termination-log"],
         json.dumps({"containerimage.digest": d, "image.name": img})),
        (["alpine:3", "sh", "-c", "buildctl build -o 'type=registry,\"name=r.io/a:1,r.io/a:2\"'"],
         json.dumps([{"key": "IMAGES", "value": f"r.io/a:1@{d}\nr.io/a:2@{d}"}])),
        (["gcr.io/kaniko-project/executor:v1.23.2", f"--destination={img}"], d),
    ]:
        write("build_command", "\0".join(argv).encode() + b"\xff" + message.encode())
    for body in [
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": 499,
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}]},
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d, "size": 2},
         "layers": []},
        {"created": "2026-11-30T10:00:00.123456789Z", "architecture": "amd64", "os": "linux"},
        {"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                   "localhost:5000": {"username": "ci", "password": "p"}}, "credsStore": "desktop"},
    ]:
        write("registry_answer", json.dumps(body))
    # Build objects of CRD-backed builders beside a Deployment, as `kubectl get … -o json` lists.
    write("dump_document", b"\x00" + json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "tr", "namespace": "ci"},
         "status": {"conditions": [{"type": "Succeeded", "status": "True"}],
                    "results": [{"name": "IMAGE_URL", "value": img}, {"name": "IMAGE_DIGEST", "value": d}]}},
        {"apiVersion": "shipwright.io/v1beta1", "kind": "BuildRun", "metadata": {"name": "br", "namespace": "ci"},
         "status": {"buildSpec": {"output": {"image": img}}, "output": {"digest": d},
                    "conditions": [{"type": "Succeeded", "status": "False", "reason": "Failed"}]}},
        {"apiVersion": "build.openshift.io/v1", "kind": "Build", "metadata": {"name": "b-1", "namespace": "ci"},
         "status": {"phase": "Complete", "outputDockerImageReference": img, "output": {"to": {"imageDigest": d}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": img}]}}}},
    ]}).encode())
    for t in sorted(os.listdir(OUT)):
        print(f"{t}: {len(os.listdir(OUT / t))} seeds")


if __name__ == "__main__":
    main()
