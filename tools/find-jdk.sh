# Sourced by ./parley and ./check: sets JAVA_HOME to a JDK whose major version is at least 25,
# or prints how to get one and exits 1. Looks at $JAVA_HOME first, then the usual JVM folders.

parley_java_major() {
    # Prints the major version of the JDK at $1 (nothing if it is not a JDK with javac).
    [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
    # A JDK's release file names its version: reading it costs nothing, starting a JVM to ask costs ~100 ms.
    if [ -f "$1/release" ]; then
        sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" | head -n 1
        return 0
    fi
    "$1/bin/java" -XshowSettings:properties -version 2>&1 \
        | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

parley_find_jdk() {
    # Quiets Maven's own sun.misc.Unsafe warnings on new JDKs.
    export MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow ${MAVEN_OPTS:-}"
    local candidate major
    for candidate in "${JAVA_HOME:-}" \
        /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* \
        /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/.sdkman/candidates/java/*; do
        [ -n "$candidate" ] && [ -d "$candidate" ] || continue
        major=$(parley_java_major "$candidate")
        if [ -n "$major" ] && [ "$major" -ge 25 ]; then
            export JAVA_HOME="$candidate"
            export PATH="$JAVA_HOME/bin:$PATH"
            return 0
        fi
    done
    {
        echo "parley: no JDK 25 or newer found."
        echo "  Looked at JAVA_HOME (${JAVA_HOME:-unset}) and /usr/lib/jvm, /usr/java, /opt/java, /opt/jdk*."
        echo "  Install one (for example Temurin 25 from adoptium.net, or 'apt-get install openjdk-25-jdk'"
        echo "  where your distribution has it) and point JAVA_HOME at it."
    } >&2
    return 1
}
