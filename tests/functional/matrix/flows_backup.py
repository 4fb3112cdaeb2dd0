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
"""Backup restore in the fault matrix, as cinder-backup runs it.

Flow ``backup-restore``: a volume holding its own pattern is restored
from a backup of another volume (made once per group: its bytes, the
'backup' pattern, stay in the backup service whatever happens).  The
run is cinder-backup's: status ``restoring-backup``, initialize_connection,
os-brick's connect and disconnect, terminate_connection only when the
disconnect succeeded (tests/functional/cinder_backup.py).

A failed restore leaves the volume ``error_restoring``; what an operator
does then is restore again.  So a case that raised is judged twice: right
after the fault nothing may be lost (the volume keeps its bytes), and
after one more restore without faults the result must be the reference
run's, with nothing left over (``case.recover``, cases.judge's
``recovered``).
"""

from tests.functional import cinder_backup
from tests.functional.matrix import flows


def _backup_of(group):
    """The group's backup: (its bytes, the pattern in them)."""
    if getattr(group, 'backup_image', None) is None:
        case = flows.Case(group)
        src = case.created_volume('backup')
        group.backup_image = (cinder_backup.backup(case.driver(), src),
                              case.patterns['backup'])
    return group.backup_image


@flows.flow('backup-restore', 'all')
def backup_restore(case):
    data, pattern = _backup_of(case.group)
    vol = case.created_volume('vol')
    # The backup's pattern: held by its source volume (not a role of the
    # case: its backing stays) and, after the restore, by the volume.
    case.patterns['backup'] = pattern
    drv = case.driver()
    case.call = lambda: cinder_backup.restore(drv, vol, data)
    case.recover = case.call
