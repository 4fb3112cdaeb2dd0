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
"""core/audit.py: what counts as a leftover and what --clean may remove."""

import json

from cinder_vmware_ext.core import audit

V1 = '11111111-1111-1111-1111-111111111111'
V2 = '22222222-2222-2222-2222-222222222222'
S1 = '33333333-3333-3333-3333-333333333333'


def vm(name, ref=None, **kwargs):
    return audit.VmFacts(ref=ref or 'vm-' + name, name=name, **kwargs)


def live(status='available', **kwargs):
    return audit.VolumeFacts(status=status, **kwargs)


def found(vms, volumes=None, snapshots=(), files=()):
    return [(f.kind, f.name, f.action) for f in audit.findings(
        vms, volumes or {}, set(snapshots), files)]


def test_backing_of_a_live_volume_is_no_leftover():
    assert found([vm('volume-' + V1, volume_id=V1)], {V1: live()}) == []


def test_shadow_vm_is_destroyed_unless_another_vm_uses_its_disk():
    shadow = vm('volume-' + V1, volume_id=V1, disk_files=('[ds] a.vmdk',))
    assert found([shadow]) == [(audit.SHADOW_VM, shadow.name,
                                audit.DESTROY_VM)]
    clone = vm('other', disk_files=('[ds] b.vmdk', '[ds] a.vmdk'))
    assert found([shadow, clone]) == [(audit.SHADOW_VM, shadow.name, None)]


def test_temporary_snapshot_of_a_live_clone_is_no_leftover():
    snap = audit.SnapshotFacts('temp-snapshot-' + V2, 'snap-1',
                               ('[ds] a.vmdk',))
    source = vm('volume-' + V1, volume_id=V1, snapshots=(snap,))
    volumes = {V1: live()}
    assert found([source], dict(volumes, **{V2: live('creating')})) == []
    assert found([source], dict(volumes, **{V2: live('available')})) == []
    assert found([source], volumes) == [
        (audit.TEMP_SNAPSHOT, snap.name, audit.REMOVE_SNAPSHOT)]
    clone = vm('clone', disk_files=('[ds] c.vmdk', '[ds] a.vmdk'))
    assert found([source, clone], volumes) == [
        (audit.TEMP_SNAPSHOT, snap.name, None)]


def test_template_and_cow_snapshots_of_deleted_cinder_snapshots():
    template = vm('snapshot-' + S1, template=True,
                  disk_files=('[ds] t.vmdk',))
    assert found([template]) == [(audit.TEMPLATE_SNAPSHOT, template.name,
                                  audit.DESTROY_VM)]
    assert found([template], snapshots=[S1]) == []
    cow = audit.SnapshotFacts('snapshot-' + S1, 'snap-2', ('[ds] v.vmdk',))
    backing = vm('volume-' + V1, volume_id=V1, snapshots=(cow,))
    assert found([backing], {V1: live()}) == [
        (audit.ORPHAN_SNAPSHOT, cow.name, audit.REMOVE_SNAPSHOT)]
    # Not a Cinder backing: its snapshot names mean nothing to Cinder.
    assert found([vm('mine', snapshots=(cow,))]) == []


def test_takeover_shadow_still_holding_the_disk_is_never_cleaned():
    origin = json.dumps({'path': '[ds] old/disk.vmdk', 'copied_to': None})
    shadow = vm('volume-' + V1, volume_id=V1, takeover_origin=origin,
                disk_files=('[ds] old/disk.vmdk',))
    [finding] = audit.findings([shadow], {V1: live('error_managing')}, set())
    assert finding.kind == audit.TAKEOVER_LEFTOVER
    assert finding.action is None and 'taken-over disk' in finding.reason
    empty = vm('volume-' + V1, volume_id=V1, takeover_origin=origin)
    assert found([empty]) == [(audit.TAKEOVER_LEFTOVER, empty.name,
                               audit.DESTROY_VM)]
    assert found([shadow], {V1: live()}) == []


def test_missing_backing_only_where_one_must_exist():
    volumes = {V1: live('available'),
               V2: live('in-use', attach_status='attached')}
    assert found([], volumes) == [(audit.MISSING_BACKING, V2, None)]


def test_missing_backing_only_of_the_audited_backend():
    # Another backend's volume keeps its disk elsewhere: never reported,
    # yet any volume's backing here is still no shadow.
    volumes = {V1: live('in-use', attach_status='attached', ours=False),
               V2: live('in-use', attach_status='attached')}
    assert found([], volumes) == [(audit.MISSING_BACKING, V2, None)]
    backing = vm('volume-' + V1, volume_id=V1)
    assert found([backing], {V1: live(ours=False)}) == []


def test_backend_names_with_and_without_a_cinder_cluster():
    from oslo_config import fixture as cfg_fixture

    from cinder_vmware_ext.cmd import audit as audit_cmd
    names = audit_cmd.owners('node-1@vmware')
    assert names == {'node-1@vmware'}
    assert audit_cmd.on_backend('node-1@vmware#gold', None, names)
    assert not audit_cmd.on_backend('node-2@vmware#gold', None, names)
    assert not audit_cmd.on_backend(None, None, names)
    fixture = cfg_fixture.Config()
    fixture.setUp()
    try:
        fixture.config(cluster='ha')
        names = audit_cmd.owners('node-1@vmware')
        assert names == {'node-1@vmware', 'ha@vmware'}
        assert audit_cmd.on_backend('node-2@vmware#gold', 'ha@vmware#gold',
                                    names)
    finally:
        fixture.cleanUp()


def test_upload_leftover_in_use_is_kept():
    path = '[ds] cinder_temp/x.vmdk'
    assert found([], files=[path]) == [(audit.UPLOAD_LEFTOVER, path,
                                        audit.DELETE_DISK)]
    user = vm('nova', disk_files=(path,))
    assert found([user], files=[path]) == [(audit.UPLOAD_LEFTOVER, path,
                                            None)]


def test_cached_image_backing_is_cinders_own():
    # Its cinder.volume.id is the cache's id, which no volume has, and it
    # carries its base snapshot: neither is reported, nor destroyed.
    base = audit.SnapshotFacts('image-cache-base', 'snap-9',
                               ('[ds] cache/cache.vmdk',))
    name = 'cinder-image-cache-%s-0a1b2c3d' % V2
    facts = dict(volume_id=V1, disk_files=('[ds] cache/cache.vmdk',),
                 snapshots=(base,))
    assert found([vm(name, image_cache=True, **facts)]) == []
    # Without the mark the same VM is a shadow VM --clean would destroy.
    assert found([vm(name, **facts)]) == [
        (audit.SHADOW_VM, name, audit.DESTROY_VM)]
    # Its files still protect what it reads: a leftover backing sharing
    # its disk is reported but not destroyed.
    shadow = vm('volume-' + S1, volume_id=S1,
                disk_files=('[ds] v.vmdk', '[ds] cache/cache.vmdk'))
    assert found([vm(name, image_cache=True, **facts), shadow]) == [
        (audit.SHADOW_VM, shadow.name, None)]


def test_audit_marks_cache_backings_by_name():
    from cinder_vmware_ext.cmd import audit as audit_cmd
    from cinder_vmware_ext.extensions import image_cache

    class FakeVm(object):
        def __init__(self, name):
            self.value, self.name, self.template = 'vm-1', name, False
            self.volume_id, self.extra, self.snapshot_info = V1, {}, None

        def disk_files(self):
            return ['[ds] x.vmdk']

    cache = image_cache.CACHE_PREFIX + V2 + '-0a1b2c3d'
    facts = audit_cmd.vm_facts([FakeVm(cache), FakeVm('volume-' + V1)], {})
    assert [f.image_cache for f in facts] == [True, False]


def test_staging_vm_of_a_restore_goes_unless_the_restore_runs():
    staging = vm('restore-' + V1, disk_files=('[ds] volume-%s/x.vmdk' % V1,))
    assert found([staging], {V1: live('restoring-backup')}) == [
        (audit.RESTORE_STAGING, staging.name, None)]
    for volumes in ({V1: live('error_restoring')}, {V1: live()}, {}):
        assert found([staging], volumes) == [
            (audit.RESTORE_STAGING, staging.name, audit.DESTROY_VM)]
    # A name alone does not make a VM Cinder's: a backing is not a staging.
    assert found([vm('restore-' + V1, volume_id=V1)], {V1: live()}) == []
