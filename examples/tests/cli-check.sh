#!/bin/sh
# cli-check.sh EXPECTED_RC REGEX PROGRAM ARGS...
# Runs PROGRAM ARGS (stdin closed, 10 s limit) and checks its exit status
# and that stdout+stderr (newlines read as blanks) match the extended regular expression REGEX.
# A REGEX of "json" instead checks that stdout is valid JSON (python3).
expected=$1 regex=$2
shift 2
out=$(timeout 10 "$@" </dev/null 2>&1)
rc=$?
if [ "$rc" != "$expected" ]; then
    printf 'FAIL: exit status %s, expected %s\n--- output:\n%s\n' "$rc" "$expected" "$out"
    exit 1
fi
if [ "$regex" = json ]; then
    if ! printf '%s' "$out" | python3 -c 'import json, sys; json.load(sys.stdin)'; then
        printf 'FAIL: not JSON:\n%s\n' "$out"
        exit 1
    fi
elif ! printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$regex"; then
    printf 'FAIL: output does not match /%s/:\n%s\n' "$regex" "$out"
    exit 1
fi
printf 'ok: exit %s, output matches\n' "$rc"
