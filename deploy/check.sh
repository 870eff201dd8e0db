#!/usr/bin/env bash
# Checks deploy/ as far as this machine can without a container engine or a
# cluster: every YAML file parses, the Grafana dashboard parses and uses only
# metrics the contract in docs/operations.md names, the compose and Kubernetes
# configurations load in certgate, the manifests keep their safety settings,
# the systemd unit passes systemd-analyze, and the Dockerfile keeps its shape
# (multi-stage, non-root, health check). Tools that are absent are skipped
# with the reason printed. Called by .ci/run; runs alone too:
#   bash deploy/check.sh            (CERTGATE_BIN=path to skip the cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."

ok=0
skipped=0
pass() { echo "deploy: ok: $*"; ok=$((ok + 1)); }
skip() { echo "deploy: SKIPPED: $*"; skipped=$((skipped + 1)); }
fail() { echo "deploy: FAILED: $*" >&2; exit 1; }

# PyYAML may be in the system Python (Debian's python3-yaml) while python3 on
# PATH is another one.
py=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || fail "no python3 with PyYAML (apt-get install python3-yaml)"

bin=${CERTGATE_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q -p certgate --locked
  bin=$(cargo metadata -q --format-version 1 --no-deps | "$py" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/certgate
fi
[ -x "$bin" ] || fail "no certgate binary at $bin"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. YAML, every document of every file.
"$py" - <<'EOF' || fail "YAML"
import pathlib, sys, yaml
files = sorted(p for p in pathlib.Path("deploy").rglob("*") if p.suffix in (".yaml", ".yml"))
for f in files:
    docs = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
    if not docs:
        sys.exit(f"{f}: no YAML document")
print(f"{len(files)} files")
EOF
pass "YAML parses"

# 2. The dashboard parses, and every metric it queries is in the metrics
# contract of docs/operations.md, so the metrics implementation and the dashboard cannot drift apart
# silently.
"$py" - <<'EOF' || fail "Grafana dashboard"
import json, pathlib, re, sys
readme = pathlib.Path("docs/operations.md").read_text()
for f in sorted(pathlib.Path("deploy/grafana").glob("*.json")):
    d = json.loads(f.read_text())
    exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
    if not exprs:
        sys.exit(f"{f}: no queries")
    used = {re.sub(r"_(bucket|count|sum)$", "", m) for e in exprs for m in re.findall(r"\bcertgate_[a-z_]+", e)}
    missing = sorted(m for m in used if f"`{m}`" not in readme)
    if missing:
        sys.exit(f"{f}: metrics not in the contract of docs/operations.md: {missing}")
EOF
pass "Grafana dashboard parses and uses only contract metrics"

# 3. The configurations the deployments use load in certgate. The compose
# instances get theirs from compose/certgate.toml plus the environment that
# compose.yaml gives them (with its ${...} references filled in).
"$py" - "$tmp/compose.env" <<'EOF' || fail "compose environment"
import re, sys, yaml
services = yaml.safe_load(open("deploy/compose.yaml"))["services"]
for name in ("certgate-1", "certgate-2", "migrate"):
    if name not in services:
        sys.exit(f"compose.yaml: no service {name}")
    if "/etc/certgate/certgate.toml" not in " ".join(services[name].get("volumes", [])):
        sys.exit(f"compose.yaml: {name} does not mount compose/certgate.toml")
for name in ("certgate-1", "certgate-2"):
    if services[name]["depends_on"]["migrate"]["condition"] != "service_completed_successfully":
        sys.exit(f"compose.yaml: {name} does not wait for the migrations")
def fill(v):
    v = re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "compose-check-only-not-a-secret", str(v))
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", v)
with open(sys.argv[1], "w") as out:
    for k, v in services["certgate-1"]["environment"].items():
        out.write(f"{k}={fill(v)}\n")
EOF
mapfile -t compose_env < "$tmp/compose.env"
env -i PATH="$PATH" "${compose_env[@]}" "$bin" --config deploy/compose/certgate.toml check-config >/dev/null \
  || fail "deploy/compose/certgate.toml with compose.yaml's environment does not load"
pass "compose configuration loads"

CERTGATE_SECRET_KEY=k8s-check-only-not-a-secret "$bin" --config deploy/k8s/certgate.toml check-config >/dev/null \
  || fail "deploy/k8s/certgate.toml does not load"
# The example secret must keep failing closed, so that an unedited copy never
# runs with a key everyone knows.
mapfile -t example_env < <(grep -v '^#' deploy/k8s/secret.env.example)
if env -i PATH="$PATH" "${example_env[@]}" "$bin" --config deploy/k8s/certgate.toml check-config >/dev/null 2>&1; then
  fail "deploy/k8s/secret.env.example holds a secret key that certgate accepts"
fi
pass "Kubernetes configuration loads; the example secret is refused"

# 4. The Kubernetes manifests keep what the issue asks of them.
"$py" - <<'EOF' || fail "Kubernetes manifests"
import sys, yaml
def load(name):
    return yaml.safe_load(open(f"deploy/k8s/{name}"))
dep, job = load("deployment.yaml"), load("migrate-job.yaml")
if dep["spec"]["replicas"] < 2:
    sys.exit("deployment.yaml: fewer than 2 replicas")
for kind, obj in (("Deployment", dep), ("Job", job)):
    pod = obj["spec"]["template"]["spec"]
    if not pod["securityContext"].get("runAsNonRoot"):
        sys.exit(f"{kind}: runAsNonRoot is not set")
    for c in pod["containers"]:
        sc = c["securityContext"]
        if not (sc.get("readOnlyRootFilesystem") and sc["capabilities"]["drop"] == ["ALL"]
                and sc.get("allowPrivilegeEscalation") is False):
            sys.exit(f"{kind} {c['name']}: read-only root, no privilege escalation and drop ALL are required")
c = dep["spec"]["template"]["spec"]["containers"][0]
if c["livenessProbe"]["httpGet"]["path"] != "/healthz" or c["readinessProbe"]["httpGet"]["path"] != "/readyz":
    sys.exit("deployment.yaml: liveness must probe /healthz and readiness /readyz")
if "migrate" not in job["spec"]["template"]["spec"]["containers"][0]["args"]:
    sys.exit("migrate-job.yaml: the Job does not run certgate migrate")
if load("pdb.yaml")["kind"] != "PodDisruptionBudget":
    sys.exit("pdb.yaml: not a PodDisruptionBudget")
EOF
pass "Kubernetes manifests keep replicas, probes and security settings"

if command -v kubectl >/dev/null; then
  cp -r deploy/k8s "$tmp/k8s"
  cp "$tmp/k8s/secret.env.example" "$tmp/k8s/secret.env"
  kubectl kustomize "$tmp/k8s" > "$tmp/k8s.yaml" || fail "kubectl kustomize deploy/k8s"
  "$py" - "$tmp/k8s.yaml" <<'EOF' || fail "kustomize output"
import sys, yaml
kinds = sorted(d["kind"] for d in yaml.safe_load_all(open(sys.argv[1])) if d)
want = sorted(["ConfigMap", "Deployment", "Job", "Namespace", "PodDisruptionBudget", "Secret", "Service"])
if kinds != want:
    sys.exit(f"kustomize built {kinds}, expected {want}")
EOF
  pass "kubectl kustomize builds deploy/k8s"
else
  skip "kubectl is not installed: the kustomization was not built"
fi

# 5. The systemd unit. verify wants the ExecStart binary to exist, so a copy
# names the one just built; it works without systemd as PID 1.
if command -v systemd-analyze >/dev/null; then
  sed "s#/usr/local/bin/certgate#$(realpath "$bin")#g" deploy/certgate.service > "$tmp/certgate.service"
  # verify only warns about an unknown or misspelt option, and exits 0: any
  # output at all counts as a failure.
  out=$(systemd-analyze verify "$tmp/certgate.service" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify deploy/certgate.service: $out"
  # Exposure is scored 0 to 100 (shown divided by ten); the unit scores about
  # 11. The threshold leaves room for systemd versions that score differently,
  # so it catches the loss of several options at once, not of a single one.
  systemd-analyze security --offline=yes --threshold=20 "$tmp/certgate.service" >/dev/null \
    || fail "systemd-analyze security: deploy/certgate.service is less hardened than it was"
  pass "systemd-analyze verify and security accept deploy/certgate.service"
else
  skip "systemd-analyze is not installed: deploy/certgate.service was not verified"
fi

# 6. The Dockerfile. Its structure is checked everywhere: a build stage and
# a runtime stage that copies only the binary, a non-root user, a health
# check and certgate as the entry point. It is built (docker build --check)
# only where a container engine is reachable; the CI machine has none, and
# no registry to pull base images from.
"$py" - <<'EOF' || fail "deploy/Dockerfile structure"
import re, sys
text = re.sub(r"\\\n", " ", open("deploy/Dockerfile").read())   # join continued lines
lines = [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
stages = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
if len(stages) < 2 or " AS " not in lines[stages[0]].upper():
    sys.exit("expected a named build stage and a runtime stage")
final = lines[stages[-1]:]
def has(prefix, pattern):
    return any(l.upper().startswith(prefix) and re.search(pattern, l) for l in final)
checks = {
    "the runtime stage copies the binary from the build stage": has("COPY", r"--from=\w+"),
    "the runtime stage runs as a non-root user": has("USER", r"^USER\s+(?!0\b|0:|root\b)\S+"),
    "a HEALTHCHECK probes /healthz": has("HEALTHCHECK", r"/healthz"),
    "the entry point is certgate": has("ENTRYPOINT", r"certgate"),
}
missing = [k for k, ok in checks.items() if not ok]
if missing:
    sys.exit("; ".join(missing))
EOF
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build --check -f deploy/Dockerfile . || fail "docker build --check"
  pass "deploy/Dockerfile: multi-stage, non-root, health check; docker build --check accepts it"
else
  pass "deploy/Dockerfile: multi-stage, non-root, health check"
  skip "docker build --check of deploy/Dockerfile: no container engine here"
fi

echo "deploy/check.sh: $ok checks ok, $skipped skipped"
