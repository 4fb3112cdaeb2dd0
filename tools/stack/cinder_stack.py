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
"""A real Cinder control plane on this machine, for tests and the demo.

cinder-api (noauth), cinder-scheduler (with DriverFilter) and cinder-volume
with one backend using this project's driver against a vCenter (the
simulator), a SQLite database made by ``cinder-manage db sync`` and a
private RabbitMQ broker on loopback.  Every process runs in its own process
group and is stopped by PID; logs stay under ``<workdir>/logs``.

A clustered stack (``volume_services=2``) runs several cinder-volume
services, each with its own ``host`` (``<host>-1``, ``<host>-2``, ...) and
the same ``cluster``, with ``[coordination]`` on a private etcd and Cinder's
database on a private MariaDB (SQLite takes one writer at a time).  Each
service is a process of its own, by name in ``stack.services``
(``cinder-volume-1``, ...), so that a test can SIGKILL one
(``stack.kill('cinder-volume-2')``).

From Python::

    stack = CinderStack(workdir, vcenter_info, ['gold', 'silver']).start()
    client = stack.client()          # python-cinderclient, API 3.x
    ...
    stack.stop()

From the shell (``vcenter.json`` is the line vcsim-up printed)::

    python -m tools.stack.cinder_stack start WORKDIR vcenter.json gold silver
    eval "$(python -m tools.stack.cinder_stack env WORKDIR)"
    python -m tools.stack.cinder_stack stop WORKDIR

(from the repository's root, with its .venv's python).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

from tools.stack import broker
from tools.stack import cinder_conf
from tools.stack import etcd
from tools.stack import mariadb
from tools.stack import procs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# noauth takes any project id matching cinder's project_id_regex (hex).
PROJECT_ID = 'e2e0000000000000000000000000cafe'
USER_ID = 'admin'
API_VERSION = '3.71'
SERVICE_LIST_VERSION = '3.48'
SERVICE_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'service_main.py')
SERVICES = ('cinder-api', 'cinder-scheduler', 'cinder-volume')
STATE_FILE = 'stack.json'
CLUSTER = 'cinder-cluster'
# What cinder-volume logs once its driver is set up and it takes requests.
DRIVER_READY = 'Driver post RPC initialization completed successfully'


class CinderStack(object):
    def __init__(self, workdir, vcenter, clusters, backend_options=None,
                 python=sys.executable, host='cinder-stack',
                 volume_services=1, cluster=None, coordination=None,
                 database=None, volume_defaults=None, conf_overrides=None):
        """Configure the stack's services, coordination and database.

        volume_services: how many cinder-volume services; more than one
        makes a cluster (``cluster`` defaults to CLUSTER) on etcd and
        MariaDB unless ``coordination`` / ``database`` say otherwise
        ('etcd' or None, 'mariadb' or 'sqlite').  volume_defaults: more
        [DEFAULT] options of the cinder-volume services only.
        conf_overrides: {section: {name: value}} for cinder.conf.
        """
        self.workdir = os.path.abspath(workdir)
        self.log_dir = os.path.join(self.workdir, 'logs')
        self.vcenter = vcenter
        self.clusters = list(clusters)
        self.backend_options = backend_options or {}
        self.bin_dir = os.path.dirname(python)
        self.host = host
        self.conf_file = os.path.join(self.workdir, 'cinder.conf')
        self.api_port = None
        self.broker = broker.Broker(self.workdir, self.log_dir)
        clustered = volume_services > 1 or cluster is not None
        self.cluster = (cluster or CLUSTER) if clustered else None
        coordination = coordination or ('etcd' if clustered else None)
        database = database or ('mariadb' if clustered else 'sqlite')
        self.etcd = (etcd.Etcd(self.workdir, self.log_dir)
                     if coordination == 'etcd' else None)
        self.mariadb = (mariadb.MariaDB(self.workdir, self.log_dir)
                        if database == 'mariadb' else None)
        # name -> host of each cinder-volume service.
        self.volume_hosts = (
            {'cinder-volume': host} if volume_services == 1 and
            not clustered else
            {'cinder-volume-%d' % n: '%s-%d' % (host, n)
             for n in range(1, volume_services + 1)})
        self.volume_defaults = volume_defaults or {}
        self.conf_overrides = conf_overrides or {}
        self.services = {}
        self.timings = {}

    # -- start / stop -----------------------------------------------------

    def start(self, timeout=180):
        """Start everything, or stop what started and raise.

        Start everything; on any failure stop what started and raise
        StackError naming the part that failed, with its log's tail.
        """
        for sub in ('logs', 'state', 'locks'):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        try:
            self._timed('broker', self.broker.start)
            for part in (self.etcd, self.mariadb):
                if part is not None:
                    self._timed(type(part).__name__.lower(), part.start)
            self.api_port = procs.free_port()
            self._write_conf()
            self._timed('db_sync', self._db_sync)
            # One after the other: services starting together race on
            # SQLite's lock (their first write fails with "database is
            # locked" whatever the busy timeout).
            self._timed('ready', lambda: self._start_services(timeout))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for name in reversed(list(self.services)):
            self.services[name].stop()
        for part in (self.mariadb, self.etcd):
            if part is not None:
                part.stop()
        self.broker.stop()

    def processes(self):
        parts = [p for p in (self.etcd, self.mariadb) if p is not None]
        return (self.broker.processes() +
                [proc for part in parts for proc in part.processes()] +
                list(self.services.values()))

    def kill(self, name):
        """Kill one service as a crash would end it.

        SIGKILL one service (by its PID's process group), as a crash
        would end it: no shutdown, no last heartbeat; returns its PID.
        """
        proc = self.services[name]
        procs.kill_group(proc.pid)
        return proc.pid

    @property
    def clustered(self):
        return self.cluster is not None

    def volume_backend(self, name=None):
        """Return the ``host@backend`` of a cinder-volume service.

        The ``host@backend`` of a cinder-volume service (the first by
        default), as service-list and manageable-list name it.
        """
        name = name or sorted(self.volume_hosts)[0]
        return '%s@%s' % (self.volume_hosts[name], cinder_conf.BACKEND)

    def _timed(self, what, step):
        started = time.monotonic()
        result = step()
        self.timings[what] = round(time.monotonic() - started, 1)
        return result

    def _write_conf(self):
        text = cinder_conf.render(
            self.workdir, self.api_port, self.broker.transport_url,
            self.vcenter, self.clusters, host=self.host,
            backend_options=self.backend_options,
            database_url=self.mariadb.url('cinder') if self.mariadb else None,
            coordination_url=self.etcd.backend_url if self.etcd else None,
            overrides=self.conf_overrides)
        cinder_conf.write(self.conf_file, text)
        # Each cinder-volume service reads cinder.conf and then its own
        # file (later files win): its host, the cluster.
        for name, host in self.volume_hosts.items():
            items = [('host', host)] + (
                [('cluster', self.cluster)] if self.cluster else [])
            items += sorted(self.volume_defaults.items())
            with open(self._service_conf(name), 'w') as f:
                lines = ['%s = %s' % item for item in items]
                f.write('\n'.join(['[DEFAULT]'] + lines) + '\n')

    def _service_conf(self, name):
        return os.path.join(self.workdir, '%s.conf' % name)

    def _environment(self):
        env = dict(os.environ)
        # The services load the driver from this checkout.
        env['PYTHONPATH'] = os.pathsep.join(
            [REPO] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
        env.setdefault('PYTHONWARNINGS', 'ignore')
        return env

    def _db_sync(self):
        log = os.path.join(self.log_dir, 'cinder-manage.log')
        with open(log, 'ab') as out:
            done = subprocess.run(
                [self._bin('cinder-manage'), '--config-file', self.conf_file,
                 'db', 'sync'], stdout=out, stderr=subprocess.STDOUT,
                env=self._environment(), timeout=300)
        if done.returncode != 0:
            raise procs.StackError('cinder-manage db sync failed (%d):\n%s'
                                   % (done.returncode, procs.tail(log)))
        if self.mariadb is not None:
            return
        # Write-ahead logging (kept in the file): readers no longer block
        # the writer, so three services and the API rarely meet SQLite's
        # "database is locked".
        import sqlite3
        database = os.path.join(self.workdir, 'cinder.sqlite')
        with sqlite3.connect(database) as db:
            db.execute('PRAGMA journal_mode=WAL')

    def _start_service(self, name):
        # The service's own log is log_dir/<name>.log (log_dir in
        # cinder.conf); what it prints before logging starts goes here.
        console = os.path.join(self.log_dir, name + '.console.log')
        script, conf_files = name, ['--config-file', self.conf_file]
        if name in self.volume_hosts:
            script = 'cinder-volume'
            conf_files += ['--config-file', self._service_conf(name)]
        self.services[name] = procs.Process(
            # oslo.log names the log after the outermost script unless told.
            name, [self._bin('python'), SERVICE_MAIN, script] + conf_files +
            ['--log-file', name + '.log'],
            console, env=self._environment()).start()

    def _bin(self, name):
        return os.path.join(self.bin_dir, name)

    # -- readiness ----------------------------------------------------------

    def _start_services(self, timeout):
        # From API 3.49 the service list asks the scheduler for its pools,
        # which it answers only once a volume service reported (or after
        # scheduler_driver_init_wait_time, 60 s): ask the older way.
        client = self.client(SERVICE_LIST_VERSION)
        volume_hosts = ['%s@%s' % (host, cinder_conf.BACKEND)
                        for host in self.volume_hosts.values()]
        steps = [
            (['cinder-api'], 'cinder-api on port %d' % self.api_port,
             self._api_answers),
            (['cinder-scheduler'], 'cinder-scheduler service up',
             lambda: self._service_up(client, 'cinder-scheduler')),
            # Several volume services start together on MariaDB; on SQLite
            # there is only one.
            (sorted(self.volume_hosts),
             'cinder-volume services %s up' % ', '.join(volume_hosts),
             lambda: self._service_up(client, 'cinder-volume',
                                      volume_hosts)),
        ]
        for names, what, ready in steps:
            for name in names:
                self._start_service(name)
            self._save_state()
            procs.wait_for(what, ready, timeout, self._watched())
        self.wait_ready(timeout)

    def _watched(self):
        return [(p, self._log_of(p.name)) for p in self.services.values()]

    def wait_ready(self, timeout):
        """Wait for the backend's pools at the scheduler.

        Wait for the backend's pools at the scheduler (the volume
        service's first stats report).
        """
        client = self.client()
        watched = self._watched()
        return procs.wait_for(
            'pools of backend %s at the scheduler' % cinder_conf.BACKEND,
            lambda: self._driver_ok() and client.pools.list(detailed=True),
            timeout, watched)

    def _driver_ok(self):
        """Tell whether every volume service's driver is initialised.

        False until every volume service's driver is initialised;
        raises when one failed (the volume service then stays up without
        ever reporting pools).
        """
        ready = True
        for name in self.volume_hosts:
            log = os.path.join(self.log_dir, name + '.log')
            with open(log, errors='replace') as f:
                text = f.read()
            marker = 'Failed to initialize driver'
            if marker in text:
                start = text.index(marker)
                raise procs.StackError(
                    '%s: the driver failed to initialise; from %s:\n%s'
                    % (name, log, text[start:start + 3000]))
            ready = ready and DRIVER_READY in text
        return ready

    def _log_of(self, name):
        log = os.path.join(self.log_dir, name + '.log')
        return log if os.path.exists(log) else os.path.join(
            self.log_dir, name + '.console.log')

    def _api_answers(self):
        try:
            urllib.request.urlopen(self.endpoint, timeout=2)
        except urllib.error.HTTPError as err:
            return err.code < 500
        return True

    @staticmethod
    def _service_up(client, binary, hosts=None):
        up = {s.host for s in client.services.list(binary=binary)
              if s.state == 'up'}
        return set(hosts) <= up if hosts else bool(up)

    # -- clients --------------------------------------------------------------

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d/v3' % self.api_port

    def client(self, version=API_VERSION):
        """A python-cinderclient v3 client (noauth, admin)."""
        from cinderclient import client as cinder_client
        from cinderclient.contrib import noauth
        from keystoneauth1 import session
        auth = noauth.CinderNoAuthPlugin(USER_ID, PROJECT_ID,
                                         endpoint=self.endpoint)
        return cinder_client.Client(version, session=session.Session(
            auth=auth), retries=0)

    def cli_environment(self):
        """Variables that point the ``cinder`` CLI at this stack."""
        return cli_environment(self.endpoint)

    def cli(self, *args, check=True):
        """Run the ``cinder`` CLI against the stack; returns its stdout."""
        env = dict(os.environ, **self.cli_environment())
        done = subprocess.run([self._bin('cinder')] + list(args),
                              capture_output=True, text=True, env=env,
                              timeout=120)
        if check and done.returncode != 0:
            raise procs.StackError('cinder %s failed (%d): %s' % (
                ' '.join(args), done.returncode, done.stderr.strip()))
        return done.stdout

    # -- state for the shell commands ----------------------------------------

    def _save_state(self):
        state = {
            'endpoint': self.endpoint,
            'conf_file': self.conf_file,
            'log_dir': self.log_dir,
            'cluster': self.cluster,
            'volume_hosts': self.volume_hosts,
            'pids': {p.name: p.pid for p in self.processes()},
        }
        with open(os.path.join(self.workdir, STATE_FILE), 'w') as f:
            json.dump(state, f, indent=1)


def cli_environment(endpoint):
    return {
        'OS_AUTH_TYPE': 'noauth',
        'OS_USER_ID': USER_ID,
        'OS_PROJECT_ID': PROJECT_ID,
        'CINDER_ENDPOINT': endpoint,
        'OS_VOLUME_API_VERSION': API_VERSION,
    }


def export_lines(endpoint):
    return ''.join('export %s=%s\n' % item
                   for item in sorted(cli_environment(endpoint).items()))


def stop_by_state(workdir):
    """Stop a started stack from its state file.

    Stop a stack started by ``cinder_stack.py start`` from its state
    file: services first, then the broker.
    """
    with open(os.path.join(workdir, STATE_FILE)) as f:
        pids = json.load(f)['pids']
    volumes = sorted(n for n in pids if n.startswith('cinder-volume'))
    order = (volumes + ['cinder-scheduler', 'cinder-api', 'mariadbd', 'etcd',
                        'rabbitmq-server', 'epmd'])
    for name in order:
        if name in pids:
            procs.stop_group(pids[name])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    start = sub.add_parser('start', help='start the stack, print its state')
    start.add_argument('workdir')
    start.add_argument('vcenter_json',
                       help='file with the JSON line vcsim-up printed')
    start.add_argument('clusters', nargs='+')
    start.add_argument('--volume-services', type=int, default=1,
                       help='cinder-volume services; more than one makes a '
                            'Cinder cluster on etcd and MariaDB')
    for name in ('stop', 'env'):
        sub.add_parser(name).add_argument('workdir')
    args = parser.parse_args(argv)

    if args.command == 'start':
        with open(args.vcenter_json) as f:
            vcenter = json.loads(f.read().strip().splitlines()[-1])
        stack = CinderStack(args.workdir, vcenter, args.clusters,
                            volume_services=args.volume_services).start()
        print(json.dumps({'endpoint': stack.endpoint,
                          'pids': {p.name: p.pid for p in stack.processes()},
                          'timings': stack.timings}))
    elif args.command == 'stop':
        stop_by_state(args.workdir)
    else:
        with open(os.path.join(args.workdir, STATE_FILE)) as f:
            sys.stdout.write(export_lines(json.load(f)['endpoint']))


if __name__ == '__main__':
    main()
