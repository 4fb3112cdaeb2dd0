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
"""The driver's class docstring lists every method that more than one
mixin overrides, with its chain outermost first, as the MRO has it."""

import re

from cinder_vmware_ext import driver

CLS = driver.VMwareVcVmdkExtDriver


def chains():
    """Map the methods several mixins define to their classes.

    {method: [class names, outermost first]} for methods defined by
    more than one of the package's mixins.
    """
    mixins = [c for c in CLS.__mro__[1:]
              if c.__module__.startswith('cinder_vmware_ext')]
    found = {}
    for mixin in mixins:
        for name, value in vars(mixin).items():
            if callable(value) and not name.startswith('__'):
                found.setdefault(name, []).append(mixin.__name__)
    return {name: ([CLS.__name__] if name in vars(CLS) else []) + owners
            for name, owners in found.items() if len(owners) > 1}


def documented():
    text = ' '.join(CLS.__doc__.split())
    return {m.group(1): m.group(2).split(' -> ')
            for m in re.finditer(r'``(\w+)``: ((?:\w+(?: -> )?)+)', text)}


def test_docstring_lists_each_chain_as_the_mro_has_it():
    assert chains(), 'no method is overridden by several mixins'
    assert documented() == chains()
