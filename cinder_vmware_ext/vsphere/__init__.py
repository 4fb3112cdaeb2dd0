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
"""The vSphere client layer: every call to vCenter goes through this package.

Only modules here call ``invoke_api`` or ``wait_for_task``, build suds
objects (``client.factory``) or post raw SOAP; the driver, ``extensions/``,
``takeover/`` and ``cmd/`` call the named round trips below, and ``core/``
stays pure (``tests/unit/test_layer_rule.py`` checks it on the AST, with
no exemption).

- ``retrieve``: property reads (one object, several objects of a type, the
  whole inventory in one paged pass, the datacenter above an object in one
  pass up its parents) and the ``ArrayOfX``/propSet unwrappers
- ``devices``: a VM's devices; ReconfigVM_Task edits (edit, remove, add an
  existing disk, swap a disk, I/O allocation)
- ``disks``: VirtualDiskManager tasks (copy, move, delete, uuid), datastore
  paths on oslo.vmware's ``DatastorePath``, disk chains
- ``snapshots``: a VM's snapshot tree, remove, revert, rename (the driver's)
- ``snapshot_tree``: the operator commands' snapshot round trips (the disk
  files every snapshot froze, in one pass; rename, remove)
- ``usage``: which VMs read which disk files (one pass)
- ``backings``: backing VM names, Destroy_Task
- ``datastores``, ``storage_io``, ``marks``, ``clusters``: the operator
  commands' datastore details, browse, create/rename/remove, Storage I/O
  Control, the drain mark, clusters
- ``export``: ExportSnapshot and its HttpNfcLease, the disk downloads
- ``search``: the datastore-browser searches, one per datastore run
  concurrently over raw SOAP and parsed without suds (the takeover listing,
  ``disk search``, upload leftovers)
- ``changes``: the change feed of VMs, folders and datacenters the takeover
  listing cache watches
- ``mirror``: every VM, folder, datacenter and datastore as a whole pass
  reads them, kept current by a change feed that carries the changed
  values (the checks of each takeover manage)
- ``relocate``: RelocateVM_Task for ``datastore evacuate``
- ``group_snapshots``: the reads of consistent group snapshots (which
  instance VM holds a group's volumes)
- ``faults``: faults judged by class (``get_fault_class``), told in a line
- ``upstream``: every call of upstream Cinder's private VMware helpers
- ``volumeops``: upstream's VolumeOps whose creates survive lost answers
  (and whose ``get_dc`` is one round trip)
- ``inventory``, ``bulk_soap``, ``view_spec``: the incrementally updated
  inventory cache (WaitForUpdatesEx, parsed without suds)
"""
