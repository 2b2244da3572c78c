#!/bin/sh
# One idempotent set-up for a fresh Debian 12 machine with Node 20: the system packages the agent
# and its tests use, the npm dependencies (the OpenCV binding is compiled against Debian's
# libopencv-dev), and the compiled CLI. When everything is in place it returns in seconds.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# --- system packages ----------------------------------------------------------------------
missing=""
need() { # need <debian package> <command that succeeds when it is installed...>
  pkg=$1
  shift
  if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
need g++ command -v g++
need make command -v make
need python3 command -v python3
need pkg-config command -v pkg-config
need libopencv-dev test -f /usr/include/opencv4/opencv2/core.hpp
need ffmpeg command -v ffmpeg
need mosquitto test -x /usr/sbin/mosquitto -a -x /usr/bin/mosquitto_passwd
need openssl command -v openssl
need mosquitto-clients command -v mosquitto_sub
need socat command -v socat
need chromium command -v chromium
need sqlite3 command -v sqlite3

if [ -n "$missing" ]; then
  say "installing Debian packages:$missing"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# --- npm dependencies -------------------------------------------------------------------------
# @u4/opencv4nodejs builds against the system OpenCV instead of downloading and compiling its own.
multiarch=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH)
export OPENCV4NODEJS_DISABLE_AUTOBUILD=1
export OPENCV_INCLUDE_DIR=/usr/include/opencv4
export OPENCV_LIB_DIR="/usr/lib/$multiarch"
export OPENCV_BIN_DIR=/usr/bin
# onnxruntime-node's CPU binaries ship in its npm package; its installer would fetch CUDA files.
export ONNXRUNTIME_NODE_INSTALL=skip

stamp=node_modules/.setup-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm dependencies (the first time, compiling the OpenCV binding takes several minutes)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

# --- compiled CLI ---------------------------------------------------------------------------------
node_modules/.bin/tsc -p tsconfig.build.json
