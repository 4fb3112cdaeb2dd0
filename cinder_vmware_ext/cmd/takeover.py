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
"""``cinder-vmware takeover``: discover, export, import and release disks.

discover and export read vCenter (through the driver's backend section);
import and release go through Cinder's manage API, so Cinder's database,
quotas and scheduler stay the authority.
"""

import logging
import os

from cliff import command
from cliff import lister

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.cmd import runner
from cinder_vmware_ext.takeover import discovery
from cinder_vmware_ext.takeover import export_format
from cinder_vmware_ext.takeover import plan
from cinder_vmware_ext.takeover import safety

LOG = logging.getLogger(__name__)

DISCOVER_COLUMNS = ('Reference', 'Size (GiB)', 'Safe', 'Reason not safe',
                    'Datastore', 'Path', 'VM', 'Power state', 'Pool',
                    'Cinder ID')


def discover(app_options, with_uuids=False):
    """(disks, host@backend, vCenter) as the driver's backend sees them."""
    section, backend_host = backend.load(
        app_options.config_file, app_options.backend, app_options.host,
        getattr(app_options, 'trace_soap', False))
    session = backend.session(section)
    inventory, pools = backend.pool_service(section, session).current()
    scope = discovery.scope_of(inventory, pools, backend_host)
    result = discovery.discover(session, scope, with_uuids=with_uuids)
    for name, message in result.errors.items():
        LOG.warning('datastore %s not searched: %s', name, message)
    LOG.info('%d disks: properties %.2fs, datastore search %.2fs',
             len(result.disks), result.seconds.get('properties', 0),
             result.seconds.get('search', 0))
    return result.disks, backend_host, section.vmware_host_ip


def _row(disk, entry):
    return (list(entry['reference'].values())[0], entry['size'],
            entry['safe_to_manage'], entry['reason_not_safe'] or '',
            disk.datastore, disk.path, disk.vm.name if disk.vm else '',
            disk.vm.power_state if disk.vm else '', disk.pool or '',
            disk.cinder_id or '')


class Discover(lister.Lister):
    """List every VMDK this backend could manage, with its safety verdict."""

    # openstack vmware ...: vCenter only, no Keystone/Cinder session.
    auth_required = False

    def get_parser(self, prog_name):
        parser = super(Discover, self).get_parser(prog_name)
        parser.add_argument('--safe-only', action='store_true',
                            help='only disks that are safe to manage')
        return parser

    def take_action(self, args):
        disks, _host, _vc = discover(self.app.options)
        disks = sorted(disks, key=lambda d: d.ds_path)
        rows = [_row(d, e) for d, e in
                zip(disks, safety.manageable_entries(disks))]
        if args.safe_only:
            rows = [r for r in rows if r[2]]
        return DISCOVER_COLUMNS, rows


class Export(command.Command):
    """Write the inventory (versioned JSON, see doc/takeover.md) to FILE."""

    auth_required = False

    def get_parser(self, prog_name):
        parser = super(Export, self).get_parser(prog_name)
        parser.add_argument('file', metavar='FILE',
                            help='inventory file to write (JSON)')
        parser.add_argument('--volume-type',
                            help='volume type proposed for every disk')
        parser.add_argument('--no-uuids', action='store_true',
                            help="skip asking each loose disk's UUID")
        return parser

    def take_action(self, args):
        disks, backend_host, vcenter = discover(
            self.app.options, with_uuids=not args.no_uuids)
        document = export_format.build(disks, backend_host, vcenter,
                                       args.volume_type)
        tmp = args.file + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(export_format.dumps(document))
        os.replace(tmp, args.file)
        safe = sum(1 for d in document['disks'] if d['safe_to_manage'])
        self.app.stdout.write('%d disks written to %s (%d safe to manage)\n'
                              % (len(document['disks']), args.file, safe))


def _load(path):
    try:
        with open(path, encoding='utf-8') as f:
            return export_format.loads(f.read())
    except (OSError, export_format.InvalidInventory) as err:
        raise SystemExit('%s: %s' % (path, err))


def _previous_results(path):
    if not os.path.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return plan.read_results(f)


class _Apply(command.Command):
    """Shared by import and release."""

    def get_parser(self, prog_name):
        parser = super(_Apply, self).get_parser(prog_name)
        parser.add_argument('file', metavar='FILE', help='inventory file')
        parser.add_argument('--results', metavar='RESULTS',
                            help='results file (JSON lines; default '
                                 'FILE.%s.jsonl)' % self.verb)
        parser.add_argument('--key', action='append', dest='keys',
                            metavar='KEY',
                            help='only this disk (repeatable)')
        parser.add_argument('--concurrency', type=int, default=4,
                            metavar='N',
                            help='disks worked on at once (default 4)')
        parser.add_argument('--dry-run', action='store_true',
                            help='say what would be done; change nothing')
        return parser

    def api(self):
        from cinder_vmware_ext.cmd import cinder_api
        factory = getattr(self.app, 'cinder_api_factory', None)
        if factory is not None:
            return factory()
        manager = getattr(self.app, 'client_manager', None)
        if manager is not None:
            # openstack vmware ...: openstackclient's session.
            return cinder_api.CinderApi(manager.vmware.cinder)
        return cinder_api.CinderApi(cinder_api.client(self.app.options))

    def take_action(self, args):
        document = _load(args.file)
        api = self.api()
        results_path = args.results or '%s.%s.jsonl' % (args.file, self.verb)
        try:
            steps = self.steps(document, api.managed(),
                               set(args.keys) if args.keys else None)
        except plan.DuplicateDisk as err:
            raise SystemExit('%s: %s' % (args.file, err))
        if args.dry_run:
            for step in steps:
                self.app.stdout.write('%s %s%s\n' % (
                    step.action, step.key,
                    ' (%s)' % step.reason if step.reason else ''))
            return 0
        previous = _previous_results(results_path)
        if previous:
            LOG.info('continuing after %d earlier results in %s',
                     len(previous), results_path)
        results = runner.Runner(api, results_path, args.concurrency).run(
            steps, self.work(api))
        return self.report(results)

    def report(self, results):
        summary = plan.summary(results)
        counts = summary['counts']
        out = self.app.stdout
        out.write(', '.join('%s: %d' % (k, counts.get(k, 0)) for k in
                            (self.done_status, plan.SKIPPED, plan.FAILED))
                  + '\n')
        for status in (plan.SKIPPED, plan.FAILED):
            for key, reason in summary['details'].get(status, []):
                out.write('  %s %s: %s\n' % (status, key, reason))
        return 1 if counts.get(plan.FAILED) else 0


class Import(_Apply):
    """Manage every safe disk of an inventory through Cinder's manage API."""

    verb = 'import'
    done_status = plan.MANAGED

    def steps(self, document, managed, only):
        return plan.import_steps(document, managed, only)

    def work(self, api):
        return runner.manage_work(api)


class Release(_Apply):
    """Unmanage disks an import took over (the reverse of import)."""

    verb = 'release'
    done_status = plan.RELEASED

    def steps(self, document, managed, only):
        return plan.release_steps(document, managed, only)

    def work(self, api):
        return runner.release_work(api)


COMMANDS = {'takeover discover': Discover, 'takeover export': Export,
            'takeover import': Import, 'takeover release': Release}
