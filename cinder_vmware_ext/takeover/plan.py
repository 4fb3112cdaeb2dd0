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

MANAGE = 'manage'
UNMANAGE = 'unmanage'
SKIP = 'skip'

MANAGED = 'managed'
RELEASED = 'released'
FAILED = 'failed'
SKIPPED = 'skipped'


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
    return steps


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
