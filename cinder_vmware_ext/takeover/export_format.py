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
"""The takeover inventory file: a versioned, documented JSON document.

``takeover export`` writes it, an operator reviews (and may edit) it,
``takeover import`` reads it.  The format is described in
doc/takeover.md; any change that breaks a reader bumps ``VERSION``.
"""

import datetime
import json
import re

import jsonschema

from cinder_vmware_ext.takeover import records
from cinder_vmware_ext.takeover import references
from cinder_vmware_ext.takeover import safety

FORMAT = 'cinder-vmware-takeover-inventory'
VERSION = 1
# Volume metadata key naming the disk a volume was taken over from; makes
# import idempotent without the results file.
SOURCE_KEY = 'vmware_takeover_source'

_NAME_CHARS = re.compile(r'[^\w.\- ]+', re.UNICODE)


_TEXT = {'type': 'string', 'minLength': 1}
_TEXT_OR_NULL = {'type': ['string', 'null']}

# What a reader accepts: doc/takeover.md publishes it (a test keeps the
# two equal).  Import reads key, reference, host, proposed and
# safe_to_manage; the other fields are typed so an edit that breaks them
# is caught too.
SCHEMA = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    'title': 'cinder-vmware takeover inventory, version 1',
    'type': 'object',
    'required': ['format', 'version', 'disks'],
    'properties': {
        'format': {'const': FORMAT},
        'version': {'const': VERSION},
        'generated_at': {'type': 'string'},
        'vcenter': _TEXT_OR_NULL,
        'backend': _TEXT_OR_NULL,
        'disks': {'type': 'array', 'items': {'$ref': '#/$defs/disk'}},
    },
    '$defs': {
        'disk': {
            'type': 'object',
            'required': ['key', 'reference', 'host', 'proposed',
                         'safe_to_manage'],
            'properties': {
                'key': _TEXT,
                'reference': {'$ref': '#/$defs/reference'},
                'datastore': {'type': 'string'},
                'path': {'type': 'string'},
                'size_gb': {'type': 'integer', 'minimum': 0},
                'capacity_bytes': {'type': 'integer', 'minimum': 0},
                'provisioning': {'type': 'string'},
                'uuid': _TEXT_OR_NULL,
                'vm': {'type': ['object', 'null'], 'properties': {
                    'name': {'type': 'string'},
                    'power_state': {'type': 'string'},
                    'inventory_path': {'type': 'string'}}},
                'snapshots': {'type': 'array', 'items': {'type': 'string'}},
                'pool': _TEXT_OR_NULL,
                'host': _TEXT_OR_NULL,
                'cinder_id': _TEXT_OR_NULL,
                'proposed': {
                    'type': 'object',
                    'properties': {
                        'name': _TEXT_OR_NULL,
                        'volume_type': _TEXT_OR_NULL,
                        'metadata': {'type': 'object',
                                     'additionalProperties': {
                                         'type': 'string'}}}},
                'safe_to_manage': {'type': 'boolean'},
                'reason_not_safe': _TEXT_OR_NULL,
                'reasons_not_safe': {'type': 'array',
                                     'items': {'type': 'string'}},
            },
        },
        'reference': {
            'type': 'object',
            'minProperties': 1,
            'maxProperties': 1,
            'additionalProperties': False,
            'properties': {'source-name': _TEXT, 'source-id': _TEXT},
        },
    },
}

_TYPE_NAMES = {'string': 'a string', 'boolean': 'a boolean (true or false)',
               'integer': 'an integer', 'object': 'an object',
               'array': 'a list', 'null': 'null', 'number': 'a number'}


class InvalidInventory(ValueError):
    """An inventory file this version cannot read; str() says why."""


def disk_key(disk: records.DiskRecord) -> str:
    """Return a disk's identity across runs.

    A disk's identity across runs: its datastore path, and the VM for an
    attached disk (a shared disk is listed once per VM).  Not the UUID:
    copies and clones of a disk keep their source's UUID.
    """
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
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(
        document), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        raise InvalidInventory(_message(document, errors[0]))
    keys = set()
    for number, item in enumerate(document['disks'], 1):
        if item['key'] in keys:
            raise InvalidInventory('disk #%d: key %s appears twice.'
                                   % (number, item['key']))
        keys.add(item['key'])
    return document


def _message(document, error):
    """One line: which entry, which field, what it must be."""
    path = list(error.absolute_path)
    where = 'the inventory'
    if len(path) >= 2 and path[0] == 'disks' and isinstance(path[1], int):
        item = document['disks'][path[1]]
        key = item.get('key') if isinstance(item, dict) else None
        where = 'disk #%d%s' % (path[1] + 1, ' (key %s)' % key
                                if isinstance(key, str) else '')
        path = path[2:]
    field = '.'.join(str(p) for p in path)
    if error.validator == 'required':
        missing = [f for f in error.validator_value
                   if f not in (error.instance or {})]
        return '%s has no "%s".' % (
            where if not field else '%s: "%s"' % (where, field),
            missing[0] if missing else '?')
    subject = '%s: "%s"' % (where, field) if field else where
    if error.validator == 'type':
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        return '%s must be %s, not %s.' % (
            subject, ' or '.join(_TYPE_NAMES.get(w, w) for w in wanted),
            json.dumps(error.instance, ensure_ascii=False)[:80])
    if path and path[-1] == 'reference' or error.validator in (
            'minProperties', 'maxProperties', 'additionalProperties') and \
            'reference' in path:
        return ('%s must be {"source-name": "..."} or {"source-id": "..."}'
                ', not %s.' % (subject, json.dumps(
                    error.instance, ensure_ascii=False)[:80]))
    if error.validator == 'minLength':
        return '%s must not be empty.' % subject
    return '%s: %s.' % (subject, error.message)
