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
"""Back-end QoS specs on the disk's storageIOAllocation.

A volume type's QoS spec (consumer ``back-end`` or ``both``) becomes
the ``storageIOAllocation`` of the backing's virtual disk (IOPS limit,
reservation, shares; mapping in ``core/qos.py``).  The spec is checked
before a flow creates anything, applied after create, clone, create from
snapshot, manage, image copy and retype (reset to vSphere's defaults when
the new type has none), and, with upstream's lazy creation, when the
backing is finally created.
"""

from cinder import exception
from cinder.i18n import _
from cinder.volume.drivers.vmware import vmdk
from cinder.volume import volume_types
from oslo_log import log as logging
from oslo_utils import excutils

from cinder_vmware_ext.core import qos as core_qos
from cinder_vmware_ext.vsphere import devices

LOG = logging.getLogger(__name__)


def _type_id(volume_type):
    if volume_type is None:
        return None
    if isinstance(volume_type, str):
        return volume_type
    return volume_type.get('id')


def current_allocation(disk):
    """Return the ``IOAllocation`` a virtual disk has now.

    The ``IOAllocation`` a virtual disk has now (vSphere's defaults for
    what it does not report).
    """
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
    """QoS behaviour of ``VMwareVcVmdkExtDriver``."""

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
        """Apply a volume type's QoS spec to the volume's disk.

        Apply the QoS spec of ``volume_type`` (default: the volume's own
        type) to the volume's disk.  Called after the create flows below,
        and by the driver after retype and manage.
        """
        allocation = self._check_volume_qos(volume, volume_type)
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if backing is None:
            # Lazy creation: _create_backing applies it later.
            LOG.debug('Volume %s has no backing yet; its QoS is applied '
                      'when the backing is created.', volume['name'])
            return
        self._set_io_allocation(backing, allocation, volume['name'])

    def _set_io_allocation(self, backing, allocation, name):
        disks = devices.disks(self.session, backing)
        if not disks:
            return  # a disk-less backing gets its disk (and QoS) later
        disk = disks[0]
        if current_allocation(disk) == allocation:
            return
        LOG.info('Setting the I/O allocation of volume %(name)s\'s disk to '
                 '%(alloc)s.', {'name': name, 'alloc': allocation})
        devices.set_io_allocation(self.session, backing, disk, allocation)

    def _apply_or_undo(self, volume):
        """Apply QoS after a create, deleting the backing on failure.

        Apply QoS after a flow created the volume's backing; delete that
        backing if it cannot be applied, so a rescheduled create starts
        clean.
        """
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
