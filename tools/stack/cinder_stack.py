#!/usr/bin/env python3
"""A real Cinder control plane on this machine, for tests and the demo.

cinder-api (noauth), cinder-scheduler (with DriverFilter) and cinder-volume
with one backend using this project's driver against a vCenter (the
simulator), a SQLite database made by ``cinder-manage db sync`` and a
private RabbitMQ broker on loopback.  Every process runs in its own process
group and is stopped by PID; logs stay under ``<workdir>/logs``.

From Python::

    stack = CinderStack(workdir, vcenter_info, ['gold', 'silver']).start()
    client = stack.client()          # python-cinderclient, API 3.x
    ...
    stack.stop()

From the shell (``vcenter.json`` is the line vcsim-up printed)::

    cinder_stack.py start WORKDIR vcenter.json gold silver
    eval "$(cinder_stack.py env WORKDIR)"; cinder service-list
    cinder_stack.py stop WORKDIR
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import broker  # noqa: E402
import cinder_conf  # noqa: E402
import procs  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# noauth takes any project id matching cinder's project_id_regex (hex).
PROJECT_ID = 'e2e0000000000000000000000000cafe'
USER_ID = 'admin'
API_VERSION = '3.71'
SERVICE_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'service_main.py')
SERVICES = ('cinder-api', 'cinder-scheduler', 'cinder-volume')
STATE_FILE = 'stack.json'


class CinderStack(object):
    def __init__(self, workdir, vcenter, clusters, backend_options=None,
                 python=sys.executable, host='cinder-stack'):
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
        self.services = {}
        self.timings = {}

    # -- start / stop -----------------------------------------------------

    def start(self, timeout=180):
        """Start everything; on any failure stop what started and raise
        StackError naming the part that failed, with its log's tail."""
        for sub in ('logs', 'state', 'locks'):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        try:
            self._timed('broker', self.broker.start)
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
        for name in reversed(SERVICES):
            if name in self.services:
                self.services[name].stop()
        self.broker.stop()

    def processes(self):
        return self.broker.processes() + list(self.services.values())

    def _timed(self, what, step):
        started = time.monotonic()
        result = step()
        self.timings[what] = round(time.monotonic() - started, 1)
        return result

    def _write_conf(self):
        text = cinder_conf.render(
            self.workdir, self.api_port, self.broker.transport_url,
            self.vcenter, self.clusters, host=self.host,
            backend_options=self.backend_options)
        cinder_conf.write(self.conf_file, text)

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
        self.services[name] = procs.Process(
            # oslo.log names the log after the outermost script unless told.
            name, [self._bin('python'), SERVICE_MAIN, name,
                   '--config-file', self.conf_file,
                   '--log-file', name + '.log'],
            console, env=self._environment()).start()

    def _bin(self, name):
        return os.path.join(self.bin_dir, name)

    # -- readiness ----------------------------------------------------------

    def _start_services(self, timeout):
        client = self.client()
        steps = {
            'cinder-api': ('cinder-api on port %d' % self.api_port,
                           self._api_answers),
            'cinder-scheduler': ('cinder-scheduler service up',
                                 lambda: self._service_up(
                                     client, 'cinder-scheduler')),
            'cinder-volume': ('cinder-volume service up',
                              lambda: self._service_up(
                                  client, 'cinder-volume')),
        }
        for name in SERVICES:
            self._start_service(name)
            self._save_state()
            what, ready = steps[name]
            procs.wait_for(what, ready, timeout, self._watched())
        self.wait_ready(timeout)

    def _watched(self):
        return [(p, self._log_of(p.name)) for p in self.services.values()]

    def wait_ready(self, timeout):
        """Wait for the backend's pools at the scheduler (the volume
        service's first stats report)."""
        client = self.client()
        watched = self._watched()
        return procs.wait_for(
            'pools of backend %s at the scheduler' % cinder_conf.BACKEND,
            lambda: self._driver_ok() and client.pools.list(detailed=True),
            timeout, watched)

    def _driver_ok(self):
        """False until pools may come; raises when the driver failed (the
        volume service then stays up without ever reporting pools)."""
        log = os.path.join(self.log_dir, 'cinder-volume.log')
        with open(log, errors='replace') as f:
            text = f.read()
        marker = 'Failed to initialize driver'
        if marker in text:
            start = text.index(marker)
            raise procs.StackError(
                'cinder-volume: the driver failed to initialise; from %s:\n%s'
                % (log, text[start:start + 3000]))
        return True

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
    def _service_up(client, binary):
        return any(s.state == 'up' for s in client.services.list(
            binary=binary))

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
    """Stop a stack started by ``cinder_stack.py start`` from its state
    file: services first, then the broker."""
    with open(os.path.join(workdir, STATE_FILE)) as f:
        pids = json.load(f)['pids']
    order = list(reversed(SERVICES)) + ['rabbitmq-server', 'epmd']
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
    for name in ('stop', 'env'):
        sub.add_parser(name).add_argument('workdir')
    args = parser.parse_args(argv)

    if args.command == 'start':
        with open(args.vcenter_json) as f:
            vcenter = json.loads(f.read().strip().splitlines()[-1])
        stack = CinderStack(args.workdir, vcenter, args.clusters).start()
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
