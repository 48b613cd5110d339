#!/usr/bin/env bash
# Installs and starts a copy of this repository with each pnpm a new user may have, using the
# README's commands (`pnpm install`, `pnpm crm`, `pnpm start`; the root scripts call pnpm again
# with --filter, so nested calls are covered too):
#   - no pnpm yet: the README's `npm install -g pnpm@10` (the newest pnpm 10)
#   - pnpm 11 already installed (the standalone @pnpm/exe build where Node.js is older than 22.13,
#     which pnpm 11's JavaScript build needs)
#   - pnpm 12 already installed
# Each pnpm goes into its own temporary npm prefix; nothing global is touched. Run by
# tests/pnpm-versions.slow.test.ts (the `slow` vitest project, once per CI run).
#
#   scripts/check-pnpm-versions.sh [npm-spec ...]     default: pnpm@10 pnpm@11 pnpm@12
#   CHECK_START=0 skips `pnpm start`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-pnpm-check.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM -- "-$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The variables a parent pnpm/npm sets for its scripts must not leak into the pnpm under test.
for v in $(compgen -e | grep -E '^(npm_|NPM_|PNPM_|pnpm_)' || true); do unset "$v"; done
export CI=1

node_ok_for_pnpm11() { node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=13)?0:1)'; }

specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  if node_ok_for_pnpm11; then p11=pnpm@11; else p11=@pnpm/exe@11; fi
  specs=(pnpm@10 "$p11" pnpm@12)
fi

# A copy of the working tree as git sees it (tracked and new files, not ignored ones).
mkdir -p "$work/repo"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
  (cd "$repo" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$work/repo"
cd "$work/repo"
cp pnpm-lock.yaml "$work/pnpm-lock.orig"

failed=0
step() { printf '  %-44s' "$1"; }
for spec in "${specs[@]}"; do
  want=$(sed -E 's/.*@([0-9]+).*/\1/' <<<"$spec")
  prefix="$work/prefix-$want"
  echo "== $spec"
  step "npm install -g --prefix <tmp> $spec"
  if ! npm install -g --prefix "$prefix" --no-fund --no-audit --loglevel=error "$spec" >"$work/npm.log" 2>&1; then
    echo FAIL; cat "$work/npm.log"; failed=1; continue
  fi
  echo ok
  export PATH="$prefix/bin:$PATH"
  version=$(pnpm --version 2>/dev/null | tail -1)
  step "pnpm --version"
  if [[ "$version" != "$want".* ]]; then echo "FAIL ($version)"; failed=1; continue; fi
  echo "$version"

  rm -rf node_modules packages/*/node_modules examples/*/node_modules bench/node_modules
  step "pnpm install --frozen-lockfile"
  if ! pnpm install --frozen-lockfile --prefer-offline >"$work/install.log" 2>&1; then
    echo FAIL; tail -30 "$work/install.log"; failed=1; continue
  fi
  if ! cmp -s "$work/pnpm-lock.orig" "$work/repo/pnpm-lock.yaml"; then
    echo "FAIL (pnpm-lock.yaml was rewritten)"; failed=1; continue
  fi
  echo ok

  step "pnpm crm help (nested pnpm --filter)"
  if ! pnpm crm help >"$work/crm.log" 2>&1 || ! grep -q 'shop:create' "$work/crm.log"; then
    echo FAIL; cat "$work/crm.log"; failed=1; continue
  fi
  echo ok

  if [ "${CHECK_START:-1}" != 0 ]; then
    step "pnpm start (nested; until /health answers)"
    : >"$work/start.log"
    DATA_DIR="$work/data" PORT=0 LOG_LEVEL=info setsid pnpm start >"$work/start.log" 2>&1 &
    server_pid=$!
    health=""
    for _ in $(seq 1 240); do
      health=$(grep -oE 'Health +http://[^ ]+' "$work/start.log" | awk '{print $2}' || true)
      [ -n "$health" ] && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.25
    done
    if [ -n "$health" ] && node -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$health"; then
      echo ok
    else
      echo FAIL; tail -30 "$work/start.log"; failed=1
    fi
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
  PATH=${PATH#"$prefix/bin:"}
done

if [ "$failed" != 0 ]; then echo "pnpm version check FAILED"; exit 1; fi
echo "pnpm version check passed: ${specs[*]}"
