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
"""Generate a vSphere vim25 WSDL (vimService.wsdl + vim.wsdl +
vim-messagetypes.xsd) at build time.

Inputs (nothing VMware-authored is stored in this repository):

* the vim25 data-type schemas shipped by oslo.vmware
  (``oslo_vmware/wsdl/<ver>/{vim,core,query,reflect}-types.xsd``), copied
  verbatim next to the generated files;
* govmomi's generated Go bindings (``vim25/types/types.go`` and
  ``vim25/methods/methods.go``), which describe every method's request
  parameters (``XxxRequestType``) and return value (``XxxResponse``).

From these we emit the message types, elements, messages, portType, binding
and service, following the layout VMware uses for its own WSDLs (the same
layout as oslo.vmware's pbm.wsdl).  The result lets suds/oslo.vmware talk to
vcsim with the default ``https://HOST:PORT/sdk/vimService.wsdl`` location.

Standard library only.
"""

import argparse
import os
import re
import shutil
import sys
import time
from xml.sax.saxutils import quoteattr

DATA_XSDS = ('vim-types.xsd', 'core-types.xsd', 'query-types.xsd',
             'reflect-types.xsd')

GO_PRIMITIVES = {
    'string': 'xsd:string',
    'bool': 'xsd:boolean',
    'int8': 'xsd:byte',
    'byte': 'xsd:byte',
    'int16': 'xsd:short',
    'int32': 'xsd:int',
    'int64': 'xsd:long',
    'float32': 'xsd:float',
    'float64': 'xsd:double',
    'time.Time': 'xsd:dateTime',
    'AnyType': 'xsd:anyType',
}

# Faults every operation declares in the portType/binding.  suds does not use
# the per-operation fault list to decode faults (details are unmarshalled
# untyped), so a common, generous set is sufficient.
COMMON_OP_FAULTS = ('RuntimeFault', 'VimFault', 'InvalidProperty',
                    'InvalidCollectorVersion')

STRUCT_RE = re.compile(r'^type (\w+) struct \{\n(.*?)^\}', re.M | re.S)
FIELD_RE = re.compile(r'^\s*(\w+)\s+(\S+)\s+`xml:"([^"]*)"`\s*$')
ALIAS_RE = re.compile(r'^type (\w+) (\w+RequestType)\s*$', re.M)
BODY_RE = re.compile(
    r'^type (\w+)Body struct \{\n'
    r'\s*Req\s+\*types\.(\w+)\s+`xml:"urn:vim25 (\w+)(?:,[^"]*)?"`\n'
    r'\s*Res\s+\*types\.(\w+)\s+`xml:"(\w+)(?:,[^"]*)?"`', re.M)
XSD_TYPE_RE = re.compile(r'<(complexType|simpleType) name="(\w+)"')
COMPLEX_RE = re.compile(
    r'<complexType name="(\w+)">(.*?)</complexType>', re.S)
BASE_RE = re.compile(r'<extension base="vim25:(\w+)"')


class Field:
    def __init__(self, name, xsd_type, optional, array):
        self.name = name
        self.xsd_type = xsd_type
        self.optional = optional
        self.array = array

    def xml(self, indent):
        attrs = 'name=%s type=%s' % (quoteattr(self.name),
                                     quoteattr(self.xsd_type))
        if self.optional:
            attrs += ' minOccurs="0"'
        if self.array:
            attrs += ' maxOccurs="unbounded"'
        return '%s<element %s />' % (indent, attrs)


class Generator:
    def __init__(self, govmomi, xsd_dir):
        self.govmomi = govmomi
        self.xsd_dir = xsd_dir
        self.warnings = []
        self.xsd_types = set()
        self.faults = []
        self.methods = []  # (wire name, request type, response el, fields)
        self.request_types = {}  # request type name -> [Field]

    # ---------------------------------------------------------------- input
    def load_xsds(self):
        parents = {}
        for name in DATA_XSDS:
            path = os.path.join(self.xsd_dir, name)
            with open(path, encoding='utf-8') as f:
                text = f.read()
            self.xsd_types.update(m.group(2)
                                  for m in XSD_TYPE_RE.finditer(text))
            for m in COMPLEX_RE.finditer(text):
                b = BASE_RE.search(m.group(2))
                if b:
                    parents[m.group(1)] = b.group(1)

        def is_fault(t):
            seen = set()
            while t and t not in seen:
                if t == 'MethodFault':
                    return True
                seen.add(t)
                t = parents.get(t)
            return False

        self.faults = sorted(t for t in self.xsd_types if is_fault(t))

    def xsd_type(self, go_type, where):
        if go_type in GO_PRIMITIVES:
            return GO_PRIMITIVES[go_type]
        name = go_type
        if name.startswith('Base') and name not in self.xsd_types:
            name = name[4:]
        if name in self.xsd_types:
            return 'vim25:' + name
        self.warnings.append('%s: type %s not in %s, using xsd:anyType'
                             % (where, go_type, DATA_XSDS[0]))
        return 'xsd:anyType'

    def parse_field(self, line, where):
        m = FIELD_RE.match(line)
        if not m:
            raise ValueError('%s: cannot parse field %r' % (where, line))
        _, go_type, tag = m.groups()
        parts = tag.split(',')
        el_name, flags = parts[0], set(parts[1:])
        if ' ' in el_name:  # "namespace name"
            el_name = el_name.split()[-1]
        optional = 'omitempty' in flags or go_type.startswith('*')
        go_type = go_type.lstrip('*')
        array = False
        if go_type == '[]byte':
            # A bare []byte return value is base64; []byte fields in data
            # types are modelled by VMware as unbounded xsd:byte, but those
            # live in vim-types.xsd, not here.
            return Field(el_name, 'xsd:base64Binary', optional, False)
        if go_type == '[][]byte':
            return Field(el_name, 'xsd:base64Binary', optional, True)
        if go_type.startswith('[]'):
            array = True
            go_type = go_type[2:]
        return Field(el_name, self.xsd_type(go_type, where), optional, array)

    def load_govmomi(self):
        types_go = os.path.join(self.govmomi, 'vim25', 'types', 'types.go')
        methods_go = os.path.join(self.govmomi, 'vim25', 'methods',
                                  'methods.go')
        with open(types_go, encoding='utf-8') as f:
            src = f.read()
        with open(methods_go, encoding='utf-8') as f:
            msrc = f.read()

        structs = {}
        for m in STRUCT_RE.finditer(src):
            lines = [ln for ln in m.group(2).splitlines()
                     if ln.strip() and not ln.strip().startswith('//')]
            structs[m.group(1)] = lines

        # Go method type -> (wire request element, Go response type,
        # wire response element), from methods.go.
        wire = {}
        for m in BODY_RE.finditer(msrc):
            _, req_go, req_el, res_go, res_el = m.groups()
            wire[req_go] = (req_el, res_go, res_el)

        for go_name, req_type in ALIAS_RE.findall(src):
            if req_type not in structs:
                continue
            req_el, res_go, res_el = wire.get(
                go_name, (go_name, go_name + 'Response', go_name + 'Response'))
            if req_type not in self.request_types:
                self.request_types[req_type] = [
                    self.parse_field(ln, req_type)
                    for ln in structs[req_type]]
            res_lines = structs.get(res_go)
            if res_lines is None:
                self.warnings.append('%s: no %s struct, assuming no return '
                                     'value' % (go_name, res_go))
                res_lines = []
            ret = [self.parse_field(ln, res_go) for ln in res_lines]
            self.methods.append((req_el, req_type, res_el, ret))
        self.methods.sort(key=lambda x: x[0])
        missing = sorted(set(m.group(2) for m in BODY_RE.finditer(msrc))
                         - set(a for a, _ in ALIAS_RE.findall(src)))
        for name in missing:
            self.warnings.append('methods.go: %s has no RequestType, '
                                 'skipped' % name)

    # --------------------------------------------------------------- output
    @staticmethod
    def fault_element(fault):
        return fault + 'Fault'

    @staticmethod
    def fault_op_name(fault):
        # VMware names the RuntimeFault operation fault "RuntimeFault" and
        # every other one after its element (e.g. "InvalidPropertyFault").
        return 'RuntimeFault' if fault == 'RuntimeFault' else fault + 'Fault'

    def messagetypes_xsd(self):
        out = [
            '<?xml version="1.0" encoding="UTF-8" ?>',
            '<!-- Generated by tools/vcsim/wsdl/gen_wsdl.py from govmomi '
            'vim25/types/types.go. -->',
            '<schema',
            '   targetNamespace="urn:vim25"',
            '   xmlns="http://www.w3.org/2001/XMLSchema"',
            '   xmlns:vim25="urn:vim25"',
            '   xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
            '   xmlns:reflect="urn:reflect"',
            '   elementFormDefault="qualified"',
            '>',
            '   <include schemaLocation="vim-types.xsd" />',
        ]
        for name in sorted(self.request_types):
            out.append('   <complexType name="%s">' % name)
            out.append('      <sequence>')
            out.extend(f.xml('         ') for f in self.request_types[name])
            out.append('      </sequence>')
            out.append('   </complexType>')
        out.append('</schema>')
        return '\n'.join(out) + '\n'

    def vim_wsdl(self, soap_action):
        op_faults = [f for f in COMMON_OP_FAULTS if f in self.faults]
        out = [
            '<?xml version="1.0" encoding="UTF-8" ?>',
            '<!-- Generated by tools/vcsim/wsdl/gen_wsdl.py from govmomi '
            'vim25 bindings and oslo.vmware data-type schemas. -->',
            '<definitions targetNamespace="urn:vim25"',
            '   xmlns="http://schemas.xmlsoap.org/wsdl/"',
            '   xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/"',
            '   xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"',
            '   xmlns:vim25="urn:vim25"',
            '   xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
            '>',
            '   <types>',
            '      <schema',
            '         targetNamespace="urn:vim25"',
            '         xmlns="http://www.w3.org/2001/XMLSchema"',
            '         xmlns:vim25="urn:vim25"',
            '         xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
            '         xmlns:reflect="urn:reflect"',
            '         elementFormDefault="qualified"',
            '      >',
            '         <include schemaLocation="vim-messagetypes.xsd" />',
            '         <element name="versionURI" type="xsd:string" />',
        ]
        for fault in self.faults:
            out.append('         <element name="%s" type="vim25:%s"/>'
                       % (self.fault_element(fault), fault))
        for req_el, req_type, res_el, ret in self.methods:
            out.append('         <element name="%s" type="vim25:%s" />'
                       % (req_el, req_type))
            out.append('         <element name="%s">' % res_el)
            out.append('            <complexType>')
            out.append('               <sequence>')
            out.extend(f.xml('                  ') for f in ret)
            out.append('               </sequence>')
            out.append('            </complexType>')
            out.append('         </element>')
        out.append('      </schema>')
        out.append('   </types>')

        for fault in self.faults:
            el = self.fault_element(fault)
            out.append('   <message name="%sMsg">' % el)
            out.append('      <part name="fault" element="vim25:%s" />' % el)
            out.append('   </message>')
        for req_el, _, res_el, _ in self.methods:
            out.append('   <message name="%sRequestMsg">' % req_el)
            out.append('      <part name="parameters" element="vim25:%s" />'
                       % req_el)
            out.append('   </message>')
            out.append('   <message name="%sResponseMsg">' % req_el)
            out.append('      <part name="parameters" element="vim25:%s" />'
                       % res_el)
            out.append('   </message>')

        out.append('   <portType name="VimPortType">')
        for req_el, _, _, _ in self.methods:
            out.append('      <operation name="%s">' % req_el)
            out.append('         <input message="vim25:%sRequestMsg" />'
                       % req_el)
            out.append('         <output message="vim25:%sResponseMsg" />'
                       % req_el)
            for fault in op_faults:
                out.append('         <fault name="%s" message="vim25:%sMsg"/>'
                           % (self.fault_op_name(fault),
                              self.fault_element(fault)))
            out.append('      </operation>')
        out.append('   </portType>')

        out.append('   <binding name="VimBinding" type="vim25:VimPortType">')
        out.append('      <soap:binding style="document" '
                   'transport="http://schemas.xmlsoap.org/soap/http" />')
        for req_el, _, _, _ in self.methods:
            out.append('      <operation name="%s">' % req_el)
            out.append('         <soap:operation soapAction=%s '
                       'style="document" />' % quoteattr(soap_action))
            out.append('         <input>')
            out.append('            <soap:body use="literal" />')
            out.append('         </input>')
            out.append('         <output>')
            out.append('            <soap:body use="literal" />')
            out.append('         </output>')
            for fault in op_faults:
                name = self.fault_op_name(fault)
                out.append('         <fault name="%s">' % name)
                out.append('            <soap:fault name="%s" use="literal" />'
                           % name)
                out.append('         </fault>')
            out.append('      </operation>')
        out.append('   </binding>')
        out.append('</definitions>')
        return '\n'.join(out) + '\n'

    @staticmethod
    def service_wsdl(address):
        return '\n'.join([
            '<?xml version="1.0" encoding="UTF-8" ?>',
            '<!-- Generated by tools/vcsim/wsdl/gen_wsdl.py. -->',
            '<definitions targetNamespace="urn:vim25Service"',
            '   xmlns="http://schemas.xmlsoap.org/wsdl/"',
            '   xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"',
            '   xmlns:interface="urn:vim25"',
            '>',
            '   <import location="vim.wsdl" namespace="urn:vim25" />',
            '   <service name="VimService">',
            '      <port binding="interface:VimBinding" name="VimPort">',
            '         <soap:address location=%s />' % quoteattr(address),
            '      </port>',
            '   </service>',
            '</definitions>',
        ]) + '\n'

    def write(self, out_dir, soap_action, address):
        os.makedirs(out_dir, exist_ok=True)
        files = {
            'vim-messagetypes.xsd': self.messagetypes_xsd(),
            'vim.wsdl': self.vim_wsdl(soap_action),
            'vimService.wsdl': self.service_wsdl(address),
        }
        for name, text in files.items():
            with open(os.path.join(out_dir, name), 'w',
                      encoding='utf-8') as f:
                f.write(text)
        for name in DATA_XSDS:
            shutil.copyfile(os.path.join(self.xsd_dir, name),
                            os.path.join(out_dir, name))


def default_xsd_dir(version):
    try:
        import oslo_vmware
    except ImportError:
        sys.exit('error: --xsd-dir not given and oslo_vmware not importable')
    return os.path.join(os.path.dirname(oslo_vmware.__file__), 'wsdl',
                        version)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--govmomi', required=True,
                   help='govmomi source root (contains vim25/)')
    p.add_argument('--xsd-dir',
                   help='directory holding vim-types.xsd etc. '
                        '(default: oslo_vmware/wsdl/<api-version>)')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--api-version', default='7.0',
                   help='vim25 API version for soapAction (default 7.0)')
    p.add_argument('--address', default='https://localhost/sdk',
                   help='soap:address of VimPort')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='print every warning')
    args = p.parse_args(argv)

    start = time.monotonic()
    gen = Generator(args.govmomi,
                    args.xsd_dir or default_xsd_dir(args.api_version))
    gen.load_xsds()
    gen.load_govmomi()
    gen.write(args.out, 'urn:vim25/' + args.api_version, args.address)
    if gen.warnings:
        print('%d warning(s):' % len(gen.warnings), file=sys.stderr)
        for w in gen.warnings if args.verbose else gen.warnings[:10]:
            print('  ' + w, file=sys.stderr)
        if not args.verbose and len(gen.warnings) > 10:
            print('  ... (use -v for all)', file=sys.stderr)
    print('wrote %s: %d operations, %d request types, %d fault elements, '
          '%d warnings, %.2fs'
          % (args.out, len(gen.methods), len(gen.request_types),
             len(gen.faults), len(gen.warnings), time.monotonic() - start))
    return 0


if __name__ == '__main__':
    sys.exit(main())
