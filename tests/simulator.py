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
"""Start and drive the project's vCenter simulator from tests.

``Simulator.start(topology)`` runs ``tools/vcsim/vcsim-up`` with a topology
(a dict following the schema in tools/vcsim/topologies/README.md), and the
returned object knows the simulator's address, certificate and datastore
directory.  ``stop()`` kills it by PID, which also removes its files.
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VCSIM_UP = os.path.join(REPO, 'tools', 'vcsim', 'vcsim-up')


class Simulator(object):
    """A running simulator started by vcsim-up."""

    def __init__(self, info, topology_file, admin_token=None):
        self.info = info
        self.admin_token = admin_token
        self.topology_file = topology_file
        self.url = info['url']
        self.host = info['host']
        self.port = info['port']
        self.username = info['username']
        self.password = info['password']
        self.ca_file = info['ca_file']
        self.pid = info['pid']
        self.datastore_root = info['datastore_root']
        self.admin_url = info['admin_url']
        self.log_file = info['log_file']

    @classmethod
    def start(cls, topology, workdir=None, env=None, admin_token=None):
        """Start a simulator.

        Start a simulator; ``env`` adds environment variables for
        vcsim-up (e.g. ``{'VCSIM_TRACE': '1'}``), ``admin_token`` (default
        $VCSIM_ADMIN_TOKEN) makes /admin/ require it, and admin() send it.
        """
        fd, path = tempfile.mkstemp(prefix='topology-', suffix='.json',
                                    dir=workdir)
        with os.fdopen(fd, 'w') as f:
            json.dump(topology, f)
        env = dict(os.environ, **(env or {}))
        # The WSDL is generated with oslo.vmware's schemas: use this venv.
        env.setdefault('VCSIM_PYTHON', sys.executable)
        if admin_token is not None:
            env['VCSIM_ADMIN_TOKEN'] = admin_token
        admin_token = env.get('VCSIM_ADMIN_TOKEN') or None
        out = subprocess.run([VCSIM_UP, path], capture_output=True,
                             text=True, timeout=900, env=env)
        if out.returncode != 0:
            raise RuntimeError('vcsim-up failed (%s): %s'
                               % (out.returncode, out.stderr[-4000:]))
        info = json.loads(out.stdout.strip().splitlines()[-1])
        return cls(info, path, admin_token=admin_token)

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _ in range(100):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)

    def session(self, verify=True, **kwargs):
        """An oslo.vmware session to the simulator.

        TLS is verified unless ``verify`` is false.
        """
        from oslo_vmware import api
        return api.VMwareAPISession(
            self.host, self.username, self.password,
            kwargs.pop('api_retry_count', 2),
            kwargs.pop('task_poll_interval', 0.05),
            port=self.port, cacert=self.ca_file if verify else None,
            insecure=not verify, **kwargs)

    def pbm_session(self, verify=True, **kwargs):
        """A session whose ``.pbm`` client talks to the simulator's /pbm.

        The PBM WSDL is oslo.vmware's own for the simulator's vCenter
        version, as upstream Cinder's do_setup chooses it.
        """
        from oslo_vmware import pbm
        from oslo_vmware import vim_util
        session = self.session(verify=verify, **kwargs)
        version = vim_util.get_vc_version(session)
        session.pbm_wsdl_loc_set(pbm.get_pbm_wsdl_location(version))
        return session

    def datastore_path(self, datastore, path=''):
        """Local directory (or file) behind ``[datastore] path``."""
        return os.path.join(self.datastore_root, datastore, path)

    def admin(self, path, payload=None, method=None):
        """Call the admin API (tools/vcsim/ADMIN.md).

        A 4xx/5xx answer raises urllib.error.HTTPError whose message holds
        the server's error and whose ``body`` is the decoded JSON answer.
        """
        data = None if payload is None else json.dumps(payload).encode()
        headers = {'Content-Type': 'application/json'}
        if self.admin_token:
            headers['Authorization'] = 'Bearer ' + self.admin_token
        req = urllib.request.Request(
            self.admin_url.rstrip('/') + '/' + path.lstrip('/'), data=data,
            method=method or ('POST' if data is not None else 'GET'),
            headers=headers)
        ctx = ssl.create_default_context(cafile=self.ca_file)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
                body = resp.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors='replace')
            try:
                e.body = json.loads(text)
            except ValueError:
                e.body = {'error': text}
            e.msg = '%s: %s' % (e.msg, text.strip())
            raise
        return json.loads(body) if body else None

    # Admin API helpers (tools/vcsim/ADMIN.md).

    def inject_fault(self, method, fault=None, **options):
        """Make ``method`` fail with vim25 fault ``fault``; returns the rule.

        options: count (default every call), message, moref, body_contains,
        skip, fields, task, drop_connection, applied, retry_fault,
        retry_task, end_session (tools/vcsim/ADMIN.md). E.g. "apply the
        call, lose its answer, refuse the retry":
        ``inject_fault('DeleteDatastoreFile_Task', applied=True,
        drop_connection=True, retry_fault='FileNotFound', count=1)``.
        """
        payload = dict(options, method=method)
        if fault is not None:
            payload['fault'] = fault
        return self.admin('faults', payload)

    def faults(self):
        """The injected fault rules, each with how many times it fired."""
        return self.admin('faults')['faults']

    def clear_faults(self):
        self.admin('faults', method='DELETE')
        self.admin('latency', method='DELETE')

    def add_latency(self, delay_ms, method='*', **options):
        return self.admin('latency',
                          dict(options, method=method, delay_ms=delay_ms))

    def invalidate_sessions(self):
        return self.admin('sessions/invalidate', {})['invalidated']

    def request_stats(self, reset=False):
        """Per-method SOAP statistics; reset=True also starts afresh."""
        return self.admin('stats', {} if reset else None)

    def request_counts(self):
        """{method: number of SOAP calls} since start or the last reset."""
        return {name: m['calls']
                for name, m in self.request_stats()['methods'].items()}

    def reset_stats(self):
        self.request_stats(reset=True)

    def set_datastore(self, name, **fields):
        """Change a datastore behind the driver's back (free_gb, ...)."""
        return self.admin('datastores/' + urllib.parse.quote(name, safe=''),
                          fields)

    def set_mount(self, datastore, host, **fields):
        return self.admin('datastores/%s/mounts/%s' % (
            urllib.parse.quote(datastore, safe=''),
            urllib.parse.quote(host, safe='')), fields)

    def set_host(self, name, **fields):
        return self.admin('hosts/' + urllib.parse.quote(name, safe=''),
                          fields)


def read_stream_optimized(data):
    """Decode a streamOptimized VMDK (bytes) -> (disk bytes, descriptor).

    See stream_optimized_grains.
    """
    capacity, grain_bytes, grains, desc = stream_optimized_grains(data)
    out = bytearray(capacity)
    for index, grain in grains.items():
        at = index * grain_bytes
        out[at:at + grain_bytes] = grain[:capacity - at]
    return bytes(out), desc


def stream_optimized_grains(data):
    """Decode a streamOptimized VMDK.

    Decode a streamOptimized VMDK (bytes) -> (capacity in bytes, grain
    size in bytes, {grain index: inflated grain}, descriptor); grains not
    listed read as zeros.

    Follows VMware's Virtual Disk Format 5.0 as a reader must: the header's
    grain directory is at the end (GD_AT_END), so the footer (found from
    the end: footer marker, footer, end-of-stream marker) gives it; each
    grain table entry points at a grain marker {lba, size} followed by a
    zlib stream that inflates to exactly one grain. Raises ValueError on
    anything malformed.
    """
    import struct
    import zlib
    sector = 512

    def header(off):
        (magic, version, flags, capacity, grain, desc_off, desc_size,
         gtes, _rgd, gd_off, overhead) = struct.unpack_from(
            '<IIIQQQQIQQQ', data, off)
        if magic != 0x564d444b:
            raise ValueError('bad magic at %d' % off)
        compress = struct.unpack_from('<H', data, off + 77)[0]
        return dict(version=version, flags=flags, capacity=capacity,
                    grain=grain, desc_off=desc_off, desc_size=desc_size,
                    gtes=gtes, gd_off=gd_off, overhead=overhead,
                    compress=compress)

    def marker(off):
        val, size, kind = struct.unpack_from('<QII', data, off)
        return val, size, kind

    if len(data) % sector or len(data) < 4 * sector:
        raise ValueError('size %d is not whole sectors' % len(data))
    head = header(0)
    if head['gd_off'] != 0xffffffffffffffff:
        raise ValueError('header gdOffset is not GD_AT_END')
    if head['flags'] & 0x30000 != 0x30000 or head['compress'] != 1:
        raise ValueError('not compressed with markers: %r' % head)
    if marker(len(data) - sector) != (0, 0, 0):
        raise ValueError('no end-of-stream marker')
    if marker(len(data) - 3 * sector)[1:] != (0, 3):
        raise ValueError('no footer marker')
    foot = header(len(data) - 2 * sector)
    desc = data[head['desc_off'] * sector:
                (head['desc_off'] + head['desc_size']) * sector]
    desc = desc.rstrip(b'\0').decode()
    grain_bytes = foot['grain'] * sector
    grains = {}
    n_grains = -(-foot['capacity'] // foot['grain'])
    n_gts = -(-n_grains // foot['gtes'])
    if marker((foot['gd_off'] - 1) * sector)[2] != 2:
        raise ValueError('no GD marker before the grain directory')
    gd = struct.unpack_from('<%dI' % n_gts, data, foot['gd_off'] * sector)
    for t, gt_off in enumerate(gd):
        if not gt_off:
            continue
        if marker((gt_off - 1) * sector)[2] != 1:
            raise ValueError('no GT marker before grain table %d' % t)
        gt = struct.unpack_from('<%dI' % foot['gtes'], data, gt_off * sector)
        for e, grain_off in enumerate(gt):
            if not grain_off:
                continue
            index = t * foot['gtes'] + e
            lba, size = struct.unpack_from('<QI', data, grain_off * sector)
            if lba != index * foot['grain']:
                raise ValueError('grain %d marker has lba %d' % (index, lba))
            start = grain_off * sector + 12
            grain = zlib.decompress(data[start:start + size])
            if len(grain) != grain_bytes:
                raise ValueError('grain %d inflates to %d bytes'
                                 % (index, len(grain)))
            grains[index] = grain
    return foot['capacity'] * sector, grain_bytes, grains, desc
