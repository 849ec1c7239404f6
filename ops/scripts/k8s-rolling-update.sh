#!/usr/bin/env bash
# k8s-rolling-update.sh -- rolls the Kubernetes deployment to a new image, undoing it when the rollout fails
# (deployment guide section 10.2).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: k8s-rolling-update.sh <version>

Sets the gateway container's image to $IMAGE_REPO:<version>, waits for the rollout (readiness probes gate each
new pod), checks that a pod reports <version> on /actuator/info, and runs `kubectl rollout undo` when the
rollout or the check fails.

Environment:
  KUBECTL default kubectl   NAMESPACE default globalmcp   DEPLOYMENT default globalmcp-deployment
  CONTAINER default globalmcp   IMAGE_REPO default globalmcp/gateway   ROLLOUT_TIMEOUT default 600s
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "" | -*) usage >&2; exit 1 ;;
esac
[ $# -eq 1 ] || { usage >&2; exit 1; }
NEW_VERSION="$1"

# shellcheck source=globalmcp-ops-lib.sh
. "$(dirname "$(readlink -f "$0")")/globalmcp-ops-lib.sh"

read -r -a KUBECTL_CMD <<<"${KUBECTL:-kubectl}"
NAMESPACE="${NAMESPACE:-globalmcp}"
DEPLOYMENT="${DEPLOYMENT:-globalmcp-deployment}"
CONTAINER="${CONTAINER:-globalmcp}"
IMAGE_REPO="${IMAGE_REPO:-globalmcp/gateway}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-600s}"
k() { "${KUBECTL_CMD[@]}" -n "$NAMESPACE" "$@"; }

gm_log "Starting rolling update to version $NEW_VERSION..."
k set image "deployment/$DEPLOYMENT" "$CONTAINER=$IMAGE_REPO:$NEW_VERSION"
k annotate "deployment/$DEPLOYMENT" kubernetes.io/change-cause="k8s-rolling-update.sh $NEW_VERSION" --overwrite >/dev/null

rollback() {
  gm_warn "$1: rolling back"
  k rollout undo "deployment/$DEPLOYMENT"
  k rollout status "deployment/$DEPLOYMENT" --timeout="$ROLLOUT_TIMEOUT" || true
  exit 1
}

k rollout status "deployment/$DEPLOYMENT" --timeout="$ROLLOUT_TIMEOUT" || rollback "The rollout did not complete"

# The image runs node: ask one new pod which version it serves.
version="$(k exec "deployment/$DEPLOYMENT" -c "$CONTAINER" -- node -e \
  "fetch('http://127.0.0.1:'+(process.env.MANAGEMENT_SERVER_PORT||8081)+'/actuator/info').then(r=>r.json()).then(i=>process.stdout.write(String((i.build&&i.build.version)||(i.app&&i.app.version)||'')))" \
  2>/dev/null || true)"
[ "$version" = "$NEW_VERSION" ] || rollback "A pod reports version '$version', expected '$NEW_VERSION'"

k get pods -l app=globalmcp -o wide
k logs -l app=globalmcp --tail=20 --prefix=true || true

gm_log "Rolling update completed"
