# Sourced by bin/fspd, bin/fsp and bin/fsp-java: picks a Java 25 runtime (FSP uses the final FFM API) and the JVM flags FSP needs.
fsp_java_ok() { [ -x "$1/bin/java" ] && "$1/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; }
if [ -n "${JAVA_HOME:-}" ] && fsp_java_ok "$JAVA_HOME"; then
  FSP_JAVA="$JAVA_HOME/bin/java"
elif fsp_java_ok /usr/lib/jvm/temurin-25-jdk-amd64; then
  FSP_JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
else
  echo "FSP needs Java 25 or later: set JAVA_HOME to one (looked in \$JAVA_HOME and /usr/lib/jvm/temurin-25-jdk-amd64)" >&2
  exit 2
fi
# FFM from bundle classes (unnamed modules), and Felix's single use of sun.misc.Unsafe.
FSP_JVM_FLAGS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
