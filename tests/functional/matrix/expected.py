"""Cases of the fault matrix expected to fail, each for a defect not fixed
yet: case id (cases.case_id) -> (defect, reason).

They run as ``xfail(strict=True)``: a fix that makes one pass fails the
suite until its entry is removed here, so the list only shrinks.  Defects
are named by issue 11's numbered list ("11.8": retried creates duplicate).
"""

FAILURES = {
    'clone-full:CloneVM_Task#0:lost': (
        '11.8',
        'succeeded: orphan bytes, 5 x orphan file, orphan vm, unexpected '
        'disk'),
    'clone-full:CloneVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'clone-full:ReconfigVM_Task#0:task': (
        '11.11',
        'raised: error names no volume/disk, orphan bytes, 5 x orphan '
        'file, orphan vm, unexpected disk'),
    'clone-linked:CloneVM_Task#0:lost': (
        '11.8',
        'succeeded: 5 x orphan file, orphan vm, unexpected disk'),
    'clone-linked:CloneVM_Task#0:task': (
        '11.11',
        'raised: error names no volume/disk, orphan file'),
    'clone-linked:CreateSnapshot_Task#0:lost': (
        '11.8',
        'succeeded: missing disk, 3 x orphan file, orphan snapshot, '
        'unexpected disk'),
    'clone-linked:CreateSnapshot_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'delete-snapshot-cow:RemoveSnapshot_Task#0:lost': (
        '11 (a lost answer taken for a failure)',
        'raised: error names no volume/disk, removed disk, 3 x removed '
        'file, removed snapshot, unexpected disk'),
    'delete-snapshot-cow:RemoveSnapshot_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'delete-snapshot-template:Destroy_Task#0:lost': (
        '11 (a lost answer taken for a failure)',
        'raised: error names no volume/disk, removed bytes, removed disk,'
        ' 5 x removed file, removed vm'),
    'delete-snapshot-template:Destroy_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'extend-linked:CopyVirtualDisk_Task#0:lost': (
        '11.4',
        'raised: error names no volume/disk, orphan bytes, 2 x orphan '
        'file'),
    'extend-linked:CopyVirtualDisk_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'extend-linked:DeleteVirtualDisk_Task#0:task': (
        '11.4',
        'succeeded: not removed bytes, 2 x not removed file'),
    'extend-linked:ExtendVirtualDisk_Task#0:task': (
        '11.4',
        'raised: error names no volume/disk, orphan bytes, 2 x orphan '
        'file, removed bytes, removed disk, 2 x removed file, unexpected '
        'disk'),
    'extend-linked:ReconfigVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'extend-linked:ReconfigVM_Task#1:task': (
        '11.4',
        'raised: error names no volume/disk, orphan bytes, 2 x orphan '
        'file, removed disk, unexpected disk'),
    'extend-offline:ExtendVirtualDisk_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'extend-online:ReconfigVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'from-snapshot-full:CloneVM_Task#0:lost': (
        '11.8',
        'succeeded: orphan bytes, 5 x orphan file, orphan vm, unexpected '
        'disk'),
    'from-snapshot-full:CloneVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'from-snapshot-full:ReconfigVM_Task#0:task': (
        '11.11',
        'raised: error names no volume/disk, orphan bytes, 5 x orphan '
        'file, orphan vm, unexpected disk'),
    'from-snapshot-linked:CloneVM_Task#0:lost': (
        '11.8',
        'succeeded: 5 x orphan file, orphan vm, unexpected disk'),
    'from-snapshot-linked:CloneVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'manage-attached:CreateVM_Task#0:lost': (
        '11.8',
        'succeeded: 3 x orphan file, orphan vm'),
    'manage-attached:ReconfigVM_Task#1:lost': (
        '11.5',
        'succeeded: unexpected disk'),
    'manage-copied:CreateVM_Task#0:lost': (
        '11.8',
        'succeeded: 3 x orphan file, orphan vm'),
    'manage-copied:DeleteVirtualDisk_Task#0:lost': (
        '11.1',
        'raised: DATA LOST, removed bytes, 2 x removed file'),
    'manage-copied:ReconfigVM_Task#0:lost': (
        '11 (a lost answer taken for a failure)',
        'succeeded: unexpected disk'),
    'manage-loose:CreateVM_Task#0:lost': (
        '11.8',
        'succeeded: 3 x orphan file, orphan vm'),
    'manage-loose:ReconfigVM_Task#0:lost': (
        '11 (a lost answer taken for a failure)',
        'succeeded: unexpected disk'),
    'revert-cow:RevertToSnapshot_Task#0:lost': (
        '11 (a lost answer taken for a failure)',
        'succeeded: missing disk, 2 x missing file, not removed disk, 2 x'
        ' not removed file'),
    'revert-cow:RevertToSnapshot_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'revert-template:CopyVirtualDisk_Task#0:lost': (
        '11.4',
        'raised: error names no volume/disk, orphan bytes, 2 x orphan '
        'file'),
    'revert-template:CopyVirtualDisk_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'revert-template:DeleteVirtualDisk_Task#0:task': (
        '11.4',
        'succeeded: not removed bytes, 2 x not removed file'),
    'revert-template:ReconfigVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'revert-template:ReconfigVM_Task#1:task': (
        '11.4',
        'raised: error names no volume/disk, orphan bytes, 2 x orphan '
        'file, removed disk, unexpected disk'),
    'snapshot-cow:CreateSnapshot_Task#0:lost': (
        '11.8',
        'succeeded: missing disk, 3 x orphan file, orphan snapshot, '
        'unexpected disk'),
    'snapshot-cow:CreateSnapshot_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'snapshot-template:CloneVM_Task#0:lost': (
        '11.8',
        'succeeded: orphan bytes, 5 x orphan file, orphan vm, unexpected '
        'disk'),
    'snapshot-template:CloneVM_Task#0:task': (
        '11.10',
        'raised: error names no volume/disk'),
    'snapshot-template:MarkAsTemplate#0:lost': (
        '11.10',
        'raised: error names no volume/disk'),
    'unmanage-attached:Destroy_Task#0:lost': (
        '11.2',
        'raised: error names no volume/disk, removed disk, 3 x removed '
        'file, removed vm, unexpected disk'),
    'unmanage-attached:Destroy_Task#0:task': (
        '11.2',
        'raised: error names no volume/disk, removed disk, unexpected '
        'disk'),
    'unmanage-attached:ReconfigVM_Task#0:task': (
        '11.2',
        'raised: error names no volume/disk'),
    'unmanage-attached:ReconfigVM_Task#1:task': (
        '11.2',
        'succeeded: missing disk'),
    'unmanage-loose:Destroy_Task#0:lost': (
        '11.2',
        'raised: error names no volume/disk, removed disk, 3 x removed '
        'file, removed vm'),
    'unmanage-loose:Destroy_Task#0:task': (
        '11.2',
        'raised: error names no volume/disk, removed disk'),
    'unmanage-loose:ReconfigVM_Task#0:task': (
        '11.2',
        'raised: error names no volume/disk'),
}
