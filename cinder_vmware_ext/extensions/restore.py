# Copyright (c) 2026 cinder-vmware-ext developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
"""Backup restore that never destroys the volume's disk first.

cinder-backup restores through os-brick's ``VmdkConnector``: on
``disconnect_volume`` it destroys the disk of the VM in the connection
info, then copies the backup's upload in its place.  A fault in between
(a failed copy, a lost answer) left the volume with no disk at all.

Here, when cinder-backup attaches a volume to restore into it (status
``restoring-backup``, an os-brick connector), the connection info names a
staging VM (``restore-<volume id>``, vsphere/restore.py) with an empty thin
disk in the backing's folder; os-brick replaces that disk.  In
``terminate_connection`` (which cinder-backup calls once os-brick
succeeded) the staging disk, holding the backup, is swapped into the
backing (the disk replacement of template revert), the old disk deleted
and the staging VM destroyed.  Until the swap the volume keeps its disk;
a restore that fails leaves its staging VM and os-brick's upload, which
the next restore into the volume, or its deletion, removes.
"""

import uuid

from cinder import exception
from cinder.i18n import _
from oslo_log import log as logging
from oslo_utils import units

from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import restore as vrestore

LOG = logging.getLogger(__name__)

RESTORING = 'restoring-backup'
# Statuses after which a failed restore's leftovers may still be there.
AFTER_RESTORE = (RESTORING, 'error_restoring')


def _restoring(volume, connector):
    """cinder-backup's attach for a restore, through os-brick's connector."""
    return (volume.get('status') == RESTORING and connector and
            'platform' in connector and 'os_type' in connector)


class RestoreMixin(object):
    """Backup restore of ``VMwareVcVmdkExtDriver`` (see the module)."""

    def initialize_connection(self, volume, connector):
        info = super(RestoreMixin, self).initialize_connection(volume,
                                                               connector)
        if not _restoring(volume, connector):
            return info
        return self._stage_restore(volume, info)

    def terminate_connection(self, volume, connector, force=False,
                             **kwargs):
        super(RestoreMixin, self).terminate_connection(
            volume, connector, force=force, **kwargs)
        if _restoring(volume, connector):
            self._finish_restore(volume)

    def delete_volume(self, volume):
        if volume.get('status') in AFTER_RESTORE:
            backing = self.volumeops.get_backing(volume['name'], volume['id'])
            if backing is not None:
                # A leftover never keeps the volume from being deleted.
                self._discard_restore_quietly(volume, backing)
        return super(RestoreMixin, self).delete_volume(volume)

    # -- initialize_connection ------------------------------------------------

    def _stage_restore(self, volume, info):
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if self.volumeops.snapshot_exists(backing):
            # As os-brick refuses it: a disk under snapshots cannot be
            # replaced.
            msg = _("Volume %s contains one or more snapshots: a backup "
                    "cannot be restored into it (delete its snapshots "
                    "first).") % volume['id']
            LOG.error(msg)
            raise exception.InvalidVolume(reason=msg)
        old = self._disk_of(backing)
        path = '%s/%s-restore-%s.vmdk' % (
            vdisks.folder_of(old.backing.fileName), volume['name'],
            uuid.uuid4().hex[:8])
        try:
            # What an earlier restore that failed left goes first.
            self._discard_restore(volume, backing)
            staging = vrestore.create(
                self.volumeops, backing, volume['id'], path,
                volume['size'] * units.Mi, self._get_adapter_type(volume))
        except Exception as err:
            LOG.error("Could not prepare the restore into volume %(vol)s: "
                      "%(err)s.", {'vol': volume['id'],
                                   'err': faults.describe(err)})
            self._discard_restore_quietly(volume, backing, path)
            raise exception.VolumeBackendAPIException(
                data=_("Preparing the restore of a backup into volume %(vol)s"
                       " (staging VM %(vm)s) failed: %(err)s") % {
                    'vol': volume['id'],
                    'vm': vrestore.staging_name(volume['id']),
                    'err': faults.describe(err)})
        LOG.info("Volume %(vol)s: a backup is restored into staging VM "
                 "%(vm)s (disk %(path)s), then swapped in.",
                 {'vol': volume['id'],
                  'vm': vrestore.staging_name(volume['id']), 'path': path})
        data = dict(info['data'], volume=staging.value, vmdk_path=path)
        return dict(info, data=data)

    # -- terminate_connection -------------------------------------------------

    def _finish_restore(self, volume):
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing is None:
            return
        staging = vrestore.find(self.volumeops, backing, volume['id'])
        if staging is None:
            return
        disk = vrestore.disk_of(self.volumeops, staging)
        # os-brick's copy (CopyVirtualDisk_Task without destSpec) makes a
        # preallocated disk; the staging disk was made thin and empty.
        if disk is None or disk.backing.thinProvisioned:
            LOG.warning("Volume %s: no backup was written into its staging "
                        "VM; the volume keeps its disk.", volume['id'])
            self._discard_restore_quietly(volume, backing)
            return
        new_path = disk.backing.fileName
        old = self._disk_of(backing)
        dc = self.volumeops.get_dc(backing)
        try:
            vrestore.detach(self.volumeops, staging, disk)
            self._swap_disk(backing, old, new_path, disk.capacityInKB, volume)
        except Exception as err:
            now = self._disk_file_now(backing)
            if now != new_path:
                self._restore_failed(volume, backing, dc, old, new_path, now,
                                     err)
            LOG.warning("Volume %(vol)s: vCenter swapped its disk onto the "
                        "restored %(new)s although the call failed; carrying "
                        "on.", {'vol': volume['id'], 'new': new_path})
        # The volume is on the restored disk for good: what follows never
        # fails the restore.
        self._set_disk_uuid_quietly(volume, backing)
        self._delete_unused_chain(backing, old, dc)
        self._discard_restore_quietly(volume, backing)
        LOG.info("Restored a backup into volume %(vol)s (disk %(path)s).",
                 {'vol': volume['id'], 'path': new_path})

    def _restore_failed(self, volume, backing, dc, old, new_path, now, err):
        if now == old.backing.fileName:
            # The volume keeps its disk; the restored copy is the backup's
            # bytes, which the backup service keeps.
            self._delete_disk_quietly(new_path, dc)
            self._discard_restore_quietly(volume, backing)
            kept = _("it keeps its disk %s") % now
        else:
            # vCenter could not be read: delete nothing.
            kept = _("its disk could not be read back (%(now)s); nothing "
                     "was deleted: its disk is %(old)s, the restored copy "
                     "%(new)s") % {'now': now, 'old': old.backing.fileName,
                                   'new': new_path}
        raise exception.VolumeBackendAPIException(
            data=_("Swapping the restored disk into volume %(vol)s failed: "
                   "%(err)s; %(kept)s.") % {'vol': volume['id'],
                                            'err': faults.describe(err),
                                            'kept': kept})

    # -- leftovers ------------------------------------------------------------

    def _discard_restore(self, volume, backing, path=None):
        """Remove a restore's staging VM and os-brick's uploads.

        The staging VM goes with its disk (only ever a copy of a
        backup), then staging disks left loose beside the volume's
        (``path``: one not attached to it).
        """
        staging = vrestore.find(self.volumeops, backing, volume['id'])
        if staging is not None:
            LOG.info("Volume %(vol)s: removing staging VM %(vm)s of a "
                     "restore.", {'vol': volume['id'],
                                  'vm': vrestore.staging_name(volume['id'])})
            vrestore.destroy(self.volumeops, staging)
        dc = self.volumeops.get_dc(backing)
        if path is not None:
            vdisks.delete(self.session, dc, path, missing_ok=True)
        disk = self._disk_of(backing)
        keep = set(vdisks.chain(disk.backing)) if disk is not None else set()
        for loose in vrestore.loose_disks(self.volumeops, backing,
                                          volume['name'], keep):
            LOG.info("Volume %(vol)s: removing staging disk %(disk)s of a "
                     "restore.", {'vol': volume['id'], 'disk': loose})
            vdisks.delete(self.session, dc, loose, missing_ok=True)
        for upload in vrestore.uploads(self.volumeops, backing, volume['id']):
            LOG.info("Volume %(vol)s: removing os-brick's upload %(file)s of "
                     "a restore.", {'vol': volume['id'], 'file': upload})
            vrestore.delete_file(self.volumeops, backing, upload)

    def _discard_restore_quietly(self, volume, backing, path=None):
        try:
            self._discard_restore(volume, backing, path)
        except Exception as err:  # noqa: the next restore or delete retries
            LOG.warning("Volume %(vol)s: could not remove what a restore "
                        "left (staging VM %(vm)s, uploads in cinder_temp): "
                        "%(err)s; the next restore into it, or its deletion, "
                        "removes them.",
                        {'vol': volume['id'],
                         'vm': vrestore.staging_name(volume['id']),
                         'err': faults.describe(err)})
