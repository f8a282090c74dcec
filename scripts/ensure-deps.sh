#!/usr/bin/env bash
# Installs what the service, its tests and its demo need on a Debian machine: Debian packages via apt-get
# when missing, and the npm packages pinned by package-lock.json when node_modules is absent or stale.
# Usage: scripts/ensure-deps.sh demo|test
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the service runs (xorriso, squashfs-tools, erofs-utils, cpio) plus what fixture ISOs are built with.
demo_packages=(xorriso genisoimage isolinux syslinux-common syslinux-utils grub-efi-amd64-bin grub-common
  mtools dosfstools cpio squashfs-tools erofs-utils busybox-static openssl curl)
# Tests also boot images in QEMU (the host kernel, OVMF for UEFI, a static busybox guest, and qemu-block-extra's curl
# driver to boot an ISO straight from the service's URL as a BMC's virtual media does), trace file access with
# strace, fill a tmpfs (mount), zip a fake helm layer (zip), and benches compare against nginx with wrk. Every program
# a test runs is here: a missing one makes its cases skip, and the suite fails on any skip test/expected-skips.json
# does not list. Essential packages (coreutils, gzip, diffutils, findutils, sed, bash) are on every Debian already.
test_packages=("${demo_packages[@]}" linux-image-amd64 qemu-system-x86 qemu-block-extra ovmf
  nginx-light wrk strace zip mount)

case "${1:-test}" in
  demo) wanted=("${demo_packages[@]}") ;;
  test) wanted=("${test_packages[@]}") ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "Installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    sudo=sudo
    command -v sudo >/dev/null || { echo "missing packages and not root: apt-get install ${missing[*]}" >&2; exit 1; }
  else
    sudo=
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "Installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund
fi
