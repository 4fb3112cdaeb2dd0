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
"""Taken-over disks whose size is not a whole GiB, in upstream's flows.

A disk of 2.5 GiB is managed as a 3 GiB volume and is not grown (managing
never changes a disk).  Upstream's driver assumes a backing's disk is
exactly the volume size where it clones (it grows the clone only when the
new volume is larger than the source *volume*) and where it hands the disk
to os-brick for a backup (``vmdk_size``).  ``TakeoverSizeMixin`` puts the
disk's true size there, and keeps the takeover's markers on the backing
they belong to: vSphere copies a VM's extraConfig into its clones.
"""

from oslo_log import log as logging
from oslo_utils import units

from cinder_vmware_ext.takeover import adopt
from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.takeover import sizes
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import search

LOG = logging.getLogger(__name__)


class TakeoverSizeMixin(object):
    """Upstream flows told a taken-over disk's true size."""

    def _clone_backing(self, volume, backing, snapshot, clone_type,
                       src_vsize):
        """Clone a backing, growing the new disk to the volume size.

        Clone, growing the new disk to the volume size when the source
        disk (the snapshot's, or the backing's now) is smaller than the
        source volume: upstream compares volume sizes only, and picks a
        full clone when the new disk must grow.
        """
        props = sizes.read(self.session, backing, ['config.extraConfig'] + (
            [] if snapshot else ['config.hardware.device']))
        devices = (sizes.read(self.session, snapshot,
                              ['config.hardware.device'])
                   if snapshot else props).get('config.hardware.device')
        source_bytes = sizes.disk_bytes(devices)
        if source_bytes and source_bytes < src_vsize * units.Gi:
            LOG.debug('Source disk of %s has %d bytes, less than its volume '
                      'size %s GiB.', volume.name, source_bytes, src_vsize)
            src_vsize = source_bytes / float(units.Gi)
        super(TakeoverSizeMixin, self)._clone_backing(
            volume, backing, snapshot, clone_type, src_vsize)
        if sizes.markers_of(props.get('config.extraConfig')):
            # The clone is a volume Cinder made: unmanaging it must never
            # "give back" the source's disk.
            clone = self.volumeops.get_backing(volume.name, volume.id)
            self.volumeops.update_backing_extra_config(
                clone, dict.fromkeys(sizes.MARKERS, ''))

    def _linked_possible(self, volume, parent, source_size):
        """Judge linked clones on the parent disk's real size.

        The snapshot extension's linked clones, which cannot grow: judged
        on the parent disk's real size, so a fractional disk gets a full
        clone (then grown by ``_clone_backing``).
        """
        disk = self._disk_file_bytes(parent.fileName)
        if disk and disk < source_size * units.Gi:
            source_size = disk / float(units.Gi)
        return super(TakeoverSizeMixin, self)._linked_possible(
            volume, parent, source_size)

    def _disk_file_bytes(self, ds_path):
        """Return a disk file's capacity by its path, or None.

        Capacity of a disk file by its path (a datastore search), or
        None.
        """
        datastore, path = discovery.split_ds_path(ds_path)
        inventory, _pools = self._pools.current()
        refs = [ref for ref, ds in inventory.datastores.items()
                if ds.name == datastore]
        if not refs or not path:
            return None
        browser = retrieve.browser_of(self.session, refs[0])
        folder, _sep, name = path.rpartition('/')
        found = search.search_folder(self.session, browser, datastore,
                                     folder, name)
        files = [f for r in found.get(datastore, [])
                 for f in getattr(r, 'file', None) or []]
        kb = getattr(files[0], 'capacityKb', None) if files else None
        return int(kb) * units.Ki if kb else None

    def _extend_backing(self, backing, new_size_in_gb, disk_type):
        super(TakeoverSizeMixin, self)._extend_backing(
            backing, new_size_in_gb, disk_type)
        markers = sizes.markers_of(sizes.read(
            self.session, backing, ['config.extraConfig']).get(
                'config.extraConfig'))
        if adopt.DISK_BYTES_KEY in markers:
            # Now a whole number of GiB: the volume's size.
            self.volumeops.update_backing_extra_config(
                backing, {adopt.DISK_BYTES_KEY: ''})

    def _get_connection_info(self, volume, backing, connector):
        """Give os-brick the disk's size rather than the volume's.

        os-brick's vmdk connector (backup and restore) sizes its
        transfer from ``vmdk_size``: the disk's, not the volume's.
        """
        info = super(TakeoverSizeMixin, self)._get_connection_info(
            volume, backing, connector)
        data = info.get('data', {})
        if 'vmdk_size' in data:
            data['vmdk_size'] = self.volumeops.get_disk_size(backing)
        return info
