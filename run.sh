#!/bin/bash
# run a command against this worktree's sources
cd /work/opt
export GRIDSHARE_ROOT=/work/opt PYTHONPATH=/work/opt SOLCX_BINARY_PATH=/work/main/.solcx PATH=/work/main/node_modules/.bin:$PATH
exec /work/main/.venv/bin/python "$@"
