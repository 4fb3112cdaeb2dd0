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
"""The real ``cinder-vmware`` command (a subprocess) against the simulator:
what it prints at each verbosity, how it fails, and which backend settings
it sees.

No secret in any output: at -v, -vv, -vvv, --debug and with --trace-soap
neither the vCenter password nor any session key the simulator handed out
(its admin API lists them; a simulated session's key is also its cookie)
appears on stdout, stderr or in the --log-file.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from tests import simulator as vcsim

with open(os.path.join(vcsim.REPO, 'tools', 'vcsim', 'topologies',
                       'sample.json')) as _f:
    TOPOLOGY = json.load(_f)

CLI = os.path.join(os.path.dirname(sys.executable), 'cinder-vmware')
VERBOSITIES = (['-v'], ['-vv'], ['-vvv'], ['--debug'],
               ['-vvv', '--debug', '--trace-soap'])


def vcenter_options(sim, **overrides):
    options = {
        'vmware_host_ip': sim.host,
        'vmware_host_port': sim.port,
        'vmware_host_username': sim.username,
        'vmware_host_password': sim.password,
        'vmware_ca_file': sim.ca_file,
        'vmware_api_retry_count': 1,
        'vmware_task_poll_interval': 0.05,
    }
    options.update(overrides)
    return options


def write_conf(path, backend_options, defaults=None, backend='vmware'):
    sections = [('DEFAULT', {'enabled_backends': backend,
                             'host': 'cli-test'})]
    if defaults:
        sections.append(('backend_defaults', defaults))
    sections.append((backend, dict(
        {'volume_driver': 'cinder_vmware_ext.driver.VMwareVcVmdkExtDriver',
         'vmware_cluster_name': 'gold'}, **backend_options)))
    path.write_text(''.join(
        '[%s]\n%s\n' % (name, ''.join('%s = %s\n' % item
                                      for item in items.items()))
        for name, items in sections))
    return str(path)


def command(conf, *argv):
    return [CLI, '--config-file', conf] + list(argv)


def run(conf, *argv):
    return run_all([command(conf, *argv)])[0]


def run_all(commands):
    """Run the commands side by side.

    Run the commands side by side (each parses the WSDL: seconds);
    their CompletedProcess in order.
    """
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for c in commands]
    outputs = [p.communicate(timeout=600) for p in procs]
    return [subprocess.CompletedProcess(c, p.returncode, out, err)
            for c, p, (out, err) in zip(commands, procs, outputs)]


def session_keys(sim):
    return [s['key'] for s in sim.admin('sessions')['sessions']]


@pytest.fixture(scope='module')
def conf(sim, tmp_path_factory):
    return write_conf(tmp_path_factory.mktemp('cli') / 'cinder.conf',
                      vcenter_options(sim))


def test_no_secret_at_any_verbosity(sim, conf, tmp_path):
    log_file = str(tmp_path / 'trace.log')
    before = set(session_keys(sim))
    argvs = [v + (['--log-file', log_file] if '--trace-soap' in v else [])
             for v in VERBOSITIES]
    done = run_all([command(conf, *(argv + ['takeover', 'discover', '-f',
                                            'json'])) for argv in argvs])
    # The runs do not log out: their sessions are still listed.
    keys = set(session_keys(sim)) - before
    secrets = [sim.password] + sorted(keys)
    for argv, run_ in zip(argvs, done):
        leaks = [s for s in secrets if s in run_.stdout + run_.stderr]
        assert leaks == [], (argv, leaks)
        assert run_.returncode == 0, (argv, run_.stderr[-2000:])
        assert json.loads(run_.stdout), argv
    assert len(keys) >= len(VERBOSITIES)
    # -v shows this tool's INFO lines.
    assert 'Discovered ' in done[0].stderr
    with open(log_file) as f:
        trace = f.read()
    assert [s for s in secrets if s in trace] == []
    # The SOAP trace is there, with the secret-bearing fields masked.
    for text in (trace, done[-1].stderr):
        assert 'userName>%s</' % sim.username in text
        assert 'password>***</' in text
        assert '<returnval><key>***</key>' in text
        assert 'session[***]' in text
    # Without --trace-soap no SOAP envelope at all.
    assert not any('soapenv:Envelope' in r.stderr for r in done[:-1])


def test_backend_defaults_apply_and_default_output_is_quiet(sim, tmp_path):
    # cinder-volume fills unset options of a backend section from
    # [backend_defaults]: here the whole vCenter address and the pool mode,
    # which a second backend section sets itself.
    defaults = vcenter_options(sim, vmware_pool_mode='datastore')
    from_defaults = write_conf(tmp_path / 'defaults.conf', {},
                               defaults=defaults)
    own_mode = write_conf(tmp_path / 'own.conf',
                          {'vmware_pool_mode': 'cluster'}, defaults=defaults)
    done = run_all([command(c, 'takeover', 'discover', '-f', 'json')
                    for c in (from_defaults, own_mode)])
    for run_ in done:
        assert run_.returncode == 0, run_.stderr
        # No eventlet deprecation notice, no INFO line: nothing at all.
        assert run_.stderr == ''
    rows = json.loads(done[0].stdout)
    assert rows and all(r['Pool'] == r['Datastore'] for r in rows)
    assert {r['Pool'] for r in json.loads(done[1].stdout)} == {'gold'}


def assert_one_line_error(done, *words):
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert 'Traceback' not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_missing_backend_section_is_one_line(sim, conf):
    done = run(conf, '--backend', 'vmware-2', 'takeover', 'discover')
    assert_one_line_error(done, '[vmware-2]', conf, 'vmware')


def test_no_enabled_backend_is_one_line(tmp_path):
    conf = tmp_path / 'cinder.conf'
    conf.write_text('[DEFAULT]\nhost = x\n')
    done = run(str(conf), 'takeover', 'discover')
    assert_one_line_error(done, '--backend', 'enabled_backends')


def test_section_without_vcenter_is_one_line(tmp_path):
    conf = write_conf(tmp_path / 'cinder.conf', {}, backend='vmware')
    with open(conf, 'a') as f:
        f.write('[vmware-2]\nvmware_cluster_name = gold\n')
    done = run(conf, '--backend', 'vmware-2', 'takeover', 'discover')
    assert done.returncode != 0
    assert done.stderr.splitlines() == [
        'backend [vmware-2] is not in enabled_backends (vmware): no '
        'cinder-volume serves it',
        'vmware_host_ip is set neither in backend section [vmware-2] nor '
        'in [backend_defaults]']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_unreachable_vcenter_is_one_line(sim, tmp_path):
    port = free_port()
    conf = write_conf(tmp_path / 'cinder.conf',
                      vcenter_options(sim, vmware_host_port=port))
    quiet, debug = run_all([command(conf, *argv) for argv in (
        ['takeover', 'discover'], ['--debug', 'takeover', 'discover'])])
    assert_one_line_error(quiet, '127.0.0.1:%d' % port, 'Connection refused')
    # The traceback is there for whoever asks.
    assert debug.returncode != 0
    assert 'Traceback' in debug.stderr
    assert '127.0.0.1:%d' % port in debug.stderr


def test_refused_login_is_one_line_without_the_password(sim, tmp_path):
    wrong = 'not-the-password-%d' % os.getpid()
    conf = write_conf(tmp_path / 'cinder.conf',
                      vcenter_options(sim, vmware_host_password=wrong))
    quiet, traced = run_all([
        command(conf, *argv) for argv in (
            ['takeover', 'discover'],
            ['-vvv', '--trace-soap', 'takeover', 'discover'])])
    assert_one_line_error(quiet, '%s:%d' % (sim.host, sim.port),
                          'Login failure')
    assert traced.returncode != 0
    assert 'password>***</' in traced.stderr
    assert wrong not in quiet.stderr + traced.stdout + traced.stderr


# -- the openstackclient plugin: openstack vmware ... -------------------------

OPENSTACK = os.path.join(os.path.dirname(sys.executable), 'openstack')


def osc_command(conf, *argv):
    return [OPENSTACK, '--vmware-config-file', conf] + list(argv)


def test_openstack_vmware_has_every_cinder_vmware_command():
    from importlib import metadata
    wanted = sorted('vmware ' + e.name.replace('_', ' ')
                    for e in metadata.entry_points(group='cinder_vmware.cli'))
    listed, helped = run_all([
        [OPENSTACK, 'command', 'list', '--group', 'openstack.vmware.v1',
         '-f', 'json'],
        [OPENSTACK, 'vmware', 'takeover', 'discover', '--help']])
    assert listed.returncode == 0, listed.stderr
    groups = json.loads(listed.stdout)
    assert [g['Command Group'] for g in groups] == ['openstack.vmware.v1']
    assert sorted(groups[0]['Commands']) == wanted
    assert helped.returncode == 0, helped.stderr
    assert 'usage: openstack vmware takeover discover' in helped.stdout
    assert '--safe-only' in helped.stdout


def test_openstack_vmware_discover_is_cinder_vmware_discover(sim, conf):
    before = set(session_keys(sim))
    native, osc, osc_debug = run_all([
        command(conf, 'takeover', 'discover', '-f', 'json'),
        osc_command(conf, 'vmware', 'takeover', 'discover', '-f', 'json'),
        osc_command(conf, '--debug', 'vmware', 'takeover', 'discover',
                    '-f', 'json')])
    for done in (native, osc, osc_debug):
        assert done.returncode == 0, (done.args, done.stderr[-2000:])
    rows = json.loads(osc.stdout)
    assert rows and rows == json.loads(native.stdout)
    assert json.loads(osc_debug.stdout) == rows
    # No Keystone needed (vCenter only), nothing on stderr by default, and
    # no secret even at --debug (openstackclient's own logging).
    assert osc.stderr == ''
    secrets = [sim.password] + sorted(set(session_keys(sim)) - before)
    assert [s for s in secrets if s in osc_debug.stderr] == []
    assert 'soapenv:Envelope' not in osc_debug.stderr


def test_openstack_vmware_missing_backend_is_one_line(conf):
    done = run_all([osc_command(conf, '--vmware-backend', 'vmware-2',
                                'vmware', 'takeover', 'discover')])[0]
    assert_one_line_error(done, '[vmware-2]', conf)
