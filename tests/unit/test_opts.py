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
"""The plugin's options are discoverable the way OpenStack tools find them."""

import importlib.metadata

from oslo_config import cfg
from oslo_config import generator

from cinder_vmware_ext import driver
from cinder_vmware_ext import opts


def _entry_point():
    eps = importlib.metadata.entry_points(group='oslo.config.opts')
    matches = [ep for ep in eps if ep.name == 'cinder_vmware_ext']
    assert len(matches) == 1, matches
    return matches[0]


def test_entry_point_targets_list_opts():
    ep = _entry_point()
    assert ep.value == 'cinder_vmware_ext.opts:list_opts'
    assert ep.load() is opts.list_opts


def test_generator_lists_pool_mode():
    # The same loader oslo-config-generator uses for --namespace.
    groups = generator._list_opts(['cinder_vmware_ext'])
    assert len(groups) == 1
    namespace, listed = groups[0]
    assert namespace == 'cinder_vmware_ext'
    names = {group: [o.name for o in group_opts]
             for group, group_opts in listed}
    assert names == {'backend_defaults': [o.name for o in
                                          opts.vmware_ext_opts]}
    assert 'vmware_pool_mode' in names['backend_defaults']


def test_generator_output_documents_choices(tmp_path):
    out = tmp_path / 'sample.conf'
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(['--namespace', 'cinder_vmware_ext', '--output-file', str(out)])
    generator.generate(conf)
    text = out.read_text()
    assert '[backend_defaults]' in text
    assert '#vmware_pool_mode = cluster' in text
    assert 'datastore - ' in text


def test_pool_mode_option_definition():
    (opt,) = [o for o in opts.vmware_ext_opts if o.name == 'vmware_pool_mode']
    assert opt.default == 'cluster'
    assert [c for c, _ in opt.type.choices.items()] == ['cluster', 'datastore']
    assert opt.help


def test_driver_reports_its_options():
    names = [o.name for o in driver.VMwareVcVmdkExtDriver.get_driver_options()]
    assert 'vmware_pool_mode' in names
    assert 'vmware_host_ip' in names  # upstream's options are kept


def test_backend_section_reads_pool_mode():
    from cinder.volume import configuration
    config = configuration.Configuration(opts.vmware_ext_opts,
                                         config_group='vmware-1')
    assert config.safe_get('vmware_pool_mode') == 'cluster'
