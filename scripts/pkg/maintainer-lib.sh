# What the .deb and .rpm maintainer scripts do, shared by both; the build pastes it into each script.
# $ROOT is the root the package manager installs into: empty on a real host, $DPKG_ROOT under dpkg --root.
# Without a running systemd (containers, image builds) only offline steps run: the timer is still enabled, so a
# machine built from such an image runs it from its first boot.
systemd_running() { [ -d "$ROOT/run/systemd/system" ]; }
enable_offline() { systemctl ${ROOT:+--root="$ROOT"} "$@" teleport-upgrade.timer >/dev/null 2>&1 || true; }

# $1 = first (a fresh install) or upgrade (of the updater itself).
after_install() {
  enable_offline enable
  systemd_running || return 0
  systemctl daemon-reload
  if [ "$1" = first ]; then
    systemctl start teleport-upgrade.timer
    # A graceful reload (never a restart) lets a running agent pick up the drop-in's TELEPORT_EXT_UPGRADER=unit.
    if systemctl is-active --quiet teleport.service; then systemctl reload teleport.service || true; fi
  else
    # An upgrade of the updater restarts only its own timer, never teleport.service.
    systemctl try-restart teleport-upgrade.timer
  fi
}

before_remove() {
  if systemd_running; then systemctl stop teleport-upgrade.timer || true; fi
  enable_offline disable
}

after_remove() {
  if systemd_running; then systemctl daemon-reload || true; fi
}

purge_state() { rm -rf "$ROOT/var/lib/teleport-upgrade"; }
