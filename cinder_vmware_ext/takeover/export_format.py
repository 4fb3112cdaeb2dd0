"""The takeover inventory file: a versioned, documented JSON document.

``takeover export`` writes it, an operator reviews (and may edit) it,
``takeover import`` reads it.  The format is described in
doc/takeover.md; any change that breaks a reader bumps ``VERSION``.
"""

import datetime
import json
import re

from cinder_vmware_ext.takeover import records
from cinder_vmware_ext.takeover import references
from cinder_vmware_ext.takeover import safety

FORMAT = 'cinder-vmware-takeover-inventory'
VERSION = 1
# Volume metadata key naming the disk a volume was taken over from; makes
# import idempotent without the results file.
SOURCE_KEY = 'vmware_takeover_source'

_NAME_CHARS = re.compile(r'[^\w.\- ]+', re.UNICODE)


class InvalidInventory(ValueError):
    """An inventory file this version cannot read; str() says why."""


def disk_key(disk: records.DiskRecord) -> str:
    """A disk's identity across runs: its datastore path, and the VM for an
    attached disk (a shared disk is listed once per VM).  Not the UUID:
    copies and clones of a disk keep their source's UUID."""
    key = 'path:%s' % disk.ds_path
    return key + ('@%s' % disk.vm.ref if disk.vm else '')


def proposed_name(disk: records.DiskRecord) -> str:
    """A readable volume name: VM name and disk file stem."""
    stem = disk.path.rsplit('/', 1)[-1][:-len('.vmdk')] \
        if disk.path.lower().endswith('.vmdk') else disk.path
    name = stem if not disk.vm or stem == disk.vm.name \
        else '%s-%s' % (disk.vm.name, stem)
    return _NAME_CHARS.sub('_', name).strip()[:255] or 'takeover'


def entry(disk: records.DiskRecord, volume_type=None,
          reference=None) -> dict:
    """One disk of the inventory.

    :param reference: its reference in the whole inventory (``build`` keeps
        references unique); by default the disk's own
    """
    safe, reason = safety.verdict(disk)
    vm = disk.vm
    return {
        'key': disk_key(disk),
        'reference': reference or safety.manageable_entry(disk)['reference'],
        'datastore': disk.datastore,
        'path': disk.path,
        'size_gb': disk.size_gb,
        'capacity_bytes': disk.capacity_bytes,
        'provisioning': disk.provisioning,
        'uuid': disk.uuid,
        'vm': None if vm is None else {
            'name': vm.name, 'power_state': vm.power_state,
            'inventory_path': vm.inventory_path},
        'snapshots': list(vm.snapshots) if vm else [],
        'pool': disk.pool,
        'host': disk.backend_host,
        'cinder_id': disk.cinder_id,
        'proposed': {
            'name': proposed_name(disk),
            'volume_type': volume_type,
            'metadata': {SOURCE_KEY: disk_key(disk),
                         'vmware_datastore_path': disk.ds_path},
        },
        'safe_to_manage': safe,
        'reason_not_safe': reason,
        'reasons_not_safe': safety.all_reasons(disk),
    }


def build(disks, backend, vcenter, volume_type=None, now=None) -> dict:
    """The whole inventory document for ``disks``."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    disks = sorted(disks, key=lambda d: (d.ds_path, d.vm.ref if d.vm
                                         else ''))
    return {
        'format': FORMAT,
        'version': VERSION,
        'generated_at': now.isoformat(timespec='seconds'),
        'vcenter': vcenter,
        'backend': backend,
        'disks': [entry(d, volume_type, reference) for d, reference in
                  zip(disks, references.for_listing(disks))],
    }


def dumps(document) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False,
                      sort_keys=False) + '\n'


def loads(text) -> dict:
    """Parse and check an inventory; InvalidInventory names the problem."""
    try:
        document = json.loads(text)
    except ValueError as err:
        raise InvalidInventory('not JSON: %s' % err)
    if not isinstance(document, dict) or document.get('format') != FORMAT:
        raise InvalidInventory('not a takeover inventory (format is not %r);'
                               ' write one with "cinder-vmware takeover '
                               'export".' % FORMAT)
    version = document.get('version')
    if version != VERSION:
        raise InvalidInventory(
            'inventory version %r; this tool reads version %d: export '
            'again with this version.' % (version, VERSION))
    disks = document.get('disks')
    if not isinstance(disks, list):
        raise InvalidInventory('"disks" must be a list.')
    keys = set()
    for number, item in enumerate(disks, 1):
        _check_entry(number, item, keys)
    return document


def _check_entry(number, item, keys):
    for field in ('key', 'reference', 'host', 'proposed', 'safe_to_manage'):
        if not isinstance(item, dict) or field not in item:
            raise InvalidInventory('disk #%d has no "%s".' % (number, field))
    if item['key'] in keys:
        raise InvalidInventory('disk #%d: key %s appears twice.'
                               % (number, item['key']))
    keys.add(item['key'])
