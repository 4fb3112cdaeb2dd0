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
"""Planning an import or a release from an inventory and past results.

Pure: the CLI gives it the inventory, what the results file says already
happened and what Cinder already manages; it says what to do with each
disk and why.  Results are JSON lines, appended as work completes, so an
interrupted run loses nothing and a rerun continues.
"""

import collections
import dataclasses
import json
import typing

from cinder_vmware_ext.takeover import references

MANAGE = 'manage'
UNMANAGE = 'unmanage'
SKIP = 'skip'

MANAGED = 'managed'
RELEASED = 'released'
FAILED = 'failed'
SKIPPED = 'skipped'


class DuplicateDisk(ValueError):
    """Two entries an import would manage name one disk; str() says which."""


@dataclasses.dataclass(frozen=True)
class Step:
    key: str
    action: str
    entry: dict
    reason: typing.Optional[str] = None
    volume_id: typing.Optional[str] = None


def import_steps(document, managed: typing.Mapping[str, str],
                 only: typing.Optional[typing.Collection[str]] = None
                 ) -> typing.List[Step]:
    """What import does with each disk.

    :param managed: disk key -> Cinder volume id, for disks Cinder manages
        now (from the volumes' takeover metadata)
    :param only: restrict to these keys
    """
    steps = []
    for item in document['disks']:
        key = item['key']
        if only is not None and key not in only:
            continue
        if key in managed or item.get('cinder_id'):
            steps.append(Step(key, SKIP, item, 'already managed as volume '
                              '%s' % (managed.get(key) or item['cinder_id']),
                              managed.get(key) or item['cinder_id']))
        elif not item['safe_to_manage']:
            steps.append(Step(key, SKIP, item, 'not safe: %s'
                              % item.get('reason_not_safe')))
        elif not item.get('host'):
            steps.append(Step(key, SKIP, item, 'no pool of this backend '
                              'reaches it'))
        else:
            steps.append(Step(key, MANAGE, item))
    _refuse_duplicates(document, [s for s in steps if s.action == MANAGE])
    return steps


def disk_identities(item) -> typing.Set[str]:
    """Return the identities an entry's reference names.

    What an entry's reference names: 'path:[ds] p' and, for a UUID
    reference, 'uuid:<32 hex digits>' plus the entry's own path.  Not the
    entry's UUID beside a path reference: copies and clones of a disk keep
    their source's UUID, and are other disks.
    """
    reference = item.get('reference') or {}
    found = set()
    if 'source-id' in reference:
        try:
            uuid = references.normalize_uuid(reference['source-id'])
        except references.InvalidReference:
            uuid = reference['source-id']
        found.add('uuid:%s' % uuid)
        if item.get('datastore') and item.get('path'):
            found.add('path:[%s] %s' % (item['datastore'], item['path']))
    elif 'source-name' in reference:
        try:
            found.add('path:%s' % references.parse(reference).disk_path)
        except references.InvalidReference:
            found.add('path:%s' % reference['source-name'])
    return found


def _refuse_duplicates(document, steps):
    numbers = {id(item): n for n, item in enumerate(document['disks'], 1)}
    seen = {}
    for step in steps:
        for identity in sorted(disk_identities(step.entry)):
            if identity in seen:
                other = seen[identity]
                raise DuplicateDisk(
                    'disks #%d (key %s) and #%d (key %s) both name %s; one '
                    'disk can be one volume only: remove one of them and '
                    'import again.' % (
                        numbers[id(other.entry)], other.key,
                        numbers[id(step.entry)], step.key,
                        identity.split(':', 1)[1]))
            seen[identity] = step


def release_steps(document, managed: typing.Mapping[str, str],
                  only: typing.Optional[typing.Collection[str]] = None
                  ) -> typing.List[Step]:
    """What release does: unmanage what import took over."""
    steps = []
    for item in document['disks']:
        key = item['key']
        if only is not None and key not in only:
            continue
        if key in managed:
            steps.append(Step(key, UNMANAGE, item,
                              volume_id=managed[key]))
        else:
            steps.append(Step(key, SKIP, item, 'not managed by Cinder'))
    return steps


def result_line(key, status, reason=None, volume_id=None, name=None,
                at=None) -> str:
    return json.dumps({'key': key, 'status': status, 'reason': reason,
                       'volume_id': volume_id, 'name': name, 'at': at},
                      ensure_ascii=False) + '\n'


def read_results(lines) -> typing.Dict[str, dict]:
    """The last result per key; a torn last line (a crash) is ignored."""
    latest = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and 'key' in record:
            latest[record['key']] = record
    return latest


def summary(results: typing.Iterable[dict]) -> dict:
    """Counts per status and the reasons of what was skipped or failed."""
    counts = collections.Counter()
    details = collections.defaultdict(list)
    for record in results:
        counts[record['status']] += 1
        if record['status'] in (SKIPPED, FAILED):
            details[record['status']].append((record['key'],
                                              record.get('reason')))
    return {'counts': dict(counts), 'details': dict(details)}
