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
"""Extend: online (through the instance VM) and of linked clones.

Online extend: an in-use volume's disk is grown through the instance VM it
is attached to (``ReconfigVM_Task`` editing that device's capacity), as
vSphere cannot extend a disk file that a running VM holds open.

A detached linked clone is first copied into a disk of its own (upstream
bug 1660955: vSphere cannot grow a delta disk); its old delta goes unless
another VM still reads it.  The copy and swap are the snapshot extension's
disk replacement (``SnapshotMixin._replace_disk``).
"""

from cinder import exception
from cinder.i18n import _
from oslo_log import log as logging
from oslo_utils import units
from oslo_vmware import exceptions as vexc

from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import upstream

LOG = logging.getLogger(__name__)


class ExtendMixin(object):
    """Extend behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- online extend --------------------------------------------------------

    @staticmethod
    def _attached_instances(volume):
        """Instance uuids the volume is attached to (Nova attachments)."""
        attachments = volume.get('volume_attachment') or []
        return [a['instance_uuid'] for a in attachments
                if a.get('instance_uuid') and
                a.get('attach_status') == 'attached']

    def extend_volume(self, volume, new_size):
        instances = self._attached_instances(volume)
        if instances:
            return self._extend_attached(volume, new_size, instances)
        if self._promote_linked_clone(volume, new_size):
            return None  # the disk of its own was made at the new size
        return super(ExtendMixin, self).extend_volume(volume, new_size)

    def _extend_attached(self, volume, new_size, instances):
        """Grow an attached volume's disk through its instance VMs.

        Grow an attached volume's disk through the instance VMs holding
        it; the backing's own device then follows.
        """
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing is None:
            raise exception.VolumeBackendAPIException(
                data=_('In-use volume %s has no backing in vCenter; cannot '
                       'extend it.') % volume['id'])
        vmdk_path = self.volumeops.get_vmdk_path(backing)
        targets = [self._instance_disk(volume, uuid, vmdk_path)
                   for uuid in instances]
        new_kb = new_size * units.Mi
        for vm, disk in targets:
            if getattr(disk.backing, 'parent', None) is not None:
                raise exception.VolumeBackendAPIException(
                    data=_('Cannot extend in-use volume %(vol)s: its disk '
                           '%(path)s is a delta disk (the volume has '
                           'snapshots or is a linked clone), which vSphere '
                           'cannot grow while it is attached.')
                    % {'vol': volume['id'], 'path': vmdk_path})
            if disk.capacityInKB >= new_kb:
                continue
            self._grow_device(vm, disk, new_size, volume, vmdk_path)
        self._refresh_backing_capacity(backing, new_size, volume)
        LOG.info('Extended in-use volume %(vol)s to %(size)s GB on its '
                 'instance(s) %(inst)s.',
                 {'vol': volume['name'], 'size': new_size,
                  'inst': ', '.join(instances)})

    def _instance_disk(self, volume, instance_uuid, vmdk_path):
        """(instance VM, its device of the volume's disk)."""
        vm = self.volumeops.get_backing_by_uuid(instance_uuid)
        if vm is None:
            raise exception.VolumeBackendAPIException(
                data=_('Cannot extend in-use volume %(vol)s: its instance '
                       '%(inst)s is not a VM of this vCenter.')
                % {'vol': volume['id'], 'inst': instance_uuid})
        disks = devices.disks(self.session, vm)
        for disk in disks:
            if getattr(disk.backing, 'fileName', None) == vmdk_path:
                return vm, disk
        # Nova records the device's disk uuid as volume-<id>.
        device_uuid = self._get_volume_device_uuid(vm, volume['id'])
        for disk in disks:
            if device_uuid and getattr(disk.backing, 'uuid',
                                       None) == device_uuid:
                return vm, disk
        raise exception.VolumeBackendAPIException(
            data=_('Cannot extend in-use volume %(vol)s: instance %(inst)s '
                   'has no disk %(path)s.')
            % {'vol': volume['id'], 'inst': instance_uuid,
               'path': vmdk_path})

    def _grow_device(self, vm, disk, new_size, volume, vmdk_path):
        try:
            devices.grow(self.session, vm, disk, new_size)
        except vexc.NoDiskSpaceException as err:
            # Moving the disk would move the instance's storage: not
            # Cinder's to do while it is attached.
            raise exception.VolumeBackendAPIException(
                data=_('Cannot extend in-use volume %(vol)s to %(size)s GB: '
                       'the datastore of %(path)s lacks room (%(err)s). '
                       'Detach it and extend it offline (the backing then '
                       'moves inside its pool), or free space.')
                % {'vol': volume['id'], 'size': new_size, 'path': vmdk_path,
                   'err': err})

    def _refresh_backing_capacity(self, backing, new_size, volume):
        """Make the backing VM's device report the grown disk.

        Make the backing VM's device report the grown disk (its file is
        already grown, so vSphere only updates the device).
        """
        disks = devices.disks(self.session, backing)
        if not disks or disks[0].capacityInKB >= new_size * units.Mi:
            return
        try:
            devices.grow(self.session, backing, disks[0], new_size)
        except vexc.VimException as err:
            # The data disk has grown; the backing's device catches up
            # when vCenter reloads it.
            LOG.warning('Volume %(vol)s was extended on its instance, but '
                        'its backing %(backing)s still reports the old '
                        'size: %(err)s', {'vol': volume['name'],
                                          'backing': backing, 'err': err})

    # -- extend: linked clones are promoted first (upstream bug 1660955) ------

    def _promote_linked_clone(self, volume, new_size):
        """Give a linked clone a disk of its own at the new size.

        A linked clone gets a disk of its own, made at ``new_size``
        (vSphere cannot grow a delta disk): the copy grows before the
        volume is swapped onto it, so a failure leaves the volume as it
        was.  True when it did.
        """
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing and not self._in_use(volume):
            disk = upstream.disk_device(self.volumeops, backing)
            if getattr(disk.backing, 'parent', None) is not None:
                if self.volumeops.snapshot_exists(backing):
                    msg = (_("Volume %s has COW snapshots; vSphere cannot "
                             "extend a disk with snapshots. Delete them "
                             "first.") % volume['id'])
                    LOG.error(msg)
                    raise exception.InvalidVolume(reason=msg)
                LOG.info("Volume %(vol)s is a linked clone (disk chain "
                         "%(depth)d deep): copying it into a disk of its own "
                         "before extending it.",
                         {'vol': volume['id'],
                          'depth': len(vdisks.chain(disk.backing)) - 1})
                self._replace_disk(volume, backing, disk, size_gb=new_size)
                return True
        return False
