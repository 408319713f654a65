# Helpers shared by the layout and ABI checks (sourced, not run).

# CI is set (to anything but 0/false/empty) on the CI machine.
vu_in_ci() {
    case "${CI:-}" in
    '' | 0 | false | FALSE | no) return 1 ;;
    *) return 0 ;;
    esac
}

vu_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Skip loudly (CTest shows it as skipped through SKIP_RETURN_CODE 77).
vu_skip() {
    echo "************************************************************" >&2
    echo "SKIP: $*" >&2
    echo "************************************************************" >&2
    exit 77
}

# A required tool: missing is a skip on a developer machine, a failure in CI.
vu_need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if vu_in_ci; then
        vu_fail "$1 is not installed (required in CI)"
    fi
    vu_skip "$1 is not installed; install it to run this check"
}

# Names of the functions declared by a header, one per line, sorted.
# gcc -aux-info writes one prototype per declared function, tagged with the
# file and line it came from; we keep those from the header itself.
#   vu_declared_functions HEADER INCLUDE-FLAGS...
vu_declared_functions() {
    local header=$1 tmp
    shift
    tmp=$(mktemp -d)
    printf '#include "%s"\n' "$header" >"$tmp/t.c"
    gcc -std=gnu11 "$@" -aux-info "$tmp/t.aux" -c "$tmp/t.c" -o "$tmp/t.o" ||
        { rm -rf "$tmp"; return 1; }
    grep -F "/* $header:" "$tmp/t.aux" |
        sed -E 's/^.*[ *]([A-Za-z_][A-Za-z0-9_]*) \(.*$/\1/' | sort -u
    rm -rf "$tmp"
}

# The same prototypes as C declarations, for re-declaration checks.
vu_declared_prototypes() {
    local header=$1 tmp
    shift
    tmp=$(mktemp -d)
    printf '#include "%s"\n' "$header" >"$tmp/t.c"
    gcc -std=gnu11 "$@" -aux-info "$tmp/t.aux" -c "$tmp/t.c" -o "$tmp/t.o" ||
        { rm -rf "$tmp"; return 1; }
    grep -F "/* $header:" "$tmp/t.aux" | sed -E 's|^/\*[^*]*\*/ ||'
    rm -rf "$tmp"
}
