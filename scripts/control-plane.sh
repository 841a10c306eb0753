#!/usr/bin/env bash
# A real Kubernetes control plane for kube-verdict's tests: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler (v1.35.4), with KWOK (v0.8.0) faking the
# kubelets of the nodes the tests create. Everything listens on 127.0.0.1, on ports
# chosen at run time; all state (certificates, kubeconfigs, etcd data, logs, pids)
# lives in the directory given to `up`.
#
#   scripts/control-plane.sh build      build the binaries once, cached by version in
#                                       ${KUBE_VERDICT_CACHE:-~/.cache/kube-verdict}/k8s-v1.35.4/
#   scripts/control-plane.sh up DIR     start a fresh control plane with its state in DIR
#                                       (after `build`), wait until it is ready (pods can
#                                       be created), print the admin kubeconfig's path
#   scripts/control-plane.sh down DIR   stop it: SIGTERM, then SIGKILL after 10 s
#   scripts/control-plane.sh env DIR    print `export KUBECONFIG=...` lines for a shell
#   scripts/control-plane.sh built      exit 0 when everything is built and cached
#   scripts/control-plane.sh restart-apiserver DIR   stop kube-apiserver, start it again
#
# Nodes for KWOK to manage must carry the annotation `kwok.x-k8s.io/node: fake`;
# see docs/real-control-plane-notes.md for a node template and what the scheduler says.
#
# Needs: go >= 1.25 for `build` (only the Go module proxy has to be reachable); openssl,
# python3 (to pick free ports), curl and kubectl for `up`.
# shellcheck disable=SC2329 # functions are also called by name: piece, wait_for, trap
set -euo pipefail

K8S_VERSION=v1.35.4
STAGING_VERSION=v0.35.4 # the staging modules (k8s.io/api, client-go, ...) of K8S_VERSION
ETCD_VERSION=v3.6.5
KWOK_VERSION=v0.8.0

CACHE_ROOT=${KUBE_VERDICT_CACHE:-$HOME/.cache/kube-verdict}
CACHE=$CACHE_ROOT/k8s-$K8S_VERSION
BIN=$CACHE/bin
STAMPS=$CACHE/stamps
STAGES=$CACHE/stages

# usage [STATUS]: the help on stderr with exit 2 (a usage error), or on stdout with exit 0 when
# asked for (`help`, -h, --help).
usage() {
  local status=${1:-2}
  if [ "$status" -eq 0 ]; then exec 3>&1; else exec 3>&2; fi
  cat >&3 <<EOF
usage: $0 build | built | up DIR | down DIR | env DIR | restart-apiserver DIR

  build     build and cache kube-apiserver, kube-controller-manager, kube-scheduler ($K8S_VERSION),
            etcd ($ETCD_VERSION) and kwok ($KWOK_VERSION) in $CACHE
  built     exit 0 when everything is built and cached, 1 otherwise
  up DIR    start a control plane with its state in DIR; prints DIR/admin.kubeconfig
  down DIR  stop the control plane started with DIR (SIGTERM, SIGKILL after 10 s)
  env DIR   print shell exports (KUBECONFIG, ...) for the control plane in DIR
  restart-apiserver DIR
            stop kube-apiserver and start it again (same port, same etcd)

  KUBE_VERDICT_APISERVER_FLAGS (at up): extra kube-apiserver flags, e.g.
            "--min-request-timeout=5 --etcd-compaction-interval=5s"
  KUBE_VERDICT_CONTROLLERS (at up): kube-controller-manager's --controllers (default '*');
            'none' does not start it (a replay of a dump, where objects must stay as written).
            Without the serviceaccount controller no namespace gets its default ServiceAccount
            (create it before pods), without nodelifecycle new Nodes keep the not-ready taint.
  KUBE_VERDICT_SCHEDULER (at up): 'off' (or false, no, 0) does not start kube-scheduler (pending pods stay pending)
  KUBE_VERDICT_OWNER_PID (at up): stop the control plane once this process is gone (a test
            binary killed before it could run 'down')
EOF
  exit "$status"
}

die() {
  echo "control-plane: error: $*" >&2
  exit 1
}
log() { echo "control-plane: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------- build

go_env() {
  have go || die "go not found (needed to build the control plane; https://go.dev/dl/)"
  export CGO_ENABLED=0
  export GOFLAGS="-mod=mod -buildvcs=false"
  GOMODCACHE=$(go env GOMODCACHE)
}

# A scratch module under the cache, removed again on success.
new_module() {
  local dir=$CACHE/build/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

build_k8s() {
  local dir json gomod commit ldflags key val
  dir=$(new_module k8s)
  json=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION") ||
    die "go mod download k8s.io/kubernetes@$K8S_VERSION failed: $json"
  gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$json")
  commit=$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",\{0,1\}$/\1/p' <<<"$json" | head -n1)
  [ -f "$gomod" ] || die "no go.mod for k8s.io/kubernetes@$K8S_VERSION in: $json"
  (
    cd "$dir"
    go mod init kube-verdict.local/control-plane-build >/dev/null 2>&1
    # Kubernetes' own go.mod resolves its staging modules from ./staging; outside the
    # kubernetes repository they come from the proxy, at the matching release.
    {
      echo 'godebug default=go1.25'
      awk -v v="$STAGING_VERSION" '$2 == "=>" && $3 ~ /^\.\/staging\/src\// { print "replace " $1 " => " $1 " " v }' "$gomod"
    } >>go.mod
    [ "$(grep -c '^replace ' go.mod)" -ge 30 ] || die "found too few staging modules in $gomod"
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION"
    ldflags="-s -w"
    for key in gitVersion gitMajor gitMinor gitCommit gitTreeState buildDate; do
      case $key in
        gitVersion) val=$K8S_VERSION ;;
        gitMajor) val=$(cut -d. -f1 <<<"${K8S_VERSION#v}") ;;
        gitMinor) val=$(cut -d. -f2 <<<"$K8S_VERSION") ;;
        gitCommit) val=$commit ;;
        gitTreeState) val=clean ;;
        buildDate) val=$(date -u +%Y-%m-%dT%H:%M:%SZ) ;;
      esac
      ldflags+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
    done
    go build -trimpath -ldflags "$ldflags" -o "$BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler
  )
  rm -rf "$dir"
}

build_etcd() {
  local dir
  dir=$(new_module etcd)
  (
    cd "$dir"
    go mod init kube-verdict.local/etcd >/dev/null 2>&1
    cat >main.go <<'EOF'
// A single-member etcd for tests: the upstream server, through its embed package.
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
)

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		log.Fatalf("bad URL %q: %v", s, err)
	}
	return *u
}

func main() {
	dataDir := flag.String("data-dir", "default.etcd", "directory for the etcd data")
	client := flag.String("listen-client-urls", "http://127.0.0.1:2379", "client URL to listen on")
	peer := flag.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URL to listen on")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	cfg := embed.NewConfig()
	cfg.Dir = *dataDir
	cfg.LogLevel = *logLevel
	cfg.ListenClientUrls = []url.URL{mustURL(*client)}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	cfg.ListenPeerUrls = []url.URL{mustURL(*peer)}
	cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// embed.NewConfig leaves this at 0, which logs every request as a warning.
	cfg.WarningUnaryRequestDuration = embed.DefaultWarningUnaryRequestDuration

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	<-e.Server.ReadyNotify()
	log.Printf("etcd ready on %s", *client)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-e.Err():
		log.Fatal(err)
	case <-stop:
	}
}
EOF
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .
  )
  rm -rf "$dir"
}

build_kwok() {
  (
    cd "$CACHE"
    GOFLAGS=-buildvcs=false GOBIN=$BIN go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  )
}

copy_stages() {
  local src f s
  src=$GOMODCACHE/sigs.k8s.io/kwok@$KWOK_VERSION
  [ -d "$src" ] || (cd "$CACHE" && go mod download "sigs.k8s.io/kwok@$KWOK_VERSION")
  [ -d "$src/kustomize/stage" ] || die "no kustomize/stage in $src"
  rm -rf "$STAGES"
  mkdir -p "$STAGES"
  for s in node/fast node/heartbeat-with-lease pod/fast; do
    mkdir -p "$STAGES/$s"
    for f in "$src/kustomize/stage/$s"/*.yaml; do
      case $f in */kustomization.yaml) ;; *) cp "$f" "$STAGES/$s/" ;; esac
    done
  done
  mkdir -p "$STAGES/crd"
  cp "$src/kustomize/crd/bases/"*.yaml "$STAGES/crd/"
  chmod -R u+w "$STAGES"
}

# recipe FUNCTION: identifies how FUNCTION builds its piece (its code and the versions).
recipe() { { declare -f "$1"; echo "$K8S_VERSION $STAGING_VERSION $ETCD_VERSION $KWOK_VERSION"; } | sha256sum | cut -c1-16; }

# piece NAME FUNCTION FILE...: run FUNCTION unless NAME's stamp matches FUNCTION's recipe
# and all FILEs exist.
piece() {
  local name=$1 fn=$2 f start
  shift 2
  if [ "$(cat "$STAMPS/$name" 2>/dev/null)" != "$(recipe "$fn")" ]; then rm -f "$STAMPS/$name"; fi
  if [ -f "$STAMPS/$name" ]; then
    for f in "$@"; do [ -e "$f" ] || rm -f "$STAMPS/$name"; done
  fi
  if [ -f "$STAMPS/$name" ]; then
    log "build: $name: cached"
    return
  fi
  start=$(now)
  log "build: $name: building (output in $CACHE/logs/build-$name.log)..."
  mkdir -p "$CACHE/logs"
  # In the background and waited for, so that `set -e` stays in force inside FUNCTION.
  "$fn" >"$CACHE/logs/build-$name.log" 2>&1 &
  if ! wait $!; then
    tail -n 40 "$CACHE/logs/build-$name.log" >&2
    die "build: $name failed after $(elapsed "$start") s; see $CACHE/logs/build-$name.log"
  fi
  for f in "$@"; do [ -e "$f" ] || die "build: $name: $f missing after the build"; done
  recipe "$fn" >"$STAMPS/$name"
  log "build: $name: done in $(elapsed "$start") s"
}

cmd_build() {
  local start
  start=$(now)
  go_env
  mkdir -p "$BIN" "$STAMPS"
  piece etcd build_etcd "$BIN/etcd"
  piece kwok build_kwok "$BIN/kwok"
  piece stages copy_stages "$STAGES/node/fast" "$STAGES/node/heartbeat-with-lease" "$STAGES/pod/fast"
  piece kubernetes build_k8s "$BIN/kube-apiserver" "$BIN/kube-controller-manager" "$BIN/kube-scheduler"
  rm -rf "$CACHE/build"
  log "build: all pieces ready in $BIN ($(elapsed "$start") s)"
}

built() {
  local f
  [ "$(cat "$STAMPS/kubernetes" 2>/dev/null)" = "$(recipe build_k8s)" ] || return 1
  [ "$(cat "$STAMPS/etcd" 2>/dev/null)" = "$(recipe build_etcd)" ] || return 1
  [ "$(cat "$STAMPS/kwok" 2>/dev/null)" = "$(recipe build_kwok)" ] || return 1
  [ "$(cat "$STAMPS/stages" 2>/dev/null)" = "$(recipe copy_stages)" ] || return 1
  for f in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do [ -x "$BIN/$f" ] || return 1; done
}

# ---------------------------------------------------------------------------------- up

# free_ports N: N distinct TCP ports on 127.0.0.1 that are free right now.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# cert NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt, signed by the CA in the current directory.
cert() {
  local name=$1 subj=$2 ext=$3
  newkey "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -days 30 -sha256 -extfile <(printf '%b\n' "$ext") -out "$name.crt" 2>/dev/null
  rm -f "$name.csr"
}

make_pki() {
  local pki=$1 client='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'
  local server='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth'
  mkdir -p "$pki"
  (
    cd "$pki"
    newkey ca.key
    openssl req -x509 -new -key ca.key -subj "/CN=kube-verdict-test-ca" -days 30 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out ca.crt 2>/dev/null
    cert apiserver "/CN=kube-apiserver" \
      "$server\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
    cert admin "/O=system:masters/CN=kube-verdict-admin" "$client"
    # With --use-service-account-credentials=false every controller acts as the
    # controller-manager itself, and the RBAC role system:kube-controller-manager is only
    # enough to mint the controllers' own tokens: hence system:masters.
    cert controller-manager "/O=system:masters/CN=system:kube-controller-manager" "$client"
    cert scheduler "/CN=system:kube-scheduler" "$client"
    cert kwok "/O=system:masters/CN=kwok-controller" "$client"
    # The kubelet API that kwok serves (pods/log and friends), for the API server to call.
    cert kwok-serving "/CN=kwok-kubelet" "$server\nsubjectAltName=IP:127.0.0.1,DNS:localhost"
    newkey sa.key
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
}

b64() { base64 -w0 <"$1"; }

# kubeconfig FILE USER: a kubeconfig for the API server, authenticating with pki/USER.{crt,key}.
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kube-verdict
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$PKI/$2.crt")
    client-key-data: $(b64 "$PKI/$2.key")
contexts:
- name: kube-verdict
  context:
    cluster: kube-verdict
    user: $2
current-context: kube-verdict
EOF
  chmod 600 "$1"
}

# start NAME COMMAND...: run in the background, detached, logging to logs/NAME.log.
start() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$DIR/logs/$name.log" 2>&1 &
  echo "$name $!" >>"$DIR/pids"
  disown $!
}

# wait_for WHAT SECONDS LOGNAME COMMAND...: retry COMMAND until it succeeds.
wait_for() {
  local what=$1 secs=$2 logname=$3 deadline pid
  shift 3
  deadline=$(($(date +%s) + secs))
  until "$@" >/dev/null 2>&1; do
    pid=$(awk -v n="$logname" '$1 == n { print $2 }' "$DIR/pids" 2>/dev/null)
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "$logname exited; the end of $DIR/logs/$logname.log:"
      tail -n 30 "$DIR/logs/$logname.log" >&2 || true
      die "$what: $logname is not running"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "the end of $DIR/logs/$logname.log:"
      tail -n 30 "$DIR/logs/$logname.log" >&2 || true
      die "$what: not ready after $secs s"
    fi
    sleep 0.2
  done
}

https_ok() { curl -fsS --max-time 3 "$@"; }
api_ok() { https_ok --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://127.0.0.1:$API_PORT$1"; }

# kwok's --config: just the Stage objects. (A KwokConfiguration in it would need every
# option spelled out: kwok v0.8.0 does not default the ones left out.)
# Pods annotated `kube-verdict.test/kubelet: manual` are left alone by the pod stages that
# write status (a test writes it, as a kubelet would: waiting reasons, imageID, restarts);
# pod-delete still removes them once they are deleted.
kwok_config() {
  local f
  for f in "$STAGES"/node/fast/*.yaml "$STAGES"/node/heartbeat-with-lease/*.yaml; do
    echo '---'
    cat "$f"
  done
  for f in "$STAGES"/pod/fast/*.yaml; do
    echo '---'
    case $f in *delete*) cat "$f"; continue ;; esac
    awk '{ print }
      /^    matchExpressions:$/ && !done {
        print "    - key: \x27.metadata.annotations[\"kube-verdict.test/kubelet\"]\x27"
        print "      operator: \x27DoesNotExist\x27"
        done = 1
      }' "$f"
  done
}

# start_apiserver: kube-apiserver on $API_PORT against etcd on $ETCD_PORT, plus the extra flags
# of KUBE_VERDICT_APISERVER_FLAGS at `up` (e.g. "--min-request-timeout=5
# --etcd-compaction-interval=5s"); waits for /readyz. Used by `up` and `restart-apiserver`.
start_apiserver() {
  local extra=()
  if [ -n "${APISERVER_FLAGS:-}" ]; then read -r -a extra <<<"$APISERVER_FLAGS"; fi
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --endpoint-reconciler-type=none \
    --authorization-mode=Node,RBAC \
    --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --allow-privileged=true \
    --cert-dir="$PKI/apiserver-generated" ${extra[@]+"${extra[@]}"}
  wait_for "kube-apiserver /readyz" 120 kube-apiserver api_ok /readyz
}

# restart-apiserver DIR: stop kube-apiserver (SIGTERM, SIGKILL after 10 s) and start it again on
# the same port with the same etcd: a control-plane upgrade or crash as clients see it.
cmd_restart_apiserver() {
  [ -f "$DIR/ports" ] || die "no control plane has been started in $DIR (run '$0 up $DIR')"
  local name pid deadline
  # shellcheck disable=SC1091
  . "$DIR/ports"
  PKI=$DIR/pki
  deadline=$(($(date +%s) + 10))
  while read -r name pid; do
    [ "$name" = kube-apiserver ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    while alive "$pid"; do sleep 0.1; done
  done <"$DIR/pids"
  grep -v '^kube-apiserver ' "$DIR/pids" >"$DIR/pids.new" || true
  mv "$DIR/pids.new" "$DIR/pids"
  start_apiserver
  log "kube-apiserver restarted on port $API_PORT"
}

# The EXIT trap of `up` until it is ready: on failure, stop whatever it started.
up_failed() {
  if [ "$1" -ne 0 ]; then
    log "up failed; stopping what was started"
    stop_all
  fi
}

cmd_up() {
  local start_time
  start_time=$(now)
  built || die "the control plane is not built yet: run '$0 build' first (10 to 20 minutes, once)"
  have openssl || die "openssl not found (apt-get install -y openssl)"
  have python3 || die "python3 not found"
  have curl || die "curl not found"
  have kubectl || die "kubectl not found"

  if [ -f "$DIR/pids" ]; then
    local name pid
    while read -r name pid; do
      if alive "$pid"; then die "a control plane is already running in $DIR ($name, pid $pid): run '$0 down $DIR' first"; fi
    done <"$DIR/pids"
  fi
  if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/.kube-verdict-control-plane" ]; then
    die "$DIR exists, is not empty and was not made by this script: use an empty or new directory"
  fi
  rm -rf "$DIR/pki" "$DIR/etcd" "$DIR/logs" "$DIR/kwok" "$DIR/pids" "$DIR/env" "$DIR"/*.kubeconfig
  mkdir -p "$DIR/logs" "$DIR/kwok/home"
  touch "$DIR/.kube-verdict-control-plane"
  : >"$DIR/pids"

  trap 'up_failed $?' EXIT
  trap 'exit 1' INT TERM HUP

  read -r ETCD_PORT ETCD_PEER_PORT API_PORT CM_PORT SCHED_PORT KWOK_PORT <<<"$(free_ports 6)"
  PKI=$DIR/pki
  make_pki "$PKI"
  kubeconfig "$DIR/admin.kubeconfig" admin
  kubeconfig "$DIR/controller-manager.kubeconfig" controller-manager
  kubeconfig "$DIR/scheduler.kubeconfig" scheduler
  kubeconfig "$DIR/kwok.kubeconfig" kwok

  start etcd "$BIN/etcd" --data-dir="$DIR/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT"
  wait_for "etcd" 60 etcd curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

  {
    echo "ETCD_PORT=$ETCD_PORT"
    echo "API_PORT=$API_PORT"
    echo "KWOK_PORT=$KWOK_PORT"
    printf 'APISERVER_FLAGS=%q\n' "${KUBE_VERDICT_APISERVER_FLAGS:-}"
  } >"$DIR/ports"
  APISERVER_FLAGS=${KUBE_VERDICT_APISERVER_FLAGS:-}
  start_apiserver
  KUBECONFIG=$DIR/admin.kubeconfig wait_for "kubectl get --raw /readyz" 30 kube-apiserver kubectl get --raw /readyz

  CONTROLLERS=${KUBE_VERDICT_CONTROLLERS:-*}
  if [ "$CONTROLLERS" != none ]; then
    start kube-controller-manager "$BIN/kube-controller-manager" \
      --kubeconfig="$DIR/controller-manager.kubeconfig" \
      --authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
      --authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
      --bind-address=127.0.0.1 --secure-port="$CM_PORT" \
      --controllers="$CONTROLLERS" \
      --use-service-account-credentials=false \
      --service-account-private-key-file="$PKI/sa.key" \
      --root-ca-file="$PKI/ca.crt" \
      --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
      --leader-elect=false \
      --node-monitor-period=2s --node-monitor-grace-period=20s
  fi
  if ! [[ ${KUBE_VERDICT_SCHEDULER:-on} =~ ^(off|false|no|0)$ ]]; then
    start kube-scheduler "$BIN/kube-scheduler" \
      --kubeconfig="$DIR/scheduler.kubeconfig" \
      --authentication-kubeconfig="$DIR/scheduler.kubeconfig" \
      --authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
      --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" \
      --leader-elect=false
  fi

  # KWOK's Logs and ClusterLogs are CRDs, so that tests can point pods at log files at run time.
  KUBECONFIG=$DIR/admin.kubeconfig kubectl apply -f "$STAGES/crd/kwok.x-k8s.io_logs.yaml" \
    -f "$STAGES/crd/kwok.x-k8s.io_clusterlogs.yaml" >/dev/null
  KUBECONFIG=$DIR/admin.kubeconfig kubectl wait --for=condition=Established --timeout=60s \
    crd/logs.kwok.x-k8s.io crd/clusterlogs.kwok.x-k8s.io >/dev/null
  # A default log for every container: one line in the CRI format that `kubectl logs` shows.
  printf '%s stdout F kwok: fake container log\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >"$DIR/kwok/default-container.log"
  KUBECONFIG=$DIR/admin.kubeconfig kubectl apply -f - >/dev/null <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: default
spec:
  logs:
  - logsFile: "$(printf '%s' "$DIR/kwok/default-container.log" | sed 's/["\\]/\\&/g')"
EOF
  # Stages (node fast + heartbeat-with-lease, pod fast) come in through --config.
  kwok_config >"$DIR/kwok/kwok.yaml"
  HOME=$DIR/kwok/home start kwok "$BIN/kwok" \
    --config="$DIR/kwok/kwok.yaml" \
    --kubeconfig="$DIR/kwok.kubeconfig" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --manage-single-node= \
    --enable-crds=Logs,ClusterLogs \
    --node-lease-duration-seconds=40 \
    --cidr=10.244.0.0/16 \
    --node-ip=127.0.0.1 --node-port="$KWOK_PORT" \
    --server-address="127.0.0.1:$KWOK_PORT" \
    --tls-cert-file="$PKI/kwok-serving.crt" --tls-private-key-file="$PKI/kwok-serving.key"

  if [ "$CONTROLLERS" != none ]; then
    wait_for "kube-controller-manager /healthz" 60 kube-controller-manager https_ok -k "https://127.0.0.1:$CM_PORT/healthz"
  fi
  if ! [[ ${KUBE_VERDICT_SCHEDULER:-on} =~ ^(off|false|no|0)$ ]]; then
    wait_for "kube-scheduler /healthz" 60 kube-scheduler https_ok -k "https://127.0.0.1:$SCHED_PORT/healthz"
  fi
  wait_for "kwok /healthz" 60 kwok https_ok -k "https://127.0.0.1:$KWOK_PORT/healthz"
  # Pods can be created once the namespace's default ServiceAccount exists (made by the
  # serviceaccount controller; without it, whoever creates pods makes the ServiceAccount).
  case ",$CONTROLLERS," in
    *",*,"* | *",serviceaccount,"*)
      wait_for "the default ServiceAccount" 60 kube-controller-manager api_ok /api/v1/namespaces/default/serviceaccounts/default
      ;;
  esac

  # Quoted for `eval "$(control-plane.sh env DIR)"`, whatever DIR's characters.
  {
    printf 'export KUBECONFIG=%q\n' "$DIR/admin.kubeconfig"
    printf 'export KUBE_VERDICT_APISERVER=%q\n' "https://127.0.0.1:$API_PORT"
    printf 'export KUBE_VERDICT_ETCD=%q\n' "http://127.0.0.1:$ETCD_PORT"
    printf 'export KUBE_VERDICT_KWOK_SERVER=%q\n' "https://127.0.0.1:$KWOK_PORT"
    printf 'export KUBE_VERDICT_CONTROL_PLANE_DIR=%q\n' "$DIR"
  } >"$DIR/env"
  trap - EXIT INT TERM HUP
  # With KUBE_VERDICT_OWNER_PID (the test process that started it): a watchdog stops the
  # control plane once that process is gone, also when it was killed before it could run
  # `down` (Ctrl-C on a test binary). It ends by itself after `down` or when DIR is removed.
  if [ -n "${KUBE_VERDICT_OWNER_PID:-}" ]; then
    local self
    self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$2/pids" ]; do sleep 1; done
      if [ -f "$2/pids" ]; then exec bash "$3" down "$2"; fi' \
      watchdog "$KUBE_VERDICT_OWNER_PID" "$DIR" "$self" </dev/null >>"$DIR/logs/watchdog.log" 2>&1 &
    disown $!
  fi
  log "up in $(elapsed "$start_time") s: API server https://127.0.0.1:$API_PORT (logs in $DIR/logs, stop with '$0 down $DIR')"
  echo "$DIR/admin.kubeconfig"
}

# ---------------------------------------------------------------------------------- down

# alive PID: PID runs one of our binaries with DIR in its arguments (not a reused pid).
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/"
}

# stop_all: SIGTERM in waves -- kwok, the scheduler and the controller-manager first, then
# the API server (quicker once its watchers are gone), then etcd (which waits for the API
# server's streams to close) -- and SIGKILL whatever is left 10 s after the first SIGTERM.
stop_all() {
  local name pid deadline wave pids left
  [ -f "$DIR/pids" ] || return 0
  for wave in "kwok kube-scheduler kube-controller-manager" "kube-apiserver" "etcd"; do
    # Each wave has its own 10 s: a slow kube-apiserver does not cost etcd its grace.
    deadline=$(($(date +%s%3N) + 10000))
    pids=()
    while read -r name pid; do
      case " $wave " in *" $name "*) ;; *) continue ;; esac
      if alive "$pid"; then
        pids+=("$pid")
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done <"$DIR/pids"
    while [ ${#pids[@]} -gt 0 ] && [ "$(date +%s%3N)" -lt "$deadline" ]; do
      sleep 0.1
      left=()
      for pid in "${pids[@]}"; do if alive "$pid"; then left+=("$pid"); fi; done
      pids=(${left[@]+"${left[@]}"})
    done
  done
  pids=()
  while read -r name pid; do
    if alive "$pid"; then
      pids+=("$pid")
      log "SIGKILL $name (pid $pid): still running 10 s after SIGTERM"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done <"$DIR/pids"
  for _ in $(seq 50); do
    left=()
    for pid in ${pids[@]+"${pids[@]}"}; do if alive "$pid"; then left+=("$pid"); fi; done
    [ ${#left[@]} -eq 0 ] && break
    sleep 0.1
  done
  rm -f "$DIR/pids"
}

cmd_down() {
  [ -f "$DIR/pids" ] || {
    log "nothing running in $DIR"
    return 0
  }
  stop_all
  log "stopped the control plane in $DIR"
}

cmd_env() {
  [ -f "$DIR/env" ] || die "no control plane has been started in $DIR (run '$0 up $DIR')"
  cat "$DIR/env"
}

# ---------------------------------------------------------------------------------- main

main() {
  [ $# -ge 1 ] || usage
  case $1 in
    build)
      [ $# -eq 1 ] || usage
      cmd_build
      ;;
    built)
      [ $# -eq 1 ] || usage
      built
      ;;
    restart-apiserver)
      [ $# -eq 2 ] && [ -n "$2" ] || usage
      DIR=$(realpath -m -- "$2")
      cmd_restart_apiserver
      ;;
    up | down | env)
      [ $# -eq 2 ] && [ -n "$2" ] || usage
      DIR=$(realpath -m -- "$2")
      case $1 in
        up) cmd_up ;;
        down) cmd_down ;;
        env) cmd_env ;;
      esac
      ;;
    -h | --help | help) usage 0 ;;
    *) usage ;;
  esac
}

# On one line, so that bash has read the whole file before anything runs.
main "$@"; exit $?
