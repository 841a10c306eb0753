#!/usr/bin/env python3
"""Writes deploy/prometheus-operator/prometheusrule.yaml from alerts/rules.yaml (the rule file stays the one
source). tests/deploy.rs fails when the two drift: run this script after editing the rules."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = """# GENERATED from alerts/rules.yaml by scripts/gen_prometheusrule.py: do not edit.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: kube-verdict
  namespace: kube-verdict
spec:
"""


def main():
    with open(os.path.join(ROOT, "alerts", "rules.yaml")) as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("groups:"))
    body = "\n".join(("  " + l) if l else "" for l in lines[start:]) + "\n"
    with open(os.path.join(ROOT, "deploy", "prometheus-operator", "prometheusrule.yaml"), "w") as f:
        f.write(HEADER + body)


if __name__ == "__main__":
    main()
