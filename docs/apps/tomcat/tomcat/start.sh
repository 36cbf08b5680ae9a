#!/bin/sh
# Cold start of Tomcat on Lambda: CATALINA_BASE is the read-only image folder; work and temp dirs in /tmp.
set -e
BASE=$(cd "$(dirname "$0")" && pwd)
mkdir -p /tmp/tomcat/work /tmp/tomcat/temp
export CATALINA_HOME=${CATALINA_HOME:-/usr/share/tomcat10} CATALINA_BASE=$BASE CATALINA_TMPDIR=/tmp/tomcat/temp
# A small JVM that starts fast: one GC thread, the C1 compiler only (requests are short, instances live minutes).
export JAVA_OPTS="${JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Djava.awt.headless=true}"
exec "$CATALINA_HOME/bin/catalina.sh" run
