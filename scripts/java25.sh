# Sourced by start-fspd, run-tests and .ci/run: selects a Java 25 JDK for Maven (the machine's default java is 17).
# Order: $JAVA_HOME if it is 25 or later, then Temurin 25 where this machine kind ships it, then any JDK 25+ under
# /usr/lib/jvm.
fsp_jdk_ok() { [ -x "$1/bin/javac" ] && "$1/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; }
if [ -n "${JAVA_HOME:-}" ] && fsp_jdk_ok "$JAVA_HOME"; then
  :
else
  fsp_found=
  for fsp_jdk in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    if fsp_jdk_ok "$fsp_jdk"; then
      fsp_found=$fsp_jdk
      break
    fi
  done
  if [ -z "$fsp_found" ]; then
    echo "FSP builds with JDK 25 or later: set JAVA_HOME to one (looked in \$JAVA_HOME and /usr/lib/jvm/*)" >&2
    exit 2
  fi
  export JAVA_HOME=$fsp_found
  unset fsp_found fsp_jdk
fi
export PATH="$JAVA_HOME/bin:$PATH"
