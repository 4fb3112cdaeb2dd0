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
"""Back-end QoS specs on the disk's storageIOAllocation; online extend.

QoS: a volume type's QoS spec (consumer ``back-end`` or ``both``) becomes
the ``storageIOAllocation`` of the backing's virtual disk (IOPS limit,
reservation, shares; mapping in ``core/qos.py``).  The spec is checked
before a flow creates anything, applied after create, clone, create from
snapshot, manage, image copy and retype (reset to vSphere's defaults when
the new type has none), and, with upstream's lazy creation, when the
backing is finally created.

Online extend: an in-use volume's disk is grown through the instance VM it
is attached to (``ReconfigVM_Task`` editing that device's capacity), as
vSphere cannot extend a disk file that a running VM holds open.
"""

from cinder import exception
from cinder.i18n import _
from cinder.volume.drivers.vmware import vmdk
from cinder.volume import volume_types
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.core import qos as core_qos

LOG = logging.getLogger(__name__)

# vSphere's share values for the named levels of a virtual disk.
_LEVEL_SHARES = {'low': 500, 'normal': 1000, 'high': 2000}


def _type_id(volume_type):
    if volume_type is None:
        return None
    if isinstance(volume_type, str):
        return volume_type
    return volume_type.get('id')


def _devices(session, vm):
    devices = session.invoke_api(vim_util, 'get_object_property',
                                 session.vim, vm, 'config.hardware.device')
    if devices.__class__.__name__ == 'ArrayOfVirtualDevice':
        devices = devices.VirtualDevice
    return list(devices or [])


def _disks(session, vm):
    return [d for d in _devices(session, vm)
            if d.__class__.__name__ == 'VirtualDisk']


def current_allocation(disk):
    """The ``IOAllocation`` a virtual disk has now (vSphere's defaults for
    what it does not report)."""
    info = getattr(disk, 'storageIOAllocation', None)
    limit = getattr(info, 'limit', None)
    reservation = getattr(info, 'reservation', None)
    shares = getattr(info, 'shares', None)
    level = getattr(shares, 'level', None) or 'normal'
    return core_qos.IOAllocation(
        limit=core_qos.UNLIMITED if limit is None else int(limit),
        reservation=0 if reservation is None else int(reservation),
        shares_level=level,
        shares=int(shares.shares) if level == 'custom' else None)


class QosMixin(object):
    """QoS and online-extend behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- QoS: which allocation a volume type asks for -----------------------

    def _io_allocation(self, type_id):
        """The ``IOAllocation`` of a volume type's QoS spec.

        :raises InvalidQoSSpecs: naming the offending key or value
        """
        if not type_id:
            return core_qos.DEFAULT
        spec = volume_types.get_volume_type_qos_specs(type_id)['qos_specs']
        if not spec:
            return core_qos.DEFAULT
        try:
            return core_qos.io_allocation(spec.get('consumer'),
                                          spec.get('specs'))
        except core_qos.InvalidQoS as err:
            raise exception.InvalidQoSSpecs(
                reason=_('%(err)s (QoS spec %(name)s of volume type '
                         '%(type)s)') % {'err': err, 'name': spec.get('name'),
                                         'type': type_id})

    def _check_volume_qos(self, volume, volume_type=None):
        """Refuse an invalid QoS spec before a flow creates anything."""
        type_id = _type_id(volume_type) or volume['volume_type_id']
        return self._io_allocation(type_id)

    # -- QoS: applying it to a backing's disk -------------------------------

    def _apply_volume_qos(self, volume, volume_type=None):
        """Apply the QoS spec of ``volume_type`` (default: the volume's own
        type) to the volume's disk.  Called after the create flows below,
        and by the driver after retype and manage."""
        allocation = self._check_volume_qos(volume, volume_type)
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing is None:
            # Lazy creation: _create_backing applies it later.
            LOG.debug('Volume %s has no backing yet; its QoS is applied '
                      'when the backing is created.', volume['name'])
            return
        self._set_io_allocation(backing, allocation, volume['name'])

    def _set_io_allocation(self, backing, allocation, name):
        disks = _disks(self.session, backing)
        if not disks:
            return  # a disk-less backing gets its disk (and QoS) later
        disk = disks[0]
        if current_allocation(disk) == allocation:
            return
        LOG.info('Setting the I/O allocation of volume %(name)s\'s disk to '
                 '%(alloc)s.', {'name': name, 'alloc': allocation})
        cf = self.session.vim.client.factory
        info = cf.create('ns0:StorageIOAllocationInfo')
        info.limit = allocation.limit
        info.reservation = allocation.reservation
        shares = cf.create('ns0:SharesInfo')
        shares.level = allocation.shares_level
        shares.shares = (allocation.shares
                         if allocation.shares_level == 'custom'
                         else _LEVEL_SHARES[allocation.shares_level])
        info.shares = shares
        disk.storageIOAllocation = info
        self._edit_device(backing, disk)

    def _edit_device(self, vm, device):
        cf = self.session.vim.client.factory
        device_spec = cf.create('ns0:VirtualDeviceConfigSpec')
        device_spec.operation = 'edit'
        device_spec.device = device
        spec = cf.create('ns0:VirtualMachineConfigSpec')
        spec.deviceChange = [device_spec]
        task = self.session.invoke_api(self.session.vim, 'ReconfigVM_Task',
                                       vm, spec=spec)
        self.session.wait_for_task(task)

    def _apply_or_undo(self, volume):
        """Apply QoS after a flow created the volume's backing; delete that
        backing if it cannot be applied, so a rescheduled create starts
        clean."""
        try:
            self._apply_volume_qos(volume)
        except Exception:
            with excutils.save_and_reraise_exception():
                backing = self.volumeops.get_backing(volume['name'],
                                                     volume['id'])
                LOG.error('Applying the QoS of volume %s failed; deleting '
                          'its new backing.', volume['name'])
                if backing is not None:
                    self.volumeops.delete_backing(backing)

    # -- QoS: the flows (checked first, applied after) -----------------------

    def create_volume(self, volume):
        self._check_volume_qos(volume)
        # The backing, now or lazily later, comes from _create_backing,
        # which applies the spec.
        return super(QosMixin, self).create_volume(volume)

    def create_volume_from_snapshot(self, volume, snapshot):
        self._check_volume_qos(volume)
        update = super(QosMixin, self).create_volume_from_snapshot(
            volume, snapshot)
        self._apply_or_undo(volume)
        return update

    def create_cloned_volume(self, volume, src_vref):
        self._check_volume_qos(volume)
        update = super(QosMixin, self).create_cloned_volume(volume, src_vref)
        self._apply_or_undo(volume)
        return update

    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        self._check_volume_qos(volume)
        update = super(QosMixin, self).copy_image_to_volume(
            context, volume, image_service, image_id, disable_sparse)
        # The image flows replace the backing (ImportVApp, disk-less
        # backing plus disk), so the allocation goes on the new disk.
        self._apply_volume_qos(volume)
        return update

    def retype(self, ctxt, volume, new_type, diff, host):
        self._check_volume_qos(volume, new_type)
        return super(QosMixin, self).retype(ctxt, volume, new_type, diff,
                                            host)

    def _create_backing(self, volume, host=None, create_params=None):
        backing = super(QosMixin, self)._create_backing(
            volume, host=host, create_params=create_params)
        params = create_params or {}
        if (backing is None or params.get(vmdk.CREATE_PARAM_TEMP_BACKING) or
                params.get(vmdk.CREATE_PARAM_DISK_LESS)):
            return backing
        try:
            self._set_io_allocation(backing, self._check_volume_qos(volume),
                                    volume['name'])
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Applying the QoS of volume %s to its new backing '
                          'failed; deleting the backing.', volume['name'])
                self.volumeops.delete_backing(backing)
        return backing

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
        if not instances:
            return super(QosMixin, self).extend_volume(volume, new_size)
        self._extend_attached(volume, new_size, instances)

    def _extend_attached(self, volume, new_size, instances):
        """Grow an attached volume's disk through the instance VMs holding
        it; the backing's own device then follows."""
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
        disks = _disks(self.session, vm)
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
        disk.capacityInKB = new_size * units.Mi
        if getattr(disk, 'capacityInBytes', None):
            disk.capacityInBytes = new_size * units.Gi
        try:
            self._edit_device(vm, disk)
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
        """Make the backing VM's device report the grown disk (its file is
        already grown, so vSphere only updates the device)."""
        disks = _disks(self.session, backing)
        if not disks or disks[0].capacityInKB >= new_size * units.Mi:
            return
        disk = disks[0]
        disk.capacityInKB = new_size * units.Mi
        if getattr(disk, 'capacityInBytes', None):
            disk.capacityInBytes = new_size * units.Gi
        try:
            self._edit_device(backing, disk)
        except vexc.VimException as err:
            # The data disk has grown; the backing's device catches up
            # when vCenter reloads it.
            LOG.warning('Volume %(vol)s was extended on its instance, but '
                        'its backing %(backing)s still reports the old '
                        'size: %(err)s', {'vol': volume['name'],
                                          'backing': backing, 'err': err})
