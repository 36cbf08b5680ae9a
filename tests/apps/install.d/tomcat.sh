#!/bin/bash
# Tomcat 10.1 (Java servlets) from Debian with its real web applications: the servlet/JSP examples and the manager.
# The server itself is never started by the package: CATALINA_BASE is made under /tmp at each cold start from its
# guide's docs/apps/tomcat/tomcat (server.xml, users, one context file per web application). Idempotent. Run as root.
set -euo pipefail
KIT=${KIT:-/opt/reweb-apps}
HERE=$(cd "$(dirname "$0")/.." && pwd)
missing=()
for p in tomcat10 tomcat10-examples tomcat10-admin; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  # The package's own service would hold port 8080: keep it stopped (policy-rc.d already kept it from starting).
  systemctl disable --now tomcat10 >/dev/null 2>&1 || true
fi
install -d -m 755 "$KIT/tomcat" && cp -a "$HERE/../../docs/apps/tomcat/tomcat/." "$KIT/tomcat/"
[ -f "$KIT/testdata/random.bin" ] || /usr/bin/python3 "$HERE/kit/testdata/mkseed.py" "$KIT"
# Tomcat's global defaults (DefaultServlet, JSP servlet, MIME types) and class loader settings, from the package.
cp /etc/tomcat10/web.xml /etc/tomcat10/catalina.properties "$KIT/tomcat/conf/"
cp "$KIT/testdata/random.bin" "$KIT/tomcat/daten/archiv.bin"
cp "$KIT/testdata/test.png" "$KIT/tomcat/daten/bild.png"
install -d -m 755 "$KIT/tomcat/webapps"
chmod -R go+rX-w "$KIT/tomcat"
