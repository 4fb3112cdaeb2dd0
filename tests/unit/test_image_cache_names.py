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
"""Names and ids of cached image backings (pure logic)."""

import unittest

from cinder_vmware_ext.extensions import image_cache


class CacheNamesTest(unittest.TestCase):

    IMAGE = '0b6a9f4e-3c1d-4a8e-9f2b-7d5e6c4a3b21'

    def test_name_round_trips_and_is_recognised(self):
        name = image_cache.cache_name(self.IMAGE, 'gold')
        self.assertTrue(image_cache.is_cache_name(name))
        self.assertEqual((self.IMAGE, image_cache.pool_tag('gold')),
                         image_cache.parse_name(name))
        self.assertLessEqual(len(name), 80)  # a vSphere VM name's limit

    def test_pools_and_images_differ(self):
        self.assertNotEqual(image_cache.cache_name(self.IMAGE, 'gold'),
                            image_cache.cache_name(self.IMAGE, 'silver'))
        self.assertNotEqual(image_cache.cache_uuid(self.IMAGE, 'gold'),
                            image_cache.cache_uuid(self.IMAGE, 'silver'))
        self.assertNotEqual(image_cache.cache_uuid(self.IMAGE, 'gold'),
                            image_cache.cache_uuid('other', 'gold'))
        self.assertEqual(image_cache.cache_uuid(self.IMAGE, 'gold'),
                         image_cache.cache_uuid(self.IMAGE, 'gold'))

    def test_volume_backings_are_not_cache_entries(self):
        for name in ('volume-%s' % self.IMAGE, '', None,
                     'cinder-image-cache-'):
            self.assertIsNone(image_cache.parse_name(name))
        self.assertFalse(image_cache.is_cache_name('volume-1'))
