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
"""Cinder's driver compliance test (cinder/tests/compliance/), with ours.

Its driver list comes from the ``@interface.volumedriver`` registry; the
walk of ``cinder/volume/drivers`` it also does is relative to the working
directory and finds nothing here, so importing our driver first is what
puts it in the list.
"""

from cinder.tests.unit import test

# Ours first: the compliance module lists the registry when it is imported.
from cinder_vmware_ext import driver  # noqa: H306
from cinder.tests.compliance import test_volume_drivers  # noqa: H306,I100

TestVolumeDrivers = test_volume_drivers.TestVolumeDrivers


class OurDriverRegisteredTest(test.TestCase):

    def test_our_driver_is_checked(self):
        self.assertIn(driver.VMwareVcVmdkExtDriver,
                      [d.cls for d in test_volume_drivers.VOLUME_DRIVERS])

    def test_ci_wiki_name_is_ours(self):
        upstream = driver.vmdk.VMwareVcVmdkDriver.CI_WIKI_NAME
        self.assertNotEqual(upstream,
                            driver.VMwareVcVmdkExtDriver.CI_WIKI_NAME)
