#!/bin/sh
# signal-exit.sh SIGNAL SOCKET PROGRAM ARGS...
# Starts PROGRAM ARGS, waits for it to create SOCKET, sends SIGNAL and checks
# that it exits with status 0 within 5 s and removes SOCKET.
sig=$1 sock=$2
shift 2
rm -f "$sock"
"$@" </dev/null &
pid=$!
i=0
while [ ! -S "$sock" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
        echo "FAIL: $sock never appeared"
        kill -KILL $pid 2>/dev/null
        exit 1
    fi
    sleep 0.05
done
kill -"$sig" $pid
i=0
while kill -0 $pid 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "FAIL: still running 5 s after SIG$sig"
        kill -KILL $pid
        exit 1
    fi
    sleep 0.05
done
wait $pid
rc=$?
[ $rc = 0 ] || { echo "FAIL: exit status $rc after SIG$sig"; exit 1; }
[ ! -e "$sock" ] || { echo "FAIL: $sock left behind"; exit 1; }
echo "ok: clean exit on SIG$sig"
