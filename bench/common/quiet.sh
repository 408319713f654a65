# Source me.  wait_quiet [MAX_BUSY_PERCENT [TIMEOUT_S]]: wait until the
# whole machine was at most MAX_BUSY_PERCENT busy over half a second (other
# jobs share this machine), or TIMEOUT_S passed.  Prints the busy percentage
# seen last, so runs can record how quiet the machine was.
cpu_busy_pct() {
    local a b
    a=($(head -1 /proc/stat)); sleep 0.5; b=($(head -1 /proc/stat))
    local i ta=0 tb=0
    for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
    local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) tot=$((tb - ta))
    [ "$tot" -gt 0 ] || { echo 0; return; }
    echo $(( 100 * (tot - idle) / tot ))
}
wait_quiet() {
    local max=${1:-15} timeout=${2:-30} t0=$SECONDS busy
    while :; do
        busy=$(cpu_busy_pct)
        if [ "$busy" -le "$max" ] || [ $((SECONDS - t0)) -ge "$timeout" ]; then
            echo "$busy"
            return 0
        fi
    done
}
