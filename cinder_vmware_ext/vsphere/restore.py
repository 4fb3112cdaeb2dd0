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
"""The staging VM a backup restore writes into (round trips).

os-brick restores a backup by destroying the disk of the VM it is given
and copying the backup's upload in its place.  The driver gives it a
staging VM instead of the volume's backing: a disk-less VM named
``restore-<volume id>`` beside the backing, with one empty thin disk in
the backing's folder.  Once os-brick is done the staging disk is swapped
into the backing (extensions/restore.py); until then the volume's own disk
is never touched.
"""

import re

from oslo_log import log as logging
from oslo_vmware import exceptions as vexc

from cinder_vmware_ext.vsphere import backings
from cinder_vmware_ext.vsphere import datastores
from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks
from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve

LOG = logging.getLogger(__name__)

PREFIX = 'restore-'
# os-brick's upload: '[ds] cinder_temp/<volume id><random>.vmdk'
# (VmdkConnector.TMP_IMAGES_DATASTORE_FOLDER_PATH, mkstemp's prefix).
UPLOAD_FOLDER = 'cinder_temp'


def staging_name(volume_id):
    return PREFIX + volume_id


def find(volumeops, backing, volume_id):
    """The staging VM of a volume, beside its backing, or None."""
    folder = volumeops._get_folder(backing)
    return volumeops._find_vm(folder, staging_name(volume_id), None)


def create(volumeops, backing, volume_id, disk_path, size_kb, adapter_type):
    """Make the staging VM, with an empty thin disk at ``disk_path``.

    Three calls, each safe after a lost answer: the disk-less VM
    (CreateVM_Task, found by name on a retry), the disk (a new name: a
    FileAlreadyExists is the lost answer's), its attach (not repeated once
    the disk is on the VM).
    """
    session = volumeops._session
    folder = volumeops._get_folder(backing)
    pool = retrieve.one(session, backing, 'resourcePool')
    host = volumeops.get_host(backing)
    staging = volumeops.create_backing_disk_less(
        staging_name(volume_id), folder, pool, host,
        disks.datastore_name(disk_path))
    dc = volumeops.get_dc(backing)
    try:
        disks.create(session, dc, disk_path, size_kb, 'thin', adapter_type)
    except vexc.VMwareDriverException as err:
        if not faults.is_fault(err, 'FileAlreadyExists'):
            raise faults.with_context(err, 'Creating disk %s' % disk_path)
        LOG.warning('Creating disk %s: vCenter made it already; using it.',
                    disk_path)
    volumeops.attach_disk_to_backing(staging, size_kb, 'thin', adapter_type,
                                     None, disk_path)
    return staging


def disk_of(volumeops, staging):
    """The staging VM's disk device, or None (os-brick removed it)."""
    return devices.first_disk(volumeops._session, staging)


def detach(volumeops, staging, disk):
    """Take the disk off the staging VM, keeping its files."""
    volumeops.detach_disk_from_backing(staging, disk)


def destroy(volumeops, staging):
    """Destroy the staging VM with what is attached to it."""
    backings.destroy(volumeops._session, staging)


def uploads(volumeops, backing, volume_id):
    """os-brick's uploads for this volume left in ``[ds] cinder_temp``.

    On the backing's datastore (the one os-brick is given); ``[]`` when
    the folder is not there.
    """
    session = volumeops._session
    datastore = volumeops.get_datastore(backing)
    name = retrieve.one(session, datastore, 'name')
    browser = retrieve.one(session, datastore, 'browser')
    try:
        found = datastores.browse(session, browser,
                                  '[%s] %s' % (name, UPLOAD_FOLDER),
                                  pattern='%s*.vmdk' % volume_id)
    except vexc.VMwareDriverException as err:
        if faults.is_fault(err, 'FileNotFound'):
            return []
        raise
    return ['%s/%s' % (f.folder, f.path) for f in found]


def loose_disks(volumeops, backing, disk_name_prefix, keep):
    """Staging disks left loose in the backing's folder.

    The disks ``<prefix>-restore-<hex8>.vmdk`` in the folder of the
    backing's disk that are not in ``keep`` (the backing's own chain: a
    restored disk stays the volume's disk): left when os-brick's copy was
    made and its attach failed.
    """
    session = volumeops._session
    disk = devices.first_disk(session, backing)
    if disk is None:
        return []
    folder = disks.folder_of(disk.backing.fileName)
    datastore = volumeops.get_datastore(backing)
    browser = retrieve.one(session, datastore, 'browser')
    wanted = re.compile(re.escape(disk_name_prefix) +
                        r'-restore-[0-9a-f]{8}\.vmdk$')
    found = datastores.browse(session, browser, folder,
                              pattern='%s-restore-*.vmdk' % disk_name_prefix)
    return ['%s/%s' % (f.folder, f.path) for f in found
            if wanted.match(f.path) and
            '%s/%s' % (f.folder, f.path) not in keep]


def delete_file(volumeops, backing, ds_path):
    """Delete a datastore file; one that is gone already is no error."""
    try:
        disks.delete_file(volumeops._session, volumeops.get_dc(backing),
                          ds_path)
    except vexc.VMwareDriverException as err:
        if not faults.is_fault(err, 'FileNotFound'):
            raise
