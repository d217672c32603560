#!/usr/bin/env bash
# `make check-template` (and so `make test` and CI): is template.yaml deployable?
#   1. cfn-lint template.yaml                     (.venv)
#   2. sam validate --lint                        (.venv-sam)
#   3. sam build --cached --parallel              (no container; into .aws-sam/, gitignored)
#   4. the built artifacts make sense             (layer has the exchange package and cp312 wheels, ...)
#   5. the compiled engine in the layer == source (tools/check_compiled_engine.py, python3.12)
#   6. the deploy rehearsal                       (tools/deploy_rehearsal.py + rehearsal_facts.py: SAM -> CloudFormation -> moto)
# Fails on the first error; prints one line per step.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_PY=.venv/bin/python
CFN_LINT=.venv/bin/cfn-lint
SAM=.venv-sam/bin/sam
export SAM_CLI_TELEMETRY=0
export PYENV_VERSION="${PYENV_VERSION:-3.11.7:3.12.1}"   # sam build finds python3.12 through pyenv
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
LOG_DIR=.aws-sam/logs
mkdir -p "$LOG_DIR"

for tool in "$VENV_PY" "$CFN_LINT" "$SAM"; do
    [[ -x $tool ]] || { echo "check-template: $tool is missing (run 'make check-template', which installs it)" >&2; exit 1; }
done

START=$SECONDS
step() {  # step <name> <log file> <command...>: run quietly, one line of result, the log on failure
    local name=$1 log=$2 t0=$SECONDS
    shift 2
    if "$@" >"$log" 2>&1; then
        echo "check-template: ${name}: ok ($((SECONDS - t0)) s)"
    else
        local rc=$?
        echo "check-template: ${name}: FAILED (exit ${rc}); output:" >&2
        sed 's/^/    /' "$log" >&2
        exit 1
    fi
}

# One check at a time per checkout: .aws-sam/ is shared by everyone working in it.
exec 9>.aws-sam/.check-template.lock
flock 9

step "cfn-lint" "$LOG_DIR/cfn-lint.log" "$CFN_LINT" template.yaml
step "sam validate --lint" "$LOG_DIR/sam-validate.log" "$SAM" validate --lint --template-file template.yaml
# --cached was checked here: edited and added source files and changed requirements all rebuild.
step "sam build" "$LOG_DIR/sam-build.log" "$SAM" build --cached --parallel --template-file template.yaml

check_artifacts() {
    "$VENV_PY" - <<'PY'
"""The built artifacts are what Lambda (python3.12, x86_64) needs."""
import re
import sys
from pathlib import Path

from samtranslator.yaml_helper import yaml_parse

build = Path(".aws-sam/build")
template = yaml_parse((build / "template.yaml").read_text())
problems, warnings = [], []

layer = build / "SharedLayer" / "python"
if not (layer / "exchange" / "__init__.py").is_file():
    problems.append(f"{layer}/exchange/__init__.py is missing: the shared code is not in the layer")
if not list(layer.glob("pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu*.so")):
    found = [p.name for p in layer.glob("pydantic_core/_pydantic_core*.so")]
    problems.append(f"pydantic_core in the layer is not built for cp312/x86_64: {found}")

# every compiled module anywhere: CPython 3.12 (or abi3), x86_64
for so in build.rglob("*.so"):
    m = re.search(r"\.cpython-(\d+)-([a-z0-9_]+)-linux-gnu\.so$", so.name)
    if m and (m.group(1) != "312" or m.group(2) != "x86_64"):
        problems.append(f"{so}: built for cpython-{m.group(1)}/{m.group(2)}, Lambda runs cpython-312/x86_64")

api = build / "ApiFunction"
for needed in ("fastapi", "mangum", "api_handler.py"):
    if not (api / needed).exists():
        problems.append(f"{api}/{needed} is missing")

def versions(folder: Path) -> dict[str, str]:
    out = {}
    for d in folder.glob("*.dist-info"):
        name, _, version = d.name[: -len(".dist-info")].partition("-")
        out[name.lower().replace("_", "-")] = version
    return out

layer_versions = versions(layer)
for lid, res in template["Resources"].items():
    if res.get("Type") != "AWS::Serverless::Function":
        continue
    props = res["Properties"]
    code = build / str(props["CodeUri"])
    module = props["Handler"].rsplit(".", 1)[0].replace(".", "/")
    if not ((code / f"{module}.py").is_file() or (code / module / "__init__.py").is_file()):
        problems.append(f"{lid}: handler module {module}.py is not in {code}")
    # a package in a function shadows the layer's copy (/var/task comes before /opt/python)
    for name, version in versions(code).items():
        if name in layer_versions and layer_versions[name] != version:
            warnings.append(f"{lid} ships {name} {version}, shadowing the layer's {layer_versions[name]}")

for w in warnings:
    print(f"WARNING: {w}")
for p in problems:
    print(f"PROBLEM: {p}")
sys.exit(1 if problems else 0)
PY
}
step "built artifacts" "$LOG_DIR/artifacts.log" check_artifacts
grep '^WARNING' "$LOG_DIR/artifacts.log" | sed 's/^/    /' || true

step "compiled engine == source (python3.12)" "$LOG_DIR/compiled-engine.log" \
    python3.12 tools/check_compiled_engine.py .aws-sam/build/SharedLayer/python
sed -n '1p' "$LOG_DIR/compiled-engine.log" | sed 's/^/    /'

step "deploy rehearsal (moto CloudFormation)" "$LOG_DIR/rehearsal.log" "$VENV_PY" -m tools.deploy_rehearsal
sed -n '1p' "$LOG_DIR/rehearsal.log" | sed 's/^/    /'

echo "check-template: all ok ($((SECONDS - START)) s)"
