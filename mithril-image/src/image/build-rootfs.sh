#!/usr/bin/env bash
# Lays out the container image's root filesystem in ROOTFS, with no base image to pull:
#   /opt/java              a jlink runtime of the JDK running the build (JVM options baked in)
#   /opt/mithril           the distribution exactly as in mithril-cli/target: mithril-cli.jar + lib/
#   /opt/mithril/bin/mithril, /opt/spire/bin/spire-server, /opt/spire/bin/spire-agent
#                          executable jars: a "#!/opt/java/bin/java -jar" line then a small jar whose
#                          manifest names the main class and Class-Path ../mithril-cli.jar. The kernel
#                          runs the #! line itself, so no shell is needed in the image.
#   /lib, /lib64           the glibc libraries that the runtime and the native libraries inside the
#                          jars link against (found with ldd), copied from this machine
#   /etc                   passwd and group (user nonroot, 65532), nsswitch.conf
#   /tmp                   an empty directory (mount an emptyDir there when the root is read-only)
# Run by Maven (profile image) in prepare-package; usage:
#   build-rootfs.sh JAVA_HOME DIST_DIR ETC_DIR ROOTFS WORK JVM_OPTIONS
# (DIST_DIR holds mithril-cli.jar and lib/, as mithril-cli/target does.) Needs ldd (libc-bin).
set -euo pipefail

JDK="$1" DIST="$2" ETC="$3" ROOTFS="$4" WORK="$5" JVM_OPTIONS="$6"

# Modules: `jdeps --print-module-deps` over the distribution, plus what is only loaded by name
# (jdk.crypto.ec: the SunEC provider for EC keys; jdk.naming.dns; jdk.management; jdk.zipfs).
MODULES=java.base,java.desktop,java.management,java.naming,java.net.http,java.sql,jdk.httpserver,jdk.jfr
MODULES=$MODULES,jdk.unsupported,jdk.crypto.ec,jdk.naming.dns,jdk.management,jdk.zipfs
# java.desktop is there for java.beans; its X11, sound and font natives are left out (the image is
# headless and has none of the libraries they link against).
EXCLUDE='**/libawt_xawt.so,**/libsplashscreen.so,**/libjsound.so,**/libfontmanager.so,**/liblcms.so,**/libjavajpeg.so,**/libjawt.so'

rm -rf "$ROOTFS" "$WORK"
# Jib insists on the project's classes directory; this module has none (the image is all rootfs).
mkdir -p "$(dirname "$ROOTFS")/classes"
mkdir -p "$ROOTFS/opt" "$ROOTFS/tmp" "$ROOTFS/etc" "$WORK"

"$JDK/bin/jlink" --add-modules "$MODULES" --output "$ROOTFS/opt/java" \
  --strip-debug --no-header-files --no-man-pages --compress=2 \
  --exclude-files="$EXCLUDE" --generate-cds-archive \
  "--add-options=$JVM_OPTIONS"
# legal/ holds the modules' licence files; keep them (as files, not links into the host's JDK).
find "$ROOTFS/opt/java" -type l -exec sh -c 'for l; do cp --remove-destination "$(readlink -f "$l")" "$l"; done' sh {} +

# The distribution, laid out as mithril-cli/target is (mithril-cli.jar's Class-Path is lib/...).
mkdir -p "$ROOTFS/opt/mithril/lib"
cp "$DIST/mithril-cli.jar" "$ROOTFS/opt/mithril/mithril-cli.jar"
cp "$DIST"/lib/*.jar "$ROOTFS/opt/mithril/lib/"
mkdir -p "$WORK/cli" && (cd "$WORK/cli" && "$JDK/bin/jar" xf "$DIST/mithril-cli.jar" META-INF/MANIFEST.MF)
for entry in $(tr -d '\r' < "$WORK/cli/META-INF/MANIFEST.MF" \
    | sed -n '/^Class-Path:/,/^[A-Z][A-Za-z-]*:/p' | sed -e 's/^Class-Path: //' -e 's/^ //' -e '/^[A-Z][A-Za-z-]*:/d' | tr -d '\n'); do
  [ -f "$ROOTFS/opt/mithril/$entry" ] || { echo "build-rootfs: $entry (Class-Path of mithril-cli.jar) is not in $DIST/lib" >&2; exit 1; }
done

# Executable jars: #! line + a jar holding only a manifest (the classes are mithril-cli's).
launcher() { # PATH MAIN-CLASS CLASS-PATH
  local out="$ROOTFS$1" jar="$WORK/$(basename "$1").jar"
  printf 'Main-Class: %s\nClass-Path: %s\n' "$2" "$3" > "$WORK/manifest.txt"
  mkdir -p "$WORK/empty" "$(dirname "$out")"
  "$JDK/bin/jar" --create --file "$jar" --manifest "$WORK/manifest.txt" -C "$WORK/empty" .
  { printf '#!/opt/java/bin/java -jar\n'; cat "$jar"; } > "$out"
  chmod 755 "$out"
}
launcher /opt/mithril/bin/mithril io.mithril.cli.Main ../mithril-cli.jar
launcher /opt/spire/bin/spire-server 'io.mithril.cli.SpireCommand$Server' ../../mithril/mithril-cli.jar
launcher /opt/spire/bin/spire-agent 'io.mithril.cli.SpireCommand$Agent' ../../mithril/mithril-cli.jar

# Shared libraries: ldd over the runtime and over the Linux x86-64 glibc natives in the jars.
mkdir -p "$WORK/natives"
for jar in "$ROOTFS"/opt/mithril/lib/*.jar; do
  names=$("$JDK/bin/jar" tf "$jar" | grep -E '\.so$' | grep -E 'x86[_-]64' | grep -viE 'musl|android|freebsd|aarch|arm|ppc|riscv' || true)
  [ -z "$names" ] && continue
  d="$WORK/natives/$(basename "$jar")"
  mkdir -p "$d"
  (cd "$d" && "$JDK/bin/jar" xf "$jar" $names)
done
elves=$(find "$ROOTFS/opt/java" "$WORK/natives" -type f \( -name '*.so' -o -path '*/bin/*' \) \
  -exec sh -c 'head -c4 "$1" | grep -q "ELF" && echo "$1"' sh {} \;)
libs=$(for f in $elves; do ldd "$f" 2>&1 | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'; done | sort -u)
notfound=$(for f in $elves; do ldd "$f" 2>&1 | grep 'not found' | sed "s|^|$f: |"; done \
  | grep -v 'libjvm.so => not found' || true)
if [ -n "$notfound" ]; then
  echo "build-rootfs: unresolved libraries:" >&2; echo "$notfound" >&2; exit 1
fi
for lib in $libs; do
  case "$lib" in "$ROOTFS"/*|"$WORK"/*) continue ;; esac
  mkdir -p "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done
[ -f "$ROOTFS/lib64/ld-linux-x86-64.so.2" ] || { echo "build-rootfs: no dynamic loader found by ldd" >&2; exit 1; }

cp "$ETC"/passwd "$ETC"/group "$ETC"/nsswitch.conf "$ROOTFS/etc/"
echo "build-rootfs: $(du -sh "$ROOTFS" | cut -f1) in $ROOTFS ($(echo "$libs" | wc -l) system libraries)"
