#!/bin/sh
# Runs inside the debootstrapped rootfs (chroot), after the overlay files are copied in:
# creates the lab users and their SSH access, masks what cannot run in a container, and
# removes everything that must differ per host (host keys, machine-id) or is only cache.
#
# Usage (by build-image.sh): chroot ROOTFS /bin/sh /tmp/configure.sh /tmp/lab.pub
set -eu
pub=$1

# Users. root: key only. deploy: key, passwordless sudo, no usable password ('*' is not
# "locked", so sshd still accepts its key). deploy2: key or password, sudo asks its password.
useradd --create-home --shell /bin/bash deploy
useradd --create-home --shell /bin/bash deploy2
usermod -p '*' deploy
echo 'deploy2:orc-lab-pw' | chpasswd
for home in /root /home/deploy /home/deploy2; do
    install -d -m 0700 "$home/.ssh"
    install -m 0600 "$pub" "$home/.ssh/authorized_keys"
done
chown -R deploy:deploy /home/deploy/.ssh
chown -R deploy2:deploy2 /home/deploy2/.ssh
chmod 0440 /etc/sudoers.d/lab
visudo -c -q

# Units that fail or make no sense in a container, or that would take the dpkg lock in the
# middle of a test (apt-daily). Masked by linking them to /dev/null, as `systemctl mask` does.
for unit in \
    getty.target console-getty.service getty@tty1.service serial-getty@.service \
    systemd-remount-fs.service systemd-modules-load.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-hwdb-update.service kmod-static-nodes.service \
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
    dev-hugepages.mount dev-mqueue.mount proc-sys-fs-binfmt_misc.automount \
    systemd-firstboot.service systemd-timesyncd.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
do
    ln -sf /dev/null "/etc/systemd/system/$unit"
done

# Per-host identity: sshd host keys are generated at boot (ssh.service drop-in); an empty
# machine-id makes systemd generate one per container.
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id

# Caches and logs the image does not need.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
# The image ships no package lists: date them to the epoch, so `apt: cache_valid_time=...` (which,
# in Ansible and orc alike, reads the lists directory's mtime) updates them as on a real host whose
# lists are old, instead of trusting an empty cache made minutes ago.
touch -d @0 /var/lib/apt/lists
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/*
