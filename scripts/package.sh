#!/usr/bin/env bash
# Build baton's packages from compiled binaries: a Debian package (dpkg-deb) and, where
# rpmbuild is installed, an RPM (most HPC management nodes run RHEL-family systems).
#
#   scripts/package.sh                 # cargo build --release, then package
#   PROFILE=debug scripts/package.sh   # package the debug build (CI: no second build)
#
# Output: target/package/baton_<version>_<arch>.deb and baton-<version>-1.<arch>.rpm.
# Contents: baton and snmove, man pages, bash/zsh/fish completions, the baton-watch systemd
# unit (disabled) and its settings /etc/baton/watch.conf.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
bin_dir="$target_dir/$profile"
if [ "$profile" = release ]; then
  cargo build --release --locked -p baton --bins
fi
for b in baton snmove; do
  [ -x "$bin_dir/$b" ] || { echo "package.sh: $bin_dir/$b is missing (cargo build -p baton --bins)" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
out="$target_dir/package"
# Debug binaries are large and only tested: compress them fast.
deb_z=(); rpm_z=()
if [ "$profile" != release ]; then
  deb_z=(-Zgzip -z1); rpm_z=(--define "_binary_payload w1.gzdio")
fi
root="$out/root"
rm -rf "$root"
mkdir -p "$out"

# The file tree, shared by both formats.
install -D -m 755 "$bin_dir/baton" "$root/usr/bin/baton"
install -D -m 755 "$bin_dir/snmove" "$root/usr/bin/snmove"
# xCAT's command names (lsdef, chtab, ...) as links to baton, in a directory of their own: an
# administrator puts it on the PATH where no xCAT is installed (they would shadow xCAT's).
mkdir -p "$root/usr/lib/baton/xcat-bin"
for name in $("$bin_dir/baton" complete-names --xcat-commands); do
  ln -s ../../../bin/baton "$root/usr/lib/baton/xcat-bin/$name"
done
mkdir -p "$root/usr/share/man/man1"
"$bin_dir/baton" man "$root/usr/share/man/man1" >/dev/null
gzip -9n "$root"/usr/share/man/man1/*.1
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d"
for cmd in baton snmove; do
  flag=(); [ "$cmd" = snmove ] && flag=(--snmove)
  "$bin_dir/baton" completions bash "${flag[@]}" >"$root/usr/share/bash-completion/completions/$cmd"
  "$bin_dir/baton" completions zsh "${flag[@]}" >"$root/usr/share/zsh/vendor-completions/_$cmd"
  "$bin_dir/baton" completions fish "${flag[@]}" >"$root/usr/share/fish/vendor_completions.d/$cmd.fish"
done
install -D -m 644 packaging/baton-watch.service "$root/lib/systemd/system/baton-watch.service"
install -D -m 600 packaging/watch.conf "$root/etc/baton/watch.conf"
install -d -m 700 "$root/var/lib/baton"
for doc in README.md COMPAT.md ARCHITECTURE.md; do
  install -D -m 644 "$doc" "$root/usr/share/doc/baton/$doc"
done

build_deb() {
  local arch deb
  arch=$(dpkg --print-architecture)
  deb="$out/baton_${version}_${arch}.deb"
  mkdir -p "$root/DEBIAN"
  cat >"$root/DEBIAN/control" <<CONTROL
Package: baton
Version: $version
Architecture: $arch
Maintainer: baton developers <baton@localhost>
Depends: openssh-client
Recommends: ipmitool
Suggests: conserver-client
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: hand the compute nodes of a failed xCAT service node to another
 baton moves compute nodes between service nodes of a hierarchical (xCAT) HPC cluster
 without rebooting them: database, service-node services and running nodes, with a
 plan, a journal, resume and rollback. It includes xCAT's snmove command line and an
 automatic failover service (baton-watch, shipped disabled).
CONTROL
  echo /etc/baton/watch.conf >"$root/DEBIAN/conffiles"
  dpkg-deb "${deb_z[@]}" --root-owner-group --build "$root" "$deb" >/dev/null
  rm -rf "$root/DEBIAN"
  echo "$deb"
}

build_rpm() {
  local arch top
  arch=$(uname -m)
  top="$out/rpmbuild"
  rm -rf "$top"
  mkdir -p "$top/SPECS"
  cat >"$top/SPECS/baton.spec" <<SPEC
Name: baton
Version: $version
Release: 1
Summary: Hand the compute nodes of a failed xCAT service node to another
License: EPL-2.0
Requires: openssh-clients
%description
baton moves compute nodes between service nodes of a hierarchical (xCAT) HPC cluster
without rebooting them, with a plan, a journal, resume and rollback.
%install
cp -a "$root/." %{buildroot}/
%files
/usr/bin/baton
/usr/bin/snmove
/usr/lib/baton/xcat-bin
/usr/share/man/man1/*
/usr/share/bash-completion/completions/*
/usr/share/zsh/vendor-completions/*
/usr/share/fish/vendor_completions.d/*
/lib/systemd/system/baton-watch.service
%config(noreplace) %attr(600,root,root) /etc/baton/watch.conf
%dir %attr(700,root,root) /var/lib/baton
%doc /usr/share/doc/baton
SPEC
  rpmbuild -bb --quiet "${rpm_z[@]}" --define "_topdir $top" --define "_rpmdir $out" \
    --define "_build_id_links none" --define "__os_install_post %{nil}" \
    --target "$arch" "$top/SPECS/baton.spec" >/dev/null
  mv "$out/$arch/baton-$version-1.$arch.rpm" "$out/"
  rmdir "$out/$arch"
  echo "$out/baton-$version-1.$arch.rpm"
}

build_deb
if command -v rpmbuild >/dev/null; then
  build_rpm
else
  echo "package.sh: rpmbuild not installed (Debian package rpm); no RPM built" >&2
fi
