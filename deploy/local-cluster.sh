#!/usr/bin/env bash
# A denoiser cluster on this machine: redis-server, W training workers, R Streamlit replicas and
# HAProxy in front with sticky sessions. Needs: apt-get install redis-server haproxy.
# Usage: bash deploy/local-cluster.sh [--replicas 2] [--workers 2] [--port 8500]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m deploy.local_cluster "$@"
