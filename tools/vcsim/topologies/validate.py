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
"""Check simulator topology files against schema.json.

Usage: validate.py TOPOLOGY.json...

Prints nothing and exits 0 when every file is valid; otherwise prints one
line per bad file naming the file, the entry and the field, e.g.
``t.json: datacenters[0] "DC1" datastores[1] "nfs-02" type: "ZFS" is not
one of VMFS, NFS, NFS41, vsan, VVOL, OTHER``, and exits 1.  ``vcsim-up``
runs it before it starts the simulator; the simulator's own loader
(``tools/vcsim/simulator/topology.go``) then checks what the schema cannot
(references between entries, duplicate names and paths).
"""

import json
import os
import sys

import jsonschema

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'schema.json')

_TYPES = {'object': 'an object', 'array': 'a list', 'string': 'a string',
          'number': 'a number', 'integer': 'an integer',
          'boolean': 'true or false', 'null': 'null'}
_PATTERNS = {
    '^[^\\[\\]/]+$': "must not contain '[', ']' or '/'",
    '^(?!/)(?!\\.\\.).*\\.vmdk$': 'must be a relative path ending in .vmdk',
}


class InvalidTopology(ValueError):
    """A topology that does not match the schema; str() is one line."""


def schema():
    with open(SCHEMA_FILE) as f:
        return json.load(f)


def _json_type(value):
    if isinstance(value, bool):
        return 'boolean'
    if value is None:
        return 'null'
    if isinstance(value, (int, float)):
        return 'number'
    return {dict: 'object', list: 'array', str: 'string'}.get(
        type(value), type(value).__name__)


def _position(document, path):
    """A sort key putting errors in document order."""
    key, node = [], document
    for part in path:
        if isinstance(node, dict):
            key.append(list(node).index(part))
        else:
            key.append(part)
        node = node[part]
    return key


def _where(document, path):
    """``datacenters[0] "DC1" datastores[1] "nfs-02" type``."""
    words, node = [], document
    for part in path:
        node = node[part]
        if isinstance(part, int):
            words[-1] += '[%d]' % part
            if isinstance(node, dict) and isinstance(node.get('name'), str):
                words[-1] += ' "%s"' % node['name']
        else:
            words.append(str(part))
    return ' '.join(words) or 'the document'


def _message(document, error):
    path = list(error.absolute_path)
    where = _where(document, path)
    value = error.instance
    kind = error.validator
    if kind == 'additionalProperties':
        known = error.schema.get('properties', {})
        unknown = [k for k in value if k not in known]
        return '%s: unknown field "%s" (known: %s)' % (
            where, unknown[0], ', '.join(known))
    if kind == 'required':
        missing = [k for k in error.validator_value if k not in value]
        return '%s: missing required field "%s"' % (where, missing[0])
    if kind == 'enum':
        return '%s: %s is not one of %s' % (
            where, json.dumps(value), ', '.join(error.validator_value))
    if kind == 'type':
        return '%s: must be %s, not %s' % (
            where, _TYPES.get(error.validator_value, error.validator_value),
            _TYPES.get(_json_type(value), _json_type(value)))
    if kind == 'minimum':
        return '%s: must be at least %s (got %s)' % (
            where, error.validator_value, value)
    if kind == 'exclusiveMinimum':
        return '%s: must be more than %s (got %s)' % (
            where, error.validator_value, value)
    if kind == 'minLength':
        return '%s: must not be empty' % where
    if kind == 'maxItems':
        return '%s: at most %d entries (got %d)' % (
            where, error.validator_value, len(value))
    if kind == 'pattern':
        return '%s: %s (got %s)' % (
            where, _PATTERNS.get(error.validator_value,
                                 'must match %s' % error.validator_value),
            json.dumps(value))
    if kind == 'not':
        return ('%s: %s is a data file name (-flat.vmdk, -delta.vmdk), not'
                ' a descriptor' % (where, json.dumps(value)))
    return '%s: %s' % (where, error.message)


def check(document, source='topology'):
    """Raise InvalidTopology for the first problem in document order."""
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors(document))
    if errors:
        first = min(errors, key=lambda e: _position(
            document, list(e.absolute_path)))
        raise InvalidTopology('%s: %s' % (source, _message(document, first)))


def check_file(path):
    try:
        with open(path, encoding='utf-8') as f:
            document = json.load(f)
    except OSError as err:
        raise InvalidTopology('%s: cannot read it: %s' % (path, err.strerror))
    except ValueError as err:
        raise InvalidTopology('%s: not JSON: %s' % (path, err))
    check(document, path)
    return document


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print('usage: validate.py TOPOLOGY.json...', file=sys.stderr)
        return 2
    status = 0
    for path in argv:
        try:
            check_file(path)
        except InvalidTopology as err:
            print(err, file=sys.stderr)
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
