#!/usr/bin/env python3
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
"""Print a large simulator topology (JSON) for benchmarks.

Every count is per datacenter. Hosts are dealt round-robin over the
clusters (host i goes to cluster i % clusters). Datastores are mounted by
--mount:

  all      every datastore on every host of its datacenter (default);
  cluster  datastore i on the hosts of cluster i % clusters, and every
           tenth datastore (i % 10 == 9) on all hosts of the datacenter.

Datastore i has type VMFS, NFS, NFS41 or vsan (in that rotation, vsan only
with --mount cluster, since a vSAN datastore belongs to one cluster), a
capacity of 512 GiB to 16 TiB and 5-95 % free, drawn from --seed. With
--vms N, VM j of a datacenter has one thin 1-8 GiB disk on a datastore its
host mounts and is powered on when j is even. With --files N, loose thin
1 GiB VMDKs are spread over the datastores. Names: dc<D>, dc<D>-c<C>,
dc<D>-esx<H>, dc<D>-ds<I>, dc<D>-vm<J>.

Example: generate.py --datacenters 2 --clusters 8 --hosts 32 --datastores 500
"""

import argparse
import json
import random
import sys

TYPES = ['VMFS', 'NFS', 'NFS41', 'vsan']


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--datacenters', type=int, default=1)
    p.add_argument('--clusters', type=int, default=2,
                   help='clusters per datacenter (at least 1)')
    p.add_argument('--hosts', type=int, default=8,
                   help='hosts per datacenter, dealt over its clusters')
    p.add_argument('--datastores', type=int, default=20,
                   help='datastores per datacenter')
    p.add_argument('--vms', type=int, default=0, help='VMs per datacenter')
    p.add_argument('--files', type=int, default=0,
                   help='loose VMDK files per datacenter')
    p.add_argument('--mount', choices=['all', 'cluster'], default='all')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    if args.clusters < 1 or args.hosts < 1 or args.datacenters < 1:
        p.error('--datacenters, --clusters and --hosts must be at least 1')
    if min(args.datastores, args.vms, args.files) < 0:
        p.error('counts must not be negative')
    if args.vms and not args.datastores:
        p.error('--vms needs datastores')
    return args


def datastore(rng, name, kind, hosts):
    capacity = rng.choice([512, 1024, 2048, 4096, 8192, 16384])
    return {'name': name, 'type': kind, 'capacity_gb': capacity,
            'free_gb': round(capacity * rng.uniform(0.05, 0.95), 2),
            'mounts': [{'host': h} for h in hosts]}


def datacenter(rng, args, d):
    dc = 'dc%d' % d
    clusters = [{'name': '%s-c%d' % (dc, c), 'hosts': []}
                for c in range(args.clusters)]
    for h in range(args.hosts):
        clusters[h % args.clusters]['hosts'].append(
            {'name': '%s-esx%d' % (dc, h)})
    all_hosts = [h['name'] for c in clusters for h in c['hosts']]
    datastores = []
    for i in range(args.datastores):
        shared = args.mount == 'all' or i % 10 == 9
        hosts = all_hosts if shared else [
            h['name'] for h in clusters[i % args.clusters]['hosts']]
        kinds = TYPES if not shared else TYPES[:3]
        datastores.append(datastore(rng, '%s-ds%d' % (dc, i),
                                    kinds[i % len(kinds)], hosts))
    usable = [ds for ds in datastores if ds['mounts']]
    vms = []
    for j in range(args.vms):
        ds = usable[j % len(usable)]
        host = ds['mounts'][j % len(ds['mounts'])]['host']
        name = '%s-vm%d' % (dc, j)
        disk = {'datastore': ds['name'], 'path': '%s/%s.vmdk' % (name, name),
                'capacity_gb': rng.randint(1, 8), 'thin': True}
        vms.append({'name': name, 'host': host,
                    'power_state': 'poweredOn' if j % 2 == 0 else 'poweredOff',
                    'disks': [disk]})
    files = [{'datastore': datastores[k % len(datastores)]['name'],
              'path': 'loose/volume-%d.vmdk' % k, 'capacity_gb': 1,
              'thin': True} for k in range(args.files if datastores else 0)]
    return {'name': dc, 'clusters': clusters, 'datastores': datastores,
            'vms': vms, 'files': files}


def main(argv=None):
    args = parse_args(argv)
    rng = random.Random(args.seed)
    topology = {'datacenters': [datacenter(rng, args, d)
                                for d in range(args.datacenters)]}
    json.dump(topology, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
