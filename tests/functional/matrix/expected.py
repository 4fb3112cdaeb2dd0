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
"""Cases of the fault matrix expected to fail, each for a defect not fixed
yet: case id (cases.case_id) -> (defect, reason).

They run as ``xfail(strict=True)``: a fix that makes one pass fails the
suite until its entry is removed here, so the list only shrinks.  Defects
are named by issue 11's numbered list ("11.8": retried creates duplicate).
"""

# os-brick's VmdkConnector (in cinder-backup's process, not the driver's)
# raises vCenter's fault bare from connect_volume and disconnect_volume:
# held (the volume keeps its disk and bytes, the next restore succeeds and
# leaves nothing), but the error names neither the volume nor the step.
# cinder-backup marks the volume error_restoring.
OS_BRICK = ('os-brick', "os-brick's own error, raised in cinder-backup, "
            "names neither the volume nor the step")

FAILURES = {
    'backup-restore:CopyVirtualDisk_Task#0:lost': OS_BRICK,
    'backup-restore:CopyVirtualDisk_Task#0:lost-refused': OS_BRICK,
    'backup-restore:CopyVirtualDisk_Task#0:task': OS_BRICK,
    'backup-restore:DeleteDatastoreFile_Task#0:lost': OS_BRICK,
    'backup-restore:DeleteDatastoreFile_Task#0:lost-refused': OS_BRICK,
    'backup-restore:DeleteDatastoreFile_Task#0:task': OS_BRICK,
    'backup-restore:ExportVm#0:lost-refused': OS_BRICK,
    'backup-restore:HttpNfcLeaseAbort#0:lost-refused': OS_BRICK,
    'backup-restore:ReconfigVM_Task#1:lost': OS_BRICK,
    'backup-restore:ReconfigVM_Task#1:lost-refused': OS_BRICK,
    'backup-restore:ReconfigVM_Task#1:task': OS_BRICK,
    'backup-restore:ReconfigVM_Task#2:lost': OS_BRICK,
    'backup-restore:ReconfigVM_Task#2:lost-refused': OS_BRICK,
    'backup-restore:ReconfigVM_Task#2:task': OS_BRICK,
}
