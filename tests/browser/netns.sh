#!/usr/bin/env bash
# Runs a command in a private network namespace with one test host address.
# Chromium gathers no ICE candidates when loopback is the only interface, so
# the namespace gets a veth pair with 198.51.100.1 (a documentation range:
# nothing outside this namespace has it). Call through `unshare -n`.
set -euo pipefail
ip link set lo up
ip link add podium0 type veth peer name podium1
ip addr add 198.51.100.1/32 dev podium0
ip link set podium0 up
ip link set podium1 up
exec "$@"
