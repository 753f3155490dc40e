# Sourced by start-fspd, run-tests and .ci/run: selects a Java 25 JDK for Maven (the machine's default java is 17).
fsp_jdk_ok() { [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; }
if [ -n "${JAVA_HOME:-}" ] && fsp_jdk_ok "$JAVA_HOME"; then
  :
elif fsp_jdk_ok /usr/lib/jvm/temurin-25-jdk-amd64; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
else
  echo "FSP builds with JDK 25 or later: set JAVA_HOME to one (looked in \$JAVA_HOME and /usr/lib/jvm/temurin-25-jdk-amd64)" >&2
  exit 2
fi
export PATH="$JAVA_HOME/bin:$PATH"
