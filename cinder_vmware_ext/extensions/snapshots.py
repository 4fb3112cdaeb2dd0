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
"""Snapshots (template and COW), revert, clones and chain depth.

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
from cinder.volume.drivers.vmware import datastore as hub
from cinder.volume.drivers.vmware import exceptions as vmdk_exceptions
from cinder.volume.drivers.vmware import volumeops
from cinder.volume import volume_types
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units
from oslo_utils import versionutils
from oslo_vmware import exceptions as vexc
from oslo_vmware import vim_util

from cinder_vmware_ext import locks
from cinder_vmware_ext.vsphere import devices
from cinder_vmware_ext.vsphere import disks as vdisks
from cinder_vmware_ext.vsphere import faults
from cinder_vmware_ext.vsphere import retrieve
from cinder_vmware_ext.vsphere import snapshots as vm_snapshots
from cinder_vmware_ext.vsphere import upstream
from cinder_vmware_ext.vsphere import usage

LOG = logging.getLogger(__name__)

SNAPSHOT_FORMAT_KEY = 'vmware:snapshot_format'
TEMPLATE = 'template'
COW = 'COW'
SNAPSHOT_FORMATS = (TEMPLATE, COW)
DEPTH_KEY = 'vmware_chain_depth'
# The snapshot point taken inside a template snapshot the first time a
# linked clone is made from it: vSphere clones linked only from a snapshot.
TEMPLATE_BASE_SNAPSHOT = 'linked-clone-base'


class SnapshotMixin(object):
    """Snapshot and clone behaviour of ``VMwareVcVmdkExtDriver``."""

    # -- settings -------------------------------------------------------------

    def _snapshot_format(self, volume):
        """``vmware:snapshot_format`` of the volume's type, else the
        backend's ``vmware_snapshot_format``."""
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
        """``usage.Readers`` of the disks near ``vm`` (VMs on its
        datastores), read in one pass."""
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
        """A full copy of the disk in a template VM (in-use volumes: of the
        attached disk as the instance VM has it, as upstream does)."""
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
        """SnapshotIsBusy while linked clones read the snapshot's disks:
        removing it would consolidate into (or delete) their parent."""
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
        """Copy (flattened) the disk ``source`` (a device) next to the
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
        """The new disk's UUID set to the volume's id, as upstream does;
        once retried, then left with a warning (the volume is whole)."""
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
        """The file of the backing's disk as vCenter has it now, or None
        when it cannot be read."""
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
        """One reconfiguration: the old disk device out (its files stay),
        a device on ``new_path`` in, at the same controller slot (keeping
        the disk's QoS)."""
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
        """Delete the replaced disk and its parents in the backing's own
        folder, top down, up to the first file another VM still reads (a
        linked clone's parent)."""
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
        """Delete a disk nothing uses any more; tried twice (a failed task
        is often transient), then left with a warning naming it."""
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

    # -- volumes from snapshots -----------------------------------------------

    def create_volume_from_snapshot(self, volume, snapshot):
        clone_type = self._get_clone_type(volume)
        backing = self.volumeops.get_backing(snapshot['volume_name'],
                                             snapshot['volume']['id'])
        if not backing:
            return self._nothing_to_clone('backing', snapshot, volume)
        if snapshot['provider_location']:
            return self._clone_from_template(volume, snapshot, clone_type)
        ref = self._cow_snapshot(backing, snapshot)
        if not ref:
            return self._nothing_to_clone('snapshot point', snapshot, volume)
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            parent = self._snapshot_disks(ref)[0]
            if self._linked_possible(volume, parent,
                                     snapshot['volume_size']):
                return self._linked_clone(volume, backing, ref, parent)
        self._clone_backing(volume, backing, ref, volumeops.FULL_CLONE_TYPE,
                            snapshot['volume_size'])
        return None

    @staticmethod
    def _nothing_to_clone(missing, snapshot, volume):
        LOG.info("There is no %(missing)s for the snapshotted volume: "
                 "%(snap)s. Not creating any backing for the volume: "
                 "%(vol)s.", {'missing': missing, 'snap': snapshot['name'],
                              'vol': volume['name']})

    def _clone_from_template(self, volume, snapshot, clone_type):
        template = self._get_template_by_inv_path(
            snapshot['provider_location'])
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            parent = self._disk_of(template).backing
            base = self.volumeops.get_snapshot(template,
                                               TEMPLATE_BASE_SNAPSHOT)
            if base is not None:
                parent = self._snapshot_disks(base)[0]
            if self._linked_possible(volume, parent,
                                     snapshot['volume_size']):
                if base is None:
                    base = self._template_base_snapshot(template)
                return self._linked_clone(volume, template, base, parent)
        self._create_volume_from_template(volume,
                                          snapshot['provider_location'])
        return None

    def _template_base_snapshot(self, template):
        """Take the snapshot point linked clones of a template need.

        vSphere does not snapshot templates, so the template becomes a VM
        for the moment of the snapshot (in its own resource pool and host)
        and a template again, also when the snapshot fails.  Concurrent
        first clones of one template take it once.
        """
        name = 'vmware-template-base-%s' % vim_util.get_moref_value(template)
        # Across services: a peer may take the same template's first
        # linked clone (active-active).
        with locks.across_services(name):
            base = self.volumeops.get_snapshot(template,
                                               TEMPLATE_BASE_SNAPSHOT)
            return base or self._take_template_base_snapshot(template)

    def _take_template_base_snapshot(self, template):
        host = retrieve.one(self.session, template, 'runtime.host')
        pool = upstream.host_resource_pool(self.ds_sel, host)
        self.volumeops.mark_as_virtual_machine(template, pool, host)
        try:
            return self.volumeops.create_snapshot(
                template, TEMPLATE_BASE_SNAPSHOT,
                'Read-only point for linked clones of this snapshot.')
        finally:
            self.volumeops.mark_backing_as_template(template)

    def _linked_possible(self, volume, parent, source_size):
        """Whether a linked clone over the disk ``parent`` (a backing info
        with its parents) may be made for ``volume`` in its pool; logs why
        not."""
        reason = None
        scope = self._pool_scope()
        pool_name = scope.pool if scope else None
        ds_name = vdisks.datastore_name(parent.fileName)
        depth = len(vdisks.chain(parent))  # the clone's delta adds one link
        if volume['size'] > source_size:
            reason = ('the volume (%d GB) is larger than its source (%d GB) '
                      'and a linked clone cannot be extended in place' %
                      (volume['size'], source_size))
        elif not self._depth_allowed(depth):
            reason = ('its disk chain would be %d delta disks deep, over '
                      'vmware_max_snapshot_chain_depth (%d)' %
                      (depth, self._max_chain_depth()))
        elif pool_name is not None:
            _inventory, pool = self._pools.find(pool_name)
            if not any(ds.name == ds_name for ds in pool.datastores):
                reason = ('pool %s cannot reach datastore %s of the parent '
                          'disk' % (pool_name, ds_name))
        if reason:
            LOG.warning("Volume %(vol)s: a full clone instead of the linked "
                        "clone its type asks for: %(why)s.",
                        {'vol': volume['id'], 'why': reason})
            return False
        return True

    def _linked_clone(self, volume, source_vm, snapshot_ref, parent):
        """A linked clone of ``snapshot_ref`` in the volume's pool: its
        delta disk and home on the parent disk's datastore, registered on a
        host of the pool that can write there."""
        ds_name = vdisks.datastore_name(parent.fileName)
        pool_ds = [ds for ds in self._pool_datastores() if ds.name != ds_name]
        req = {hub.DatastoreSelector.SIZE_BYTES: 0,
               hub.DatastoreSelector.HARD_ANTI_AFFINITY_DS:
                   [ds.ref for ds in pool_ds]}
        host, resource_pool, summary = self._select_datastore(req)
        dc = self._get_dc(resource_pool)
        folder = self._get_volume_group_folder(dc, volume['project_id'])
        clone = self.volumeops.clone_backing(
            volume['name'], source_vm, snapshot_ref,
            volumeops.LINKED_CLONE_TYPE, summary.datastore, host=host,
            resource_pool=resource_pool,
            extra_config=self._get_extra_config(volume), folder=folder)
        # As upstream: vCenter 6.0+ keeps the delta disk's UUID.
        if not versionutils.is_compatible('6.0', self._vc_version,
                                          same_major=False):
            self.volumeops.update_backing_disk_uuid(clone, volume['id'])
        depth = self._chain_depth(clone)
        LOG.info("Created linked clone %(clone)s for volume %(vol)s over "
                 "%(parent)s, chain depth %(depth)d.",
                 {'clone': clone, 'vol': volume['id'],
                  'parent': parent.fileName,
                  'depth': depth})
        return {'metadata': self._with_depth(volume, depth)}

    def _pool_datastores(self):
        scope = self._pool_scope()
        if scope is None or scope.pool is None:
            return []
        _inventory, pool = self._pools.find(scope.pool)
        return pool.datastores

    # -- clones of volumes ----------------------------------------------------

    def create_cloned_volume(self, volume, src_vref):
        clone_type = self._get_clone_type(volume)
        backing = self.volumeops.get_backing(src_vref['name'], src_vref['id'])
        if not backing:
            LOG.info("There is no backing for the source volume: %(src)s. "
                     "Not creating any backing for volume: %(vol)s.",
                     {'src': src_vref['name'], 'vol': volume['name']})
            return None
        if self._in_use(src_vref):
            if clone_type == volumeops.LINKED_CLONE_TYPE:
                LOG.warning("Volume %s: a full clone of the attached source "
                            "volume instead of a linked clone (its disk is "
                            "written by the instance).", volume['id'])
            self._clone_attached_volume(src_vref, volume)
            return None
        if clone_type == volumeops.LINKED_CLONE_TYPE:
            parent = self._disk_of(backing).backing
            if src_vref['status'] != 'available':
                LOG.warning("Volume %(vol)s: a full clone instead of a linked "
                            "clone: the source is %(status)s.",
                            {'vol': volume['id'],
                             'status': src_vref['status']})
            elif self._linked_possible(volume, parent,
                                       src_vref['size']):
                return self._linked_clone_of_volume(volume, backing, parent)
        self._clone_backing(volume, backing, None, volumeops.FULL_CLONE_TYPE,
                            src_vref['size'])
        return None

    def _linked_clone_of_volume(self, volume, backing, parent):
        """Linked clone through a temporary snapshot, always removed: the
        source keeps writing to a new delta, the clone reads the frozen
        disk (which vSphere keeps, shared, when the snapshot goes)."""
        name = 'temp-snapshot-%s' % volume['id']
        try:
            snap = self.volumeops.create_snapshot(backing, name, None)
        except Exception:
            with excutils.save_and_reraise_exception():
                # vCenter may have taken it and the answer be lost.
                self._remove_temp_snapshot(backing, None, name)
        try:
            return self._linked_clone(volume, backing, snap, parent)
        finally:
            self._remove_temp_snapshot(backing, snap, name)

    def _temp_snapshot_now(self, backing, name):
        """The temporary snapshot ``name`` as vCenter has it now; False
        when that cannot be read."""
        try:
            return self.volumeops.find_snapshot(backing, name, None)
        except vexc.VMwareDriverException:
            LOG.warning("Could not read the snapshots of %s.", backing,
                        exc_info=True)
            return False

    def _remove_temp_snapshot(self, backing, snap, name):
        """Remove the temporary snapshot (``snap``, or found by name when
        None); looks after a failure whether vCenter removed it anyway."""
        for attempt in (1, 2):
            if snap is None or attempt > 1:
                now = self._temp_snapshot_now(backing, name)
                if now is None:
                    return  # not there (any more)
                snap = now or snap
                if snap is None:
                    break  # unknown, and no reference to remove
            try:
                vm_snapshots.remove(self.session, snap)
                return
            except vexc.VMwareDriverException:
                LOG.warning("Removing temporary snapshot %(name)s of "
                            "%(vm)s failed (attempt %(n)d).",
                            {'name': name, 'vm': backing, 'n': attempt},
                            exc_info=True)
                if self._temp_snapshot_now(backing, name) is None:
                    return  # vCenter removed it; the answer was lost
        LOG.error("Temporary snapshot %(name)s of %(vm)s is left behind; "
                  "remove it in vCenter.", {'name': name, 'vm': backing})
