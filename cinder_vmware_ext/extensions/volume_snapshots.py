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
"""Snapshots (template and COW), revert and chain depth; the clones made
from them and from volumes are in clones.py.

See doc/snapshots.md for the behaviour this adds to upstream's driver.

Provider fields of a snapshot:

* COW (a vSphere snapshot of the volume's backing VM): ``provider_location``
  stays empty, as upstream's driver expects for COW snapshots, and
  ``provider_id`` is ``"<backing moref>/<snapshot moref>"`` (for example
  ``vm-42/snapshot-57``).  Snapshots made by upstream's driver (no
  ``provider_id``) are found by name, as upstream does.
* template (a full copy of the disk in a template VM): ``provider_location``
  is the template's inventory path, as upstream's, and ``provider_id`` its
  moref.

The snapshot's metadata key ``vmware_chain_depth`` (and a linked clone's
volume metadata key of the same name) tells how many delta disks deep the
disk chain behind it is.
"""

import uuid

from cinder import exception
from cinder.i18n import _
from cinder.volume.drivers.vmware import exceptions as vmdk_exceptions
from cinder.volume.drivers.vmware import volumeops
from cinder.volume import volume_types
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import snapshots as vm_snapshots
from cinder_vmware_ext.vsphere import upstream
from cinder_vmware_ext.vsphere import usage


LOG = logging.getLogger(__name__)

SNAPSHOT_FORMAT_KEY = 'vmware:snapshot_format'
TEMPLATE = 'template'
COW = 'COW'
SNAPSHOT_FORMATS = (TEMPLATE, COW)
DEPTH_KEY = 'vmware_chain_depth'


class SnapshotMixin(object):
    """Snapshot behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- settings -------------------------------------------------------------

    def _snapshot_format(self, volume):
        """Return the snapshot format of the volume's type or backend.

        ``vmware:snapshot_format`` of the volume's type, else the
        backend's ``vmware_snapshot_format``.
        """
        type_id = volume['volume_type_id']
        specs = (volume_types.get_volume_type_extra_specs(type_id)
                 if type_id else {}) or {}
        value = specs.get(SNAPSHOT_FORMAT_KEY)
        if not value:
            return self.configuration.vmware_snapshot_format
        for known in SNAPSHOT_FORMATS:
            if value.lower() == known.lower():
                return known
        msg = (_("Extra spec %(key)s=%(value)s of volume type %(type)s is "
                 "invalid; valid values are: %(valid)s.") %
               {'key': SNAPSHOT_FORMAT_KEY, 'value': value, 'type': type_id,
                'valid': ', '.join(SNAPSHOT_FORMATS)})
        LOG.error(msg)
        raise exception.InvalidVolumeType(reason=msg)

    def _max_chain_depth(self):
        return self.configuration.safe_get(
            'vmware_max_snapshot_chain_depth') or 0

    def _depth_allowed(self, depth):
        cap = self._max_chain_depth()
        return not cap or depth <= cap

    # -- inventory reads ------------------------------------------------------

    def _disk_of(self, vm):
        return upstream.disk_device(self.volumeops, vm)

    def _chain_depth(self, vm):
        """Delta disks between the VM's disk and its base (0: a flat disk)."""
        return len(vdisks.chain(self._disk_of(vm).backing)) - 1

    def _snapshot_tree_find(self, backing, match):
        return vm_snapshots.find(self.session, backing, match)

    def _cow_snapshot(self, backing, snapshot):
        """The vSphere snapshot behind a COW ``snapshot``, or None.

        By the moref in provider_id when it names this backing, else by
        name (snapshots made by upstream's driver).
        """
        ref = None
        provider_id = snapshot.get('provider_id') or ''
        vm_value, _sep, snap_value = provider_id.partition('/')
        if snap_value and vm_value == vim_util.get_moref_value(backing):
            ref = self._snapshot_tree_find(
                backing,
                lambda n: vim_util.get_moref_value(n.snapshot) == snap_value)
        return ref or self._snapshot_tree_find(
            backing, lambda n: n.name == snapshot['name'])

    def _snapshot_disks(self, snapshot_ref):
        """Disk backings a vSphere snapshot froze (with their parents)."""
        return vm_snapshots.disks(self.session, snapshot_ref)

    def _readers(self, vm):
        """Read the readers of the disks near a VM in one pass.

        ``usage.Readers`` of the disks near ``vm`` (VMs on its
        datastores), read in one pass.
        """
        return usage.readers(self.session,
                             usage.datastores_of(self.session, vm),
                             exclude=vm)

    # -- snapshots ------------------------------------------------------------

    def create_snapshot(self, snapshot):
        volume = snapshot['volume']
        snapshot_format = self._snapshot_format(volume)
        if snapshot_format == COW:
            # Refused before vCenter is asked anything, as upstream does.
            self._check_cow_snapshot_allowed(volume)
        backing = self.volumeops.get_backing(snapshot['volume_name'],
                                             volume['id'])
        if not backing:
            LOG.info("There is no backing, so will not create snapshot: %s.",
                     snapshot['name'])
            return None
        if snapshot_format == COW:
            return self._create_cow_snapshot(snapshot, backing)
        return self._create_template_snapshot(snapshot, backing)

    def _check_cow_snapshot_allowed(self, volume):
        if self._in_use(volume):
            # The instance VM writes the disk: a snapshot of the backing
            # would not freeze it, and one of the instance VM would cover
            # all of its disks (use the template format for in-use volumes).
            msg = (_("COW snapshot of volume %(vol)s is not supported in "
                     "state %(state)s; volume types with %(key)s=template "
                     "can snapshot attached volumes.") %
                   {'vol': volume['id'], 'state': volume['status'],
                    'key': SNAPSHOT_FORMAT_KEY})
            LOG.error(msg)
            raise exception.InvalidVolume(reason=msg)

    def _create_cow_snapshot(self, snapshot, backing):
        volume = snapshot['volume']
        depth = self._chain_depth(backing) + 1
        if not self._depth_allowed(depth):
            msg = (_("Snapshot %(snap)s of volume %(vol)s would make its disk "
                     "chain %(depth)d delta disks deep; the limit "
                     "(vmware_max_snapshot_chain_depth) is %(cap)d. Delete "
                     "snapshots of the volume, or extend it (which "
                     "consolidates a linked clone), first.") %
                   {'snap': snapshot['id'], 'vol': volume['id'],
                    'depth': depth, 'cap': self._max_chain_depth()})
            LOG.error(msg)
            raise exception.InvalidSnapshot(reason=msg)
        ref = self.volumeops.create_snapshot(
            backing, snapshot['name'], snapshot['display_description'])
        LOG.info("Created COW snapshot %(snap)s (%(ref)s) of volume %(vol)s, "
                 "chain depth %(depth)d.",
                 {'snap': snapshot['name'], 'ref': ref, 'vol': volume['id'],
                  'depth': depth})
        return {'provider_location': None,
                'provider_id': '%s/%s' % (vim_util.get_moref_value(backing),
                                          vim_util.get_moref_value(ref)),
                'metadata': self._with_depth(snapshot, depth)}

    def _create_template_snapshot(self, snapshot, backing):
        """Copy the volume's disk into a template VM.

        A full copy of the disk in a template VM (in-use volumes: of the
        attached disk as the instance VM has it, as upstream does).
        """
        update = self._create_snapshot_template_format(snapshot, backing)
        template = self._get_template_by_inv_path(
            update['provider_location'])
        update['provider_id'] = vim_util.get_moref_value(template)
        update['metadata'] = self._with_depth(snapshot, 0)
        return update

    @staticmethod
    def _with_depth(obj, depth):
        metadata = dict(obj.get('metadata') or {})
        metadata[DEPTH_KEY] = str(depth)
        return metadata

    def delete_snapshot(self, snapshot):
        if snapshot['provider_location']:
            return self._delete_template_snapshot(snapshot)
        backing = self.volumeops.get_backing(snapshot['volume_name'],
                                             snapshot['volume']['id'])
        if not backing:
            LOG.debug("Backing does not exist for volume.",
                      resource=snapshot['volume'])
            return
        ref = self._cow_snapshot(backing, snapshot)
        if not ref:
            LOG.debug("Snapshot does not exist in backend.", resource=snapshot)
            return
        if self._in_use(snapshot['volume']):
            msg = (_("Delete snapshot of volume not supported in state: %s.")
                   % snapshot['volume']['status'])
            LOG.error(msg)
            raise exception.InvalidSnapshot(reason=msg)
        files = [b.fileName for b in self._snapshot_disks(ref)]
        self._refuse_if_used(snapshot, backing, files)
        try:
            vm_snapshots.remove(self.session, ref)
        except vexc.VMwareDriverException as err:
            # A lost answer: the retry finds the snapshot gone.
            if self._cow_snapshot(backing, snapshot) is not None:
                raise faults.with_context(
                    err, 'Deleting COW snapshot %s of volume %s' % (
                        snapshot['id'], snapshot['volume']['id']))
            LOG.warning("Deleting COW snapshot %(snap)s failed (%(err)s) "
                        "but vCenter removed it.",
                        {'snap': snapshot['name'],
                         'err': faults.describe(err)})
        LOG.info("Deleted COW snapshot %(snap)s of backing %(vm)s.",
                 {'snap': snapshot['name'], 'vm': backing})

    def _delete_template_snapshot(self, snapshot):
        template = self.volumeops.get_entity_by_inventory_path(
            snapshot['provider_location'])
        if template is None:
            LOG.warning("Template %s of snapshot %s is gone already.",
                        snapshot['provider_location'], snapshot['id'])
            return
        self._refuse_if_used(snapshot, template,
                             vdisks.chain(self._disk_of(template).backing))
        self.volumeops.delete_backing(template)

    def _refuse_if_used(self, snapshot, vm, files):
        """Refuse to remove a snapshot whose disks linked clones read.

        SnapshotIsBusy while linked clones read the snapshot's disks:
        removing it would consolidate into (or delete) their parent.
        """
        users = self._readers(vm).of(files)
        if users:
            LOG.error("Snapshot %(snap)s is the parent of linked clone(s) "
                      "%(users)s; delete those volumes first.",
                      {'snap': snapshot['id'], 'users': ', '.join(users)})
            raise exception.SnapshotIsBusy(snapshot_name=snapshot['name'])

    # -- revert ---------------------------------------------------------------

    def revert_to_snapshot(self, context, volume, snapshot):
        backing = self.volumeops.get_backing(volume['name'], volume['id'])
        if not backing:
            LOG.debug("Backing does not exist for volume.", resource=volume)
            return
        if snapshot['provider_location']:
            return self._revert_to_template(volume, backing, snapshot)
        ref = self._cow_snapshot(backing, snapshot)
        if not ref:
            raise vmdk_exceptions.SnapshotNotFoundException(
                name=snapshot['name'])
        vm_snapshots.revert(self.session, ref)

    def _revert_to_template(self, volume, backing, snapshot):
        """Give the backing a copy of the template's disk.

        The backing VM (its moref, name, uuid, folder) stays; only its disk
        is replaced, and the old disk is deleted once the new one is in
        place.  A failure before that leaves the volume as it was.
        """
        if self.volumeops.snapshot_exists(backing):
            msg = (_("Volume %s has COW snapshots: it cannot be reverted to "
                     "template snapshot %s (delete the COW snapshots "
                     "first).") % (volume['id'], snapshot['id']))
            LOG.error(msg)
            raise exception.InvalidSnapshot(reason=msg)
        template = self._get_template_by_inv_path(
            snapshot['provider_location'])
        self._replace_disk(volume, backing, self._disk_of(template))
        LOG.info("Reverted volume %(vol)s to template snapshot %(snap)s.",
                 {'vol': volume['id'], 'snap': snapshot['id']})

    # -- disk replacement (template revert, linked clone promotion) -----------

    def _replace_disk(self, volume, backing, source, size_gb=None):
        """Replace the backing's disk by a flattened, grown copy.

        Copy (flattened) the disk ``source`` (a device) next to the
        backing's disk, grow the copy to ``size_gb`` (default: the volume's
        size) and swap the backing onto the copy; then delete what only the
        old disk used.

        After an error the backing's disk is read again before anything is
        deleted: when vCenter applied the swap (its answer was lost), the
        copy is the volume's disk now and the replacement carries on.
        """
        old = self._disk_of(backing)
        dc = self.volumeops.get_dc(backing)
        new_path = '%s/%s-%s.vmdk' % (vdisks.folder_of(old.backing.fileName),
                                      volume['name'], uuid.uuid4().hex[:8])
        size_gb = size_gb or volume['size']
        capacity_kb = max(source.capacityInKB, size_gb * units.Mi)
        self._copy_disk(dc, source.backing.fileName, new_path, volume)
        try:
            if source.capacityInKB < capacity_kb:
                self.volumeops.extend_virtual_disk(
                    size_gb, new_path, dc,
                    self._get_disk_type(volume) == 'eagerZeroedThick')
            self._swap_disk(backing, old, new_path, capacity_kb, volume)
        except Exception:
            with excutils.save_and_reraise_exception() as ctxt:
                now = self._disk_file_now(backing)
                if now == new_path:
                    LOG.warning("Volume %(vol)s: vCenter swapped its disk "
                                "onto %(new)s although the call failed; "
                                "carrying on.",
                                {'vol': volume['id'], 'new': new_path})
                    ctxt.reraise = False
                elif now == old.backing.fileName:
                    LOG.error("Replacing the disk of volume %s failed; it "
                              "keeps its disk %s.", volume['id'], now)
                    self._delete_disk_quietly(new_path, dc)
                else:
                    # Unknown (vCenter unreachable, or another disk):
                    # delete nothing.
                    LOG.error("Replacing the disk of volume %(vol)s failed "
                              "and its disk could not be read back (%(now)s)"
                              "; nothing was deleted: its old disk is "
                              "%(old)s, the copy %(new)s.",
                              {'vol': volume['id'], 'now': now,
                               'old': old.backing.fileName, 'new': new_path})
        # The swap is done: the volume is on the copy for good.  What
        # follows must not fail the volume (and never deletes the copy).
        self._set_disk_uuid_quietly(volume, backing)
        self._delete_unused_chain(backing, old, dc)

    def _set_disk_uuid_quietly(self, volume, backing):
        """Set the new disk's UUID to the volume's id, quietly.

        The new disk's UUID set to the volume's id, as upstream does;
        once retried, then left with a warning (the volume is whole).
        """
        for attempt in (1, 2):
            try:
                self.volumeops.update_backing_disk_uuid(backing, volume['id'])
                return
            except vexc.VMwareDriverException as err:
                LOG.warning("Volume %(vol)s: setting the UUID of its new disk "
                            "failed (attempt %(n)d): %(err)s.",
                            {'vol': volume['id'], 'n': attempt,
                             'err': faults.describe(err)})

    def _disk_file_now(self, backing):
        """Read the file of the backing's disk as vCenter has it now.

        The file of the backing's disk as vCenter has it now, or None
        when it cannot be read.
        """
        try:
            return self._disk_of(backing).backing.fileName
        except Exception:  # noqa: any failure means "unknown"
            LOG.warning("Could not read the disk of %s back.", backing,
                        exc_info=True)
            return None

    def _copy_disk(self, dc, source_path, dest_path, volume):
        spec = vdisks.disk_spec(
            self.session,
            volumeops.VirtualDiskType.get_virtual_disk_type(
                self._get_disk_type(volume)),
            volumeops.VirtualDiskAdapterType.get_adapter_type(
                self._get_adapter_type(volume)))
        try:
            vdisks.copy(self.session, dc, source_path, dest_path, spec=spec)
        except vexc.FileAlreadyExistsException:
            # The destination's name is new (a random suffix): it exists
            # because vCenter ran the copy and the answer was lost.
            LOG.warning("Copy of %(src)s to %(dest)s: vCenter made it "
                        "already; using it.",
                        {'src': source_path, 'dest': dest_path})
        except vexc.VMwareDriverException as err:
            # Nothing else has the new name: what the copy left goes.
            self._delete_disk_quietly(dest_path, dc)
            raise faults.with_context(
                err, 'Copying disk %s to %s for volume %s' % (
                    source_path, dest_path, volume['id']))

    def _swap_disk(self, backing, old, new_path, capacity_kb, volume):
        """Swap the backing's disk device onto another file.

        One reconfiguration: the old disk device out (its files stay),
        a device on ``new_path`` in, at the same controller slot (keeping
        the disk's QoS).
        """
        spec = devices.swap_spec(
            self.session, old,
            upstream.disk_backing(self.volumeops,
                                  self._get_disk_type(volume), new_path),
            capacity_kb)
        # A retry after a lost answer would remove a device that is gone.
        self.volumeops.reconfigure_once(
            backing, spec, lambda: self._disk_file_now(backing) == new_path,
            'Swapping the disk of volume %s onto %s' % (volume['id'],
                                                        new_path))

    def _delete_unused_chain(self, backing, old, dc):
        """Delete the replaced disk chain no other VM reads.

        Delete the replaced disk and its parents in the backing's own
        folder, top down, up to the first file another VM still reads (a
        linked clone's parent).
        """
        own = vdisks.folder_of(old.backing.fileName)
        readers = self._readers(backing)
        for path in vdisks.chain(old.backing):
            if vdisks.folder_of(path) != own:
                break
            users = readers.of([path])
            if users:
                LOG.info("Keeping %(path)s: linked clone(s) %(users)s read "
                         "it.", {'path': path, 'users': ', '.join(users)})
                break
            self._delete_disk_quietly(path, dc)

    def _delete_disk_quietly(self, path, dc):
        """Delete a disk nothing uses any more, quietly.

        Delete a disk nothing uses any more; tried twice (a failed task
        is often transient), then left with a warning naming it.
        """
        for attempt in (1, 2):
            try:
                self.volumeops.delete_vmdk_file(path, dc)
                return
            except vexc.FileNotFoundException:
                return  # gone (a lost answer of an earlier attempt)
            except vexc.VMwareDriverException as err:
                LOG.warning("Could not delete disk %(path)s (attempt "
                            "%(n)d): %(err)s.",
                            {'path': path, 'n': attempt,
                             'err': faults.describe(err)})
