#!/usr/bin/env python3
"""Writes the Grafana dashboards under dashboards/ (classic JSON model, schemaVersion 39).
Every panel queries the `datasource` template variable; uids are fixed so links survive
re-imports. tests/dashboards.rs checks them and runs every query against a real Prometheus."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DS = {"type": "prometheus", "uid": "${datasource}"}


def var_datasource():
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}


def var_query(name, label, query, include_all=True, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query, "refresh": 2,
            "includeAll": include_all, "multi": multi, "allValue": ".*", "current": {}, "sort": 1, "hide": 0,
            "options": [], "regex": ""}


class Board:
    def __init__(self, uid, title, description, variables):
        self.uid, self.title, self.description = uid, title, description
        self.variables = [var_datasource()] + variables
        self.panels = []
        self.y = 0
        self.next_id = 1

    def panel(self, kind, title, targets, w=12, h=8, x=None, unit=None, description="", options=None, field=None):
        if x is None:
            x = 0 if not self.panels or self._row_full(w) else self._last_x()
        p = {"id": self.next_id, "type": kind, "title": title, "description": description, "datasource": DS,
             "gridPos": {"x": x, "y": self.y, "w": w, "h": h},
             "targets": [dict({"datasource": DS, "refId": chr(65 + i), "editorMode": "code", "range": True}, **t)
                         for i, t in enumerate(targets)],
             "fieldConfig": {"defaults": dict({"unit": unit} if unit else {}, **(field or {})), "overrides": []},
             "options": options or {}}
        self.next_id += 1
        self.panels.append(p)
        if x + w >= 24:
            self.y += h
        return p

    def _row_full(self, w):
        last = self.panels[-1]["gridPos"]
        return last["x"] + last["w"] + w > 24

    def _last_x(self):
        last = self.panels[-1]["gridPos"]
        return last["x"] + last["w"]

    def write(self, name):
        d = {"uid": self.uid, "title": self.title, "description": self.description, "tags": ["kube-verdict"],
             "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1,
             "time": {"from": "now-6h", "to": "now"}, "refresh": "30s",
             "templating": {"list": self.variables}, "annotations": {"list": []}, "panels": self.panels,
             "links": [{"title": "kube-verdict", "type": "dashboards", "tags": ["kube-verdict"], "asDropdown": True}]}
        with open(os.path.join(ROOT, "dashboards", name), "w") as f:
            f.write(json.dumps(d, indent=2) + "\n")


def t(expr, legend="", instant=False):
    x = {"expr": expr, "legendFormat": legend}
    if instant:
        x.update({"instant": True, "range": False, "format": "table"})
    return x


def overview():
    b = Board("kube-verdict-overview", "kube-verdict / Verdicts", "Every deployment's verdict, and who owns the blockers.",
              [var_query("namespace", "Namespace", "label_values(deploy_verdict, namespace)")])
    ns = 'namespace=~"$namespace"'
    for i, (v, color) in enumerate([("verified|complete", "green"), ("converging", "blue"), ("stale", "orange"), ("blocked|failed", "red")]):
        b.panel("stat", {"verified|complete": "Done", "converging": "Converging (wait)", "stale": "Stale image",
                         "blocked|failed": "Blocked or failed (act)"}[v],
                [t(f'count(deploy_verdict{{{ns}, verdict=~"{v}"}}) or vector(0)', instant=True)],
                w=6, h=4, x=6 * i, options={"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}},
                field={"color": {"mode": "fixed", "fixedColor": color}})
    b.panel("timeseries", "Deployments by verdict", [t(f"sum by (verdict) (deploy_verdict{{{ns}}})", "{{verdict}}")], w=12)
    b.panel("barchart", "Blocked pods by owner", [t(f"sum by (owner) (deploy_scheduling_blocker{{{ns}}})", "{{owner}}", instant=True)], w=12)
    b.panel("timeseries", "Blocked pods by reason", [t(f"sum by (reason) (deploy_scheduling_blocker{{{ns}}})", "{{reason}}")], w=12)
    b.panel("timeseries", "Rollout duration (p50, p90)", [
        t(f"histogram_quantile(0.5, sum by (le) (rate(deploy_rollout_duration_seconds_bucket{{{ns}}}[1h])))", "p50"),
        t(f"histogram_quantile(0.9, sum by (le) (rate(deploy_rollout_duration_seconds_bucket{{{ns}}}[1h])))", "p90")], w=12, unit="s")
    b.panel("table", "Deployments that need someone", [
        t(f'max by (namespace, deployment, verdict, cause, owner, image) (deploy_verdict{{{ns}, verdict=~"stale|blocked|failed|unknown"}})', instant=True)],
        w=24, h=10, options={"showHeader": True})
    b.panel("table", "Digest mismatches", [t(f"deploy_digest_match{{{ns}}} == 0", instant=True)], w=24)
    b.write("kube-verdict-overview.json")


def deployment():
    b = Board("kube-verdict-deployment", "kube-verdict / Deployment", "One deployment's verdicts over time, its build and its blockers.",
              [var_query("namespace", "Namespace", "label_values(deploy_verdict, namespace)", include_all=False, multi=False),
               var_query("deployment", "Deployment", 'label_values(deploy_verdict{namespace="$namespace"}, deployment)', include_all=False, multi=False)])
    sel = 'namespace="$namespace", deployment="$deployment"'
    b.panel("state-timeline", "Verdict timeline", [t(f"max by (verdict) (deploy_verdict{{{sel}}})", "{{verdict}}")], w=24, h=6)
    b.panel("state-timeline", "Cause timeline", [t(f"max by (cause, owner) (deploy_verdict{{{sel}}})", "{{cause}} ({{owner}})")], w=24, h=6)
    b.panel("timeseries", "Digest match by container", [t(f"deploy_digest_match{{{sel}}}", "{{container}}")], w=12)
    b.panel("timeseries", "Blocked pods by reason", [t(f"deploy_scheduling_blocker{{{sel}}}", "{{reason}} ({{owner}})")], w=12)
    b.panel("table", "Build judged against", [t(f"deploy_build_info{{{sel}}}", instant=True)], w=24, h=6)
    b.write("kube-verdict-deployment.json")


def slo():
    b = Board("kube-verdict-false-alarms", "kube-verdict / Platform false alarms", "How often the platform's failure reports were false, and the SLO burn.",
              [var_query("platform", "Platform", "label_values(platform_failure_reports_total, platform)")])
    p = 'platform=~"$platform"'
    b.panel("stat", "False-alarm share (1h)", [t(f"platform:false_alarm:ratio_rate1h{{{p}}}", "{{platform}}", instant=True)], w=8, h=5, unit="percentunit")
    b.panel("stat", "Objective", [t("kube_verdict:false_alarm_objective:ratio", instant=True)], w=8, h=5, unit="percentunit")
    b.panel("stat", "False alarms (24h)", [t(f"sum(increase(platform_false_negative_total{{{p}}}[24h]))", instant=True)], w=8, h=5)
    b.panel("timeseries", "Reports: received, false, confirmed, unresolved", [
        t(f"sum by (platform) (rate(platform_failure_reports_total{{{p}}}[30m]))", "received {{platform}}"),
        t(f"sum by (platform) (rate(platform_false_negative_total{{{p}}}[30m]))", "false {{platform}}"),
        t(f"sum by (platform) (rate(platform_confirmed_failure_total{{{p}}}[30m]))", "confirmed {{platform}}"),
        t(f"sum by (platform) (rate(platform_unresolved_reports_total{{{p}}}[30m]))", "unresolved {{platform}}")], w=24, unit="reqps")
    b.panel("timeseries", "Burn rate (1h and 6h windows, in objectives)", [
        t(f"platform:false_alarm:ratio_rate1h{{{p}}} / on() group_left() kube_verdict:false_alarm_objective:ratio", "1h {{platform}}"),
        t(f"platform:false_alarm:ratio_rate6h{{{p}}} / on() group_left() kube_verdict:false_alarm_objective:ratio", "6h {{platform}}")], w=12)
    b.panel("timeseries", "How late the truth came (p50, p90)", [
        t(f"histogram_quantile(0.5, sum by (le, platform) (rate(platform_report_truth_delay_seconds_bucket{{{p}}}[6h])))", "p50 {{platform}}"),
        t(f"histogram_quantile(0.9, sum by (le, platform) (rate(platform_report_truth_delay_seconds_bucket{{{p}}}[6h])))", "p90 {{platform}}")], w=12, unit="s")
    b.write("kube-verdict-false-alarms.json")


def health():
    b = Board("kube-verdict-health", "kube-verdict / Health", "kube-verdict itself: sync, source, watches, log fetches, registry requests.", [])
    b.panel("stat", "Synced", [t("min(kube_verdict_synced)", instant=True)], w=6, h=4)
    b.panel("stat", "API server reachable", [t("min(kube_verdict_source_up)", instant=True)], w=6, h=4)
    b.panel("stat", "Seconds since last judgement", [t("time() - max(kube_verdict_last_judged_timestamp_seconds)", instant=True)], w=6, h=4, unit="s")
    b.panel("stat", "Version", [t("max by (version) (kube_verdict_build_info)", "{{version}}", instant=True)], w=6, h=4)
    b.panel("timeseries", "Cached objects", [t("sum by (resource) (kube_verdict_cached_objects)", "{{resource}}")], w=12)
    b.panel("timeseries", "Watch events per second", [t("sum by (resource, type) (rate(kube_verdict_watch_events_total[5m]))", "{{resource}} {{type}}")], w=12)
    b.panel("timeseries", "Watch restarts and source errors", [
        t("sum by (resource) (increase(kube_verdict_watch_restarts_total[15m]))", "restarts {{resource}}"),
        t("sum by (resource, error) (increase(kube_verdict_source_errors_total[15m]))", "errors {{resource}} {{error}}")], w=12)
    b.panel("timeseries", "Build log fetches and skipped objects", [
        t("sum by (result) (increase(kube_verdict_log_fetches_total[15m]))", "logs {{result}}"),
        t("sum by (resource) (increase(kube_verdict_skipped_objects_total[15m]))", "skipped {{resource}}"),
        t("sum by (endpoint, code) (increase(kube_verdict_report_requests_total[15m]))", "reports {{endpoint}} {{code}}")], w=12)
    b.panel("timeseries", "Registry requests by result (tag lookups, manifests, configs)", [
        t("sum by (result) (increase(kube_verdict_registry_requests_total[15m]))", "{{result}}")], w=12)
    b.write("kube-verdict-health.json")


if __name__ == "__main__":
    overview()
    deployment()
    slo()
    health()
