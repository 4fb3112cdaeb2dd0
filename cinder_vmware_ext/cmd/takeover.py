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

import collections
import logging
import os

from cinder_vmware_ext.cmd import backend
from cinder_vmware_ext.cmd import parsing
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


def _plain(value):
    """A value every cliff formatter can write.

    suds answers strings as ``suds.sax.text.Text`` (a ``str`` subclass)
    that yaml's safe dumper refuses; every string becomes a plain ``str``.
    """
    if isinstance(value, str):
        return str(value)
    return value


def reference_text(reference):
    """``source-id=UUID`` or ``source-name=[ds] path``: the key shown."""
    return ', '.join('%s=%s' % (key, _plain(value))
                     for key, value in sorted(reference.items()))


def _row(disk, entry):
    return tuple(_plain(v) for v in (
        reference_text(entry['reference']), entry['size'],
        entry['safe_to_manage'], entry['reason_not_safe'] or '',
        disk.datastore, disk.path, disk.vm.name if disk.vm else '',
        disk.vm.power_state if disk.vm else '', disk.pool or '',
        disk.cinder_id or ''))


def grouped_by_reason(details):
    """[(reason, [keys])], most frequent reason first."""
    groups = collections.OrderedDict()
    for key, reason in details:
        groups.setdefault(reason or 'no reason given', []).append(key)
    return sorted(groups.items(), key=lambda item: -len(item[1]))


class Discover(parsing.Lister):
    """List every VMDK this backend could manage, with its safety verdict."""

    # openstack vmware ...: vCenter only, no Keystone/Cinder session.
    auth_required = False
    arguments = (parsing.flag('--safe-only',
                              'only disks that are safe to manage'),)

    def take_action(self, args):
        disks, _host, _vc = discover(self.app.options)
        disks = sorted(disks, key=lambda d: d.ds_path)
        rows = [_row(d, e) for d, e in
                zip(disks, safety.manageable_entries(disks))]
        if args.safe_only:
            rows = [r for r in rows if r[2]]
        return DISCOVER_COLUMNS, rows


class Export(parsing.Command):
    """Write the inventory (versioned JSON, see doc/takeover.md) to FILE."""

    auth_required = False
    arguments = (
        parsing.Arg('file', metavar='FILE',
                    help='inventory file to write (JSON)'),
        parsing.Arg('--volume-type',
                    help='volume type proposed for every disk'),
        parsing.flag('--no-uuids', "skip asking each loose disk's UUID"),
    )

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


# What import and release do with an inventory: the verb, the status of
# a disk done, the steps planned (from the document, Cinder's managed
# volumes and the keys asked for), the runner's work per step, and
# whether steps planned without Cinder could change once Cinder is asked
# (a dry run that could not asks no credentials).
Flow = collections.namedtuple('Flow', 'verb done steps work asks_cinder')
IMPORT = Flow('import', plan.MANAGED, plan.import_steps, runner.manage_work,
              lambda steps: any(s.action == plan.MANAGE for s in steps))
RELEASE = Flow('release', plan.RELEASED, plan.release_steps,
               runner.release_work, bool)


class _Apply(parsing.Command):
    """Shared by import and release: its ``flow`` says which."""

    @property
    def arguments(self):
        return (
            parsing.Arg('file', metavar='FILE', help='inventory file'),
            parsing.Arg('--results', metavar='RESULTS',
                        help='results file (JSON lines; default '
                             'FILE.%s.jsonl)' % self.flow.verb),
            parsing.Arg('--key', action='append', dest='keys',
                        metavar='KEY', help='only this disk (repeatable)'),
            parsing.concurrency(4, 'disks worked on'),
            parsing.DRY_RUN,
        )

    def api(self):
        from cinder_vmware_ext.cmd import cinder_api
        factory = getattr(self.app, 'cinder_api_factory', None)
        if factory is not None:
            return factory()
        return cinder_api.CinderApi(cinder_api.app_client(self.app))

    def take_action(self, args):
        document = _load(args.file)
        only = set(args.keys) if args.keys else None
        flow = self.flow
        results_path = args.results or '%s.%s.jsonl' % (args.file, flow.verb)
        try:
            steps = flow.steps(document, {}, only)
            # A dry run with nothing Cinder's state could change (no disk
            # to manage, or none selected to release) asks no credentials.
            if not (args.dry_run and not flow.asks_cinder(steps)):
                api = self.api()
                steps = flow.steps(document, api.managed(), only)
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
            steps, flow.work(api))
        return self.report(results)

    def report(self, results):
        summary = plan.summary(results)
        counts = summary['counts']
        out = self.app.stdout
        out.write(', '.join('%s: %d' % (k, counts.get(k, 0)) for k in
                            (self.flow.done, plan.SKIPPED, plan.FAILED))
                  + '\n')
        for status in (plan.SKIPPED, plan.FAILED):
            details = summary['details'].get(status, [])
            for reason, keys in grouped_by_reason(details):
                out.write('  %s (%d): %s\n' % (status, len(keys), reason))
                for key in keys:
                    out.write('    %s\n' % key)
        return 1 if counts.get(plan.FAILED) else 0


class Import(_Apply):
    """Manage every safe disk of an inventory through Cinder's manage API."""

    flow = IMPORT


class Release(_Apply):
    """Unmanage disks an import took over (the reverse of import)."""

    flow = RELEASE


COMMANDS = {'takeover discover': Discover, 'takeover export': Export,
            'takeover import': Import, 'takeover release': Release}
